/** Choice rules: Variable + comparison operators, and And / Or / Not. */
import { StatesError } from './errors';
import { hasPath, readPath } from './jsonpath';

export type ChoiceRule = Record<string, unknown>;

export function matchesRule(rule: ChoiceRule, input: unknown, context: unknown): boolean {
  if (Array.isArray(rule.And)) return (rule.And as ChoiceRule[]).every((r) => matchesRule(r, input, context));
  if (Array.isArray(rule.Or)) return (rule.Or as ChoiceRule[]).some((r) => matchesRule(r, input, context));
  if (rule.Not) return !matchesRule(rule.Not as ChoiceRule, input, context);
  const variable = rule.Variable;
  if (typeof variable !== 'string') throw new StatesError('States.Runtime', 'a Choice rule needs Variable');
  if ('IsPresent' in rule) return hasPath(input, variable) === rule.IsPresent;
  const value = readPath(input, variable, context);
  for (const [operator, operand] of Object.entries(rule)) {
    if (operator === 'Variable' || operator === 'Next') continue;
    const expected = operator.endsWith('Path') ? readPath(input, operand as string, context) : operand;
    return compare(operator.replace(/Path$/, ''), value, expected);
  }
  throw new StatesError('States.Runtime', `Choice rule on ${variable} has no comparison`);
}

function compare(operator: string, value: unknown, expected: unknown): boolean {
  const typed = (type: string, ok: () => boolean) => typeof value === type && ok();
  switch (operator) {
    case 'StringEquals': return typed('string', () => value === expected);
    case 'StringLessThan': return typed('string', () => (value as string) < (expected as string));
    case 'StringGreaterThan': return typed('string', () => (value as string) > (expected as string));
    case 'StringLessThanEquals': return typed('string', () => (value as string) <= (expected as string));
    case 'StringGreaterThanEquals': return typed('string', () => (value as string) >= (expected as string));
    case 'StringMatches': return typed('string', () => globToRegExp(expected as string).test(value as string));
    case 'NumericEquals': return typed('number', () => value === expected);
    case 'NumericLessThan': return typed('number', () => (value as number) < (expected as number));
    case 'NumericGreaterThan': return typed('number', () => (value as number) > (expected as number));
    case 'NumericLessThanEquals': return typed('number', () => (value as number) <= (expected as number));
    case 'NumericGreaterThanEquals': return typed('number', () => (value as number) >= (expected as number));
    case 'BooleanEquals': return typed('boolean', () => value === expected);
    case 'IsNull': return (value === null) === expected;
    case 'IsString': return (typeof value === 'string') === expected;
    case 'IsNumeric': return (typeof value === 'number') === expected;
    case 'IsBoolean': return (typeof value === 'boolean') === expected;
    default: throw new StatesError('States.Runtime', `Choice operator ${operator} is not supported by the local executor`);
  }
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}
