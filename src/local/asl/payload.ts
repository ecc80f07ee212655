/** Payload templates (Parameters, ItemSelector, ResultSelector, BatchInput): `"name.$": "<path>"` fields are resolved. */
import { StatesError } from './errors';
import { readPath } from './jsonpath';

export function applyTemplate(template: unknown, input: unknown, context: unknown): unknown {
  if (Array.isArray(template)) return template.map((value) => applyTemplate(value, input, context));
  if (template === null || typeof template !== 'object') return template;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(template)) {
    if (key.endsWith('.$')) {
      if (typeof value !== 'string') throw new StatesError('States.Runtime', `${key} must be a path string`);
      out[key.slice(0, -2)] = resolve(value, input, context);
    } else {
      out[key] = applyTemplate(value, input, context);
    }
  }
  return out;
}

function resolve(expression: string, input: unknown, context: unknown): unknown {
  if (expression.startsWith('$')) return readPath(input, expression, context);
  throw new StatesError('States.Runtime', `intrinsic functions are not supported by the local executor: ${expression}`);
}
