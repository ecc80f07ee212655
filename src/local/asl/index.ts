/**
 * The local Step Functions executor: runs an ASL definition (read from its file, never re-coded) with
 * in-process task handlers, and an ObjectStore for the Distributed Map's ItemReader and ResultWriter.
 *
 *   const definition = await loadDefinition('statemachines/migrate.asl.yaml');
 *   const result = await startExecution({ definition, input, tasks: { dedupe, resize, recordFailure },
 *     intrinsics: { LibraryBucket: 'library' }, store });
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { ObjectStore } from '../../core/ports';
import { rootContext } from './context';
import { ExecutionAborted, fromTaskError } from './errors';
import { runMachine } from './interpreter';
import { jsonCopy } from './task';
import { resolveRefs } from './refs';
import type { ExecutionEvent, Runtime, StateMachineDefinition, TaskHandler } from './types';
import { validateDefinition } from './validate';
import { LOCAL_STATE_MACHINE_NAME, localExecutionArn, localStateMachineArn } from './arns';

export type { ExecutionEvent, StateMachineDefinition, TaskHandler, TaskInvocation } from './types';
export { ExecutionAborted, InvalidDefinition, StatesError } from './errors';
export { loadDefinition, parseDefinition } from './load';
export { resolveRefs } from './refs';
export { definitionProblems, validateDefinition } from './validate';

export { LOCAL_ARN_PREFIX, LOCAL_STATE_MACHINE_NAME, localExecutionArn, localStateMachineArn } from './arns';

export interface ExecutionOptions {
  definition: StateMachineDefinition;
  input?: unknown;
  /** `$$.Execution.Name`; a UUID when absent. */
  name?: string;
  /** Handlers by function name (`Fn::GetAtt: [<name>, Arn]`). */
  tasks: Readonly<Record<string, TaskHandler>>;
  /** Values of `{"Ref": X}` in the definition (e.g. LibraryBucket → the local bucket's name). */
  intrinsics?: Readonly<Record<string, string>>;
  store: ObjectStore;
  stateMachineName?: string;
  /** Multiplies every wait (Retry backoff, Wait states): 1 (default) = real time, 0 = none. */
  timeScale?: number;
  /** Random numbers in [0, 1) for JitterStrategy FULL (default Math.random). */
  random?: () => number;
  onEvent?: (event: ExecutionEvent) => void;
  /**
   * Stops the execution as StopExecution does, gently: no Distributed Map child starts after it, the
   * running ones finish, the results are written (the rest PENDING), and it ends ABORTED.
   */
  signal?: AbortSignal;
}

export interface ExecutionResult {
  executionArn: string;
  status: 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  output?: unknown;
  error?: string;
  cause?: string;
}

/**
 * Validates the whole definition first (rejects with InvalidDefinition, nothing run), then runs it.
 * Resolves with FAILED and `{error, cause}` when the execution fails.
 */
export async function startExecution(options: ExecutionOptions): Promise<ExecutionResult> {
  const definition = resolveRefs(options.definition, options.intrinsics ?? {}) as StateMachineDefinition;
  validateDefinition(definition, Object.keys(options.tasks));
  const machineName = options.stateMachineName ?? LOCAL_STATE_MACHINE_NAME;
  const stateMachineArn = localStateMachineArn(machineName);
  const name = options.name ?? randomUUID();
  const executionArn = localExecutionArn(name, machineName);
  const runtime: Runtime = {
    tasks: options.tasks,
    store: options.store,
    timeScale: options.timeScale ?? 1,
    random: options.random ?? Math.random,
    onEvent: options.onEvent ?? (() => {}),
    stateMachineArn,
    stateMachineName: machineName,
    signal: options.signal,
  };
  // Every state sleeping in a Retry or Wait listens for the stop until it wakes (timing.ts removes
  // its listener): as many listeners as iterations in flight, not a leak — no MaxListenersExceededWarning.
  if (options.signal) setMaxListeners(0, options.signal);
  const input = jsonCopy(options.input ?? {});
  const context = rootContext({ arn: executionArn, name, input }, { arn: stateMachineArn, name: machineName });
  try {
    const output = await runMachine(definition, input, context, runtime);
    return { executionArn, status: 'SUCCEEDED', output };
  } catch (thrown) {
    if (thrown instanceof ExecutionAborted) return { executionArn, status: 'ABORTED', error: 'ExecutionAborted', cause: thrown.message };
    const error = fromTaskError(thrown);
    return { executionArn, status: 'FAILED', error: error.error, cause: error.cause };
  }
}
