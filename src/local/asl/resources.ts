/**
 * Which local handler a Task's Resource names. The ASL file names functions the CloudFormation way,
 * `{"Fn::GetAtt": ["<function>", "Arn"]}` (serverless-step-functions turns it into the ARN); locally
 * the function name picks the handler. `arn:aws:states:::lambda:invoke` with such a FunctionName works too.
 */
import { StatesError } from './errors';
import type { TaskHandler } from './types';

const LAMBDA_INVOKE = /^arn:aws:states:::lambda:invoke(\.waitForTaskToken)?$/;

export function functionNameOf(reference: unknown): string | undefined {
  if (reference && typeof reference === 'object' && 'Fn::GetAtt' in reference) {
    const getAtt = (reference as { 'Fn::GetAtt': unknown })['Fn::GetAtt'];
    if (Array.isArray(getAtt) && getAtt[1] === 'Arn' && typeof getAtt[0] === 'string') return getAtt[0];
    if (typeof getAtt === 'string' && getAtt.endsWith('.Arn')) return getAtt.slice(0, -4);
  }
  if (typeof reference === 'string') {
    const arn = /^arn:aws:lambda:[^:]*:[^:]*:function:([^:]+)/.exec(reference);
    return arn ? arn[1] : reference;
  }
  return undefined;
}

export function resolveTask(resource: unknown, parameters: unknown, tasks: Record<string, TaskHandler>): { handler: TaskHandler; payload: unknown; wrapped: boolean } {
  const wrapped = typeof resource === 'string' && LAMBDA_INVOKE.test(resource);
  const name = wrapped ? functionNameOf((parameters as { FunctionName?: unknown })?.FunctionName) : functionNameOf(resource);
  const handler = name ? tasks[name] : undefined;
  if (!handler) throw new StatesError('States.Runtime', `no local handler for Task resource ${JSON.stringify(resource)}`);
  return { handler, payload: wrapped ? (parameters as { Payload?: unknown }).Payload : parameters, wrapped };
}

/** For validation before the run: the handler name a Task resource needs (undefined if it cannot be told). */
export function requiredTaskName(resource: unknown, parameters: unknown): string | undefined {
  if (typeof resource === 'string' && LAMBDA_INVOKE.test(resource)) return functionNameOf((parameters as { FunctionName?: unknown })?.FunctionName);
  return functionNameOf(resource);
}
