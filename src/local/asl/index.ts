/**
 * The local Step Functions executor: runs an ASL definition (read from its file, never re-coded) with
 * in-process task handlers and an ObjectStore for ItemReader/ResultWriter.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import type { ObjectStore } from '../../core/ports';
import { fromTaskError } from './errors';
import { runMachine } from './interpreter';
import type { ExecutionEvent, StateMachineDefinition, TaskHandler } from './types';
import { validateDefinition } from './validate';

export type { ExecutionEvent, StateMachineDefinition, TaskHandler } from './types';
export { validateDefinition } from './validate';

export async function loadDefinition(path: string): Promise<StateMachineDefinition> {
  return parse(await readFile(path, 'utf8'), { merge: true, maxAliasCount: -1 }) as StateMachineDefinition;
}

export interface ExecutionOptions {
  definition: StateMachineDefinition;
  input: unknown;
  name?: string;
  tasks: Record<string, TaskHandler>;
  /** Values of `{"Ref": X}` in the definition (e.g. LibraryBucket → the local bucket's name). */
  intrinsics?: Record<string, string>;
  store: ObjectStore;
  stateMachineName?: string;
  timeScale?: number;
  random?: () => number;
  onEvent?: (event: ExecutionEvent) => void;
}

export interface ExecutionResult {
  executionArn: string;
  status: 'SUCCEEDED' | 'FAILED';
  output?: unknown;
  error?: string;
  cause?: string;
}

export async function startExecution(options: ExecutionOptions): Promise<ExecutionResult> {
  const definition = resolveRefs(options.definition, options.intrinsics ?? {}) as StateMachineDefinition;
  validateDefinition(definition, Object.keys(options.tasks));
  const machineName = options.stateMachineName ?? 'photo-scaler-migrate-local';
  const stateMachineArn = `arn:aws:states:local:000000000000:stateMachine:${machineName}`;
  const name = options.name ?? randomUUID();
  const executionArn = `arn:aws:states:local:000000000000:execution:${machineName}:${name}`;
  const runtime = {
    tasks: options.tasks,
    store: options.store,
    timeScale: options.timeScale ?? 1,
    random: options.random ?? Math.random,
    onEvent: options.onEvent ?? (() => {}),
    stateMachineArn,
  };
  const context = {
    Execution: { Id: executionArn, Name: name, StartTime: new Date().toISOString(), Input: options.input },
    StateMachine: { Id: stateMachineArn, Name: machineName },
  };
  try {
    const output = await runMachine(definition, options.input, context, runtime);
    return { executionArn, status: 'SUCCEEDED', output };
  } catch (thrown) {
    const error = fromTaskError(thrown);
    return { executionArn, status: 'FAILED', error: error.error, cause: error.cause };
  }
}

/** Replaces `{"Ref": X}` objects by their local values; unknown Refs are left for validation to report. */
export function resolveRefs(value: unknown, intrinsics: Record<string, string>): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveRefs(item, intrinsics));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  if (entries.length === 1 && entries[0]![0] === 'Ref' && typeof entries[0]![1] === 'string' && entries[0]![1] in intrinsics) return intrinsics[entries[0]![1]];
  return Object.fromEntries(entries.map(([key, item]) => [key, resolveRefs(item, intrinsics)]));
}
