/**
 * Choice rules (JSONPath): `Variable` + one comparison operator, and `And` / `Or` / `Not`. A value of
 * the wrong type makes a comparison false (as on AWS); a Variable that matches nothing is a
 * States.Runtime error, except for IsPresent.
 */
import { States, StatesError } from './errors';
import { FEATURES } from './features';
import { hasPath, isReferencePath, readPath } from './jsonpath';
import type { ChoiceRule } from './types';

type Kind = 'string' | 'number' | 'boolean' | 'timestamp';
type Order = 'Equals' | 'LessThan' | 'GreaterThan' | 'LessThanEquals' | 'GreaterThanEquals';

const COMPARISONS: Record<string, { kind: Kind; order: Order }> = {};
for (const [prefix, kind] of [['String', 'string'], ['Numeric', 'number'], ['Timestamp', 'timestamp']] as const) {
  for (const order of ['Equals', 'LessThan', 'GreaterThan', 'LessThanEquals', 'GreaterThanEquals'] as const) COMPARISONS[`${prefix}${order}`] = { kind, order };
}
COMPARISONS.BooleanEquals = { kind: 'boolean', order: 'Equals' };

const TYPE_TESTS: Record<string, (value: unknown) => boolean> = {
  IsNull: (value) => value === null,
  IsString: (value) => typeof value === 'string',
  IsNumeric: (value) => typeof value === 'number',
  IsBoolean: (value) => typeof value === 'boolean',
  IsTimestamp: (value) => timestampOf(value) !== undefined,
};

/** Every operator a rule may use (besides And / Or / Not). */
export const CHOICE_OPERATORS: ReadonlySet<string> = new Set([
  ...Object.keys(COMPARISONS),
  ...Object.keys(COMPARISONS).map((operator) => `${operator}Path`),
  ...Object.keys(TYPE_TESTS),
  'IsPresent',
  'StringMatches',
]);

const NOT_OPERATORS = new Set(['Variable', 'Next', 'Comment']);
/** Rule fields of JSONata and variables (Condition, Assign, Output): refused, not operators. */
const REFUSED: readonly string[] = FEATURES['Choice rule'].refused;

export function matchesRule(rule: ChoiceRule, input: unknown, context: unknown): boolean {
  if (Array.isArray(rule.And)) return (rule.And as ChoiceRule[]).every((r) => matchesRule(r, input, context));
  if (Array.isArray(rule.Or)) return (rule.Or as ChoiceRule[]).some((r) => matchesRule(r, input, context));
  if (rule.Not !== undefined) return !matchesRule(rule.Not as ChoiceRule, input, context);
  const variable = rule.Variable;
  if (typeof variable !== 'string') throw new StatesError(States.Runtime, 'a Choice rule needs a Variable');
  const operator = operatorOf(rule);
  if (!operator) throw new StatesError(States.Runtime, `the Choice rule on ${variable} has no comparison operator`);
  const operand = rule[operator];
  if (operator === 'IsPresent') return hasPath(input, variable, context) === operand;
  const value = readPath(input, variable, context);
  const test = TYPE_TESTS[operator];
  if (test) return test(value) === operand;
  if (operator === 'StringMatches') return typeof value === 'string' && globToRegExp(String(operand)).test(value);
  const isPath = operator.endsWith('Path');
  const comparison = COMPARISONS[isPath ? operator.slice(0, -4) : operator];
  if (!comparison) throw new StatesError(States.Runtime, `the Choice operator ${operator} is not supported by the local executor`);
  const expected = isPath ? readPath(input, operand as string, context) : operand;
  return compare(comparison.kind, comparison.order, value, expected);
}

function operatorOf(rule: ChoiceRule): string | undefined {
  return Object.keys(rule).find((key) => !NOT_OPERATORS.has(key));
}

function compare(kind: Kind, order: Order, value: unknown, expected: unknown): boolean {
  let a: string | number | boolean;
  let b: string | number | boolean;
  if (kind === 'timestamp') {
    const left = timestampOf(value);
    const right = timestampOf(expected);
    if (left === undefined || right === undefined) return false;
    [a, b] = [left, right];
  } else {
    if (typeof value !== kind || typeof expected !== kind) return false;
    [a, b] = [value as string | number | boolean, expected as string | number | boolean];
  }
  switch (order) {
    case 'Equals':
      return a === b;
    case 'LessThan':
      return a < b;
    case 'GreaterThan':
      return a > b;
    case 'LessThanEquals':
      return a <= b;
    case 'GreaterThanEquals':
      return a >= b;
  }
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Milliseconds of an RFC 3339 timestamp string (`2026-11-24T10:00:00Z`), else undefined. */
export function timestampOf(value: unknown): number | undefined {
  if (typeof value !== 'string' || !RFC3339.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** StringMatches: `*` matches any run of characters, `\*` a literal asterisk, `\\` a backslash. */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && (pattern[i + 1] === '*' || pattern[i + 1] === '\\')) source += `\\${pattern[++i]}`;
    else if (c === '*') source += '.*';
    else source += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

/** What is wrong with a rule (for validation before a run); `top` rules need Next, nested ones must not have it. */
export function ruleProblems(rule: unknown, top: boolean): string[] {
  if (rule === null || typeof rule !== 'object' || Array.isArray(rule)) return ['a Choice rule must be an object'];
  const r = rule as ChoiceRule;
  const problems: string[] = [];
  if (top && typeof r.Next !== 'string') problems.push('a Choice rule needs Next');
  if (!top && r.Next !== undefined) problems.push('a nested Choice rule cannot have Next');
  for (const field of REFUSED) if (r[field] !== undefined) problems.push(`field "${field}" is not supported by the local executor`);
  // A JSONata rule (Condition) has no Variable or operator to check.
  if (r.Condition !== undefined) return problems;
  for (const combinator of ['And', 'Or'] as const) {
    if (r[combinator] === undefined) continue;
    if (!Array.isArray(r[combinator]) || (r[combinator] as unknown[]).length === 0) return [...problems, `${combinator} must be a non-empty array of rules`];
    return [...problems, ...(r[combinator] as unknown[]).flatMap((inner) => ruleProblems(inner, false))];
  }
  if (r.Not !== undefined) return [...problems, ...ruleProblems(r.Not, false)];
  if (typeof r.Variable !== 'string' || !isReferencePath(r.Variable)) problems.push(`Variable ${JSON.stringify(r.Variable)} is not a reference path`);
  const operators = Object.keys(r).filter((key) => !NOT_OPERATORS.has(key) && !REFUSED.includes(key));
  if (operators.length !== 1) problems.push(`a Choice rule needs exactly one comparison operator (has ${operators.join(', ') || 'none'})`);
  for (const operator of operators) {
    if (!CHOICE_OPERATORS.has(operator)) problems.push(`the Choice operator ${operator} is not supported`);
    else if (operator.endsWith('Path') && !isReferencePath(r[operator])) problems.push(`${operator} ${JSON.stringify(r[operator])} is not a reference path`);
    else if ((operator.startsWith('Is') || operator === 'BooleanEquals') && typeof r[operator] !== 'boolean') problems.push(`${operator} needs true or false`);
  }
  return problems;
}
