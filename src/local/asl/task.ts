/**
 * One invocation of a Task: Parameters → the local handler, called like a Lambda function (a JSON
 * copy of its event in, a JSON copy of its result out), within TimeoutSeconds.
 */
import { ExecutionAborted, States, StatesError } from './errors';
import { readPath } from './jsonpath';
import { applyTemplate } from './payload';
import { resolveTask } from './resources';
import { withTimeout } from './timing';
import type { ContextObject, Runtime, TaskState } from './types';

/** What Lambda does to a payload: JSON in, JSON out (`undefined` becomes null). */
export function jsonCopy(value: unknown): unknown {
  const text = JSON.stringify(value);
  return text === undefined ? null : (JSON.parse(text) as unknown);
}

export async function invokeTask(state: TaskState, effective: unknown, context: ContextObject, runtime: Runtime): Promise<unknown> {
  const parameters = state.Parameters !== undefined ? applyTemplate(state.Parameters, effective, context) : effective;
  const task = resolveTask(state.Resource, parameters, runtime.tasks);
  const event = jsonCopy(task.payload);
  const timeoutSeconds = state.TimeoutSecondsPath !== undefined ? timeoutAt(state.TimeoutSecondsPath, effective, context) : state.TimeoutSeconds;
  // A stopped execution starts no further work (what runs already, finishes).
  if (runtime.signal?.aborted) throw new ExecutionAborted(`stopped before ${task.name} started`);
  let started!: () => void;
  const running = task.handler.queued ? new Promise<void>((resolve) => (started = resolve)) : Promise.resolve();
  const call = Promise.resolve().then(() => task.handler(event, { started: () => started?.(), signal: runtime.signal }));
  const result = timeoutSeconds
    ? await withTimeout(call, timeoutSeconds * 1000, () => new StatesError(States.Timeout, `the task ${task.name} did not finish within ${timeoutSeconds} s`), running)
    : await call;
  const output = jsonCopy(result);
  return task.wrapped ? { ExecutedVersion: '$LATEST', Payload: output, StatusCode: 200 } : output;
}

/** TimeoutSecondsPath must select a positive integer (as on AWS); anything else is States.Runtime, never "no timeout". */
function timeoutAt(path: string, effective: unknown, context: ContextObject): number {
  const value = readPath(effective, path, context);
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw new StatesError(States.Runtime, `TimeoutSecondsPath ${path} must select a positive integer (got ${JSON.stringify(value)})`);
  return value;
}
