/**
 * Payload templates (Parameters, ItemSelector, ResultSelector, BatchInput, ItemReader/ResultWriter
 * Parameters): a `"name.$": "<path>"` field becomes `"name": <value at path>` (`$…` the input,
 * `$$…` the context object); other values are copied, nested objects and arrays templated too.
 * Intrinsic functions (`States.Format(…)` …) are not supported by the local executor.
 */
import { States, StatesError } from './errors';
import { parsePath, readPath } from './jsonpath';

export function applyTemplate(template: unknown, input: unknown, context: unknown): unknown {
  if (Array.isArray(template)) return template.map((value) => applyTemplate(value, input, context));
  if (template === null || typeof template !== 'object') return template;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(template)) {
    if (key.endsWith('.$')) out[key.slice(0, -2)] = resolveExpression(key, value, input, context);
    else out[key] = applyTemplate(value, input, context);
  }
  return out;
}

function resolveExpression(key: string, expression: unknown, input: unknown, context: unknown): unknown {
  const problem = expressionProblem(key, expression);
  if (problem) throw new StatesError(States.Runtime, problem);
  try {
    return readPath(input, expression as string, context);
  } catch (error) {
    if (error instanceof StatesError) throw new StatesError(States.Runtime, `the field "${key}": ${error.cause}`);
    throw error;
  }
}

/** Why the value of a `.$` field cannot be evaluated locally, or undefined when it can. */
export function expressionProblem(key: string, expression: unknown): string | undefined {
  if (typeof expression !== 'string') return `the field "${key}" must be a path string (got ${JSON.stringify(expression)})`;
  if (/^States\.[A-Za-z0-9]+\(/.test(expression)) {
    return `the field "${key}" uses the intrinsic function ${expression.slice(0, expression.indexOf('('))}, which the local executor does not support`;
  }
  try {
    parsePath(expression);
    return undefined;
  } catch (error) {
    return `the field "${key}": ${(error as StatesError).cause ?? String(error)}`;
  }
}

/** Every problem of the `.$` fields of a template, for validation before a run. */
export function templateProblems(template: unknown): string[] {
  if (Array.isArray(template)) return template.flatMap(templateProblems);
  if (template === null || typeof template !== 'object') return [];
  return Object.entries(template).flatMap(([key, value]) => {
    if (!key.endsWith('.$')) return templateProblems(value);
    const problem = expressionProblem(key, value);
    return problem ? [problem] : [];
  });
}
