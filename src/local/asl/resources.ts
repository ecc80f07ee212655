/**
 * Which local handler a Task's Resource names. The ASL file names functions the CloudFormation way,
 * `{"Fn::GetAtt": ["<function>", "Arn"]}` (serverless-step-functions turns it into the ARN); locally
 * the function name picks the handler. A Lambda ARN (`…:function:<name>`) works too, and so does
 * `arn:aws:states:::lambda:invoke` with such a FunctionName — its result is then wrapped as
 * `{Payload: …}` like the optimized integration's.
 */
import { States, StatesError } from './errors';
import type { TaskHandler } from './types';

const LAMBDA_INVOKE = /^arn:aws:states:::lambda:invoke$/;
const LAMBDA_ARN = /^arn:aws[a-z-]*:lambda:[^:]*:[^:]*:function:([^:]+)(:[^:]+)?$/;

export interface ResolvedTask {
  name: string;
  handler: TaskHandler;
  payload: unknown;
  /** lambda:invoke: the result is `{Payload, StatusCode, …}`. */
  wrapped: boolean;
}

export function functionNameOf(reference: unknown): string | undefined {
  if (reference && typeof reference === 'object' && 'Fn::GetAtt' in reference) {
    const getAtt = (reference as { 'Fn::GetAtt': unknown })['Fn::GetAtt'];
    if (Array.isArray(getAtt) && getAtt.length === 2 && getAtt[1] === 'Arn' && typeof getAtt[0] === 'string') return getAtt[0];
    if (typeof getAtt === 'string' && getAtt.endsWith('.Arn')) return getAtt.slice(0, -4);
    return undefined;
  }
  if (typeof reference === 'string') {
    const arn = LAMBDA_ARN.exec(reference);
    if (arn) return arn[1];
    return reference.startsWith('arn:') ? undefined : reference;
  }
  return undefined;
}

export function isLambdaInvoke(resource: unknown): boolean {
  return typeof resource === 'string' && LAMBDA_INVOKE.test(resource);
}

/** The handler name a Task needs (undefined if the resource names none): for validation before the run. */
export function requiredTaskName(resource: unknown, parameters: unknown): string | undefined {
  if (isLambdaInvoke(resource)) return functionNameOf((parameters as { FunctionName?: unknown } | undefined)?.FunctionName);
  return functionNameOf(resource);
}

/** `parameters` are the Task's Parameters after templating (or its effective input without Parameters). */
export function resolveTask(resource: unknown, parameters: unknown, tasks: Readonly<Record<string, TaskHandler>>): ResolvedTask {
  const wrapped = isLambdaInvoke(resource);
  const name = requiredTaskName(resource, parameters);
  const handler = name !== undefined && Object.prototype.hasOwnProperty.call(tasks, name) ? tasks[name] : undefined;
  if (name === undefined || !handler) throw new StatesError(States.Runtime, `no local handler for Task resource ${JSON.stringify(resource)}`);
  const payload = wrapped ? ((parameters as { Payload?: unknown } | undefined)?.Payload ?? {}) : parameters;
  return { name, handler, payload, wrapped };
}
