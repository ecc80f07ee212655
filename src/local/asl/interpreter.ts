/**
 * Runs the states of a state machine (JSONPath): Task, Pass, Choice, Wait, Succeed, Fail, Parallel
 * and Map (inline in inline-map.ts, distributed in distributed-map.ts) — with InputPath, Parameters,
 * ResultSelector, ResultPath, OutputPath, Retry and Catch as Step Functions applies them.
 */
import { matchesRule, timestampOf } from './choice';
import { enterState, withRetryCount } from './context';
import { runDistributedMap } from './distributed-map';
import { ExecutionAborted, fromTaskError, States, StatesError } from './errors';
import { runInlineMap } from './inline-map';
import { effectiveInput, outputPath, placeResult, stateOutput } from './io';
import { readPath } from './jsonpath';
import { runParallel } from './parallel';
import { applyTemplate } from './payload';
import { findCatcher, isTerminal, RetryPolicy } from './retry';
import { invokeTask } from './task';
import { scaledSleep } from './timing';
import type { ChoiceState, ContextObject, FailState, MapState, ParallelState, PassState, Runtime, StateDefinition, StateMachineDefinition, TaskState, WaitState } from './types';

interface Step {
  output: unknown;
  /** Undefined: the machine ends with `output`. */
  next?: string;
}

export async function runMachine(machine: StateMachineDefinition, input: unknown, context: ContextObject, runtime: Runtime): Promise<unknown> {
  let name = machine.StartAt;
  let data = input;
  for (;;) {
    const state = machine.States[name];
    if (!state) throw new StatesError(States.Runtime, `no state named ${name}`);
    const step = await runState(name, state, data, enterState(context, name), runtime);
    if (step.next === undefined) return step.output;
    name = step.next;
    data = step.output;
  }
}

async function runState(name: string, state: StateDefinition, input: unknown, context: ContextObject, runtime: Runtime): Promise<Step> {
  const next = state.End ? undefined : state.Next;
  switch (state.Type) {
    case 'Pass':
      return { output: pass(state, input, context), next };
    case 'Succeed':
      return { output: outputPath(state, effectiveInput(state, input, context), context) };
    case 'Fail':
      throw failure(state, input, context);
    case 'Wait': {
      const effective = effectiveInput(state, input, context);
      await scaledSleep(waitMs(state, effective, context), runtime.timeScale, runtime.signal);
      if (runtime.signal?.aborted) throw new ExecutionAborted(`stopped while ${name} waited`);
      return { output: outputPath(state, effective, context), next };
    }
    case 'Choice':
      return choose(name, state, input, context);
    case 'Task':
      return withRetryAndCatch(name, state, input, context, runtime, next, (attempt) => invokeTask(state, effectiveInput(state, input, attempt), attempt, runtime));
    case 'Parallel':
      return withRetryAndCatch(name, state, input, context, runtime, next, (attempt) => runParallel(state, effectiveInput(state, input, attempt), attempt, runtime, runMachine));
    case 'Map':
      return withRetryAndCatch(name, state, input, context, runtime, next, (attempt) => runMap(name, state, effectiveInput(state, input, attempt), attempt, runtime));
    default:
      throw new StatesError(States.Runtime, `state type ${(state as { Type: unknown }).Type} is not supported by the local executor`);
  }
}

function pass(state: PassState, input: unknown, context: ContextObject): unknown {
  const effective = effectiveInput(state, input, context);
  const result = 'Result' in state ? state.Result : state.Parameters !== undefined ? applyTemplate(state.Parameters, effective, context) : effective;
  return outputPath(state, placeResult(state.ResultPath, input, result), context);
}

function failure(state: FailState, input: unknown, context: ContextObject): StatesError {
  const text = (value: string | undefined, path: string | undefined, fallback: string) => {
    if (path === undefined) return value ?? fallback;
    const resolved = readPath(input, path, context);
    if (typeof resolved !== 'string') throw new StatesError(States.Runtime, `${path} must select a string (got ${JSON.stringify(resolved)})`);
    return resolved;
  };
  return new StatesError(text(state.Error, state.ErrorPath, 'States.Fail'), text(state.Cause, state.CausePath, ''));
}

function waitMs(state: WaitState, effective: unknown, context: ContextObject): number {
  if (state.Seconds !== undefined || state.SecondsPath !== undefined) {
    const seconds = state.SecondsPath !== undefined ? readPath(effective, state.SecondsPath, context) : state.Seconds;
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) throw new StatesError(States.Runtime, `Wait seconds must be a non-negative number (got ${JSON.stringify(seconds)})`);
    return seconds * 1000;
  }
  const timestamp = state.TimestampPath !== undefined ? readPath(effective, state.TimestampPath, context) : state.Timestamp;
  const at = timestampOf(timestamp);
  if (at === undefined) throw new StatesError(States.Runtime, `Wait timestamp must be an RFC 3339 timestamp (got ${JSON.stringify(timestamp)})`);
  return Math.max(0, at - Date.now());
}

function choose(name: string, state: ChoiceState, input: unknown, context: ContextObject): Step {
  const effective = effectiveInput(state, input, context);
  const rule = state.Choices.find((candidate) => matchesRule(candidate, effective, context));
  const target = rule?.Next ?? state.Default;
  if (target === undefined) throw new StatesError(States.NoChoiceMatched, `no Choice rule of ${name} matched, and it has no Default`);
  return { output: outputPath(state, effective, context), next: target };
}

function runMap(name: string, state: MapState, effective: unknown, context: ContextObject, runtime: Runtime): Promise<unknown> {
  const processor = state.ItemProcessor ?? state.Iterator;
  return processor?.ProcessorConfig?.Mode === 'DISTRIBUTED'
    ? runDistributedMap(name, state, effective, context, runtime, runMachine)
    : runInlineMap(state, effective, context, runtime, runMachine);
}

/**
 * Runs `attempt` until it succeeds or no retrier takes its error (waiting the retrier's backoff in
 * between); then the first matching catcher places `{Error, Cause}` at its ResultPath in the raw
 * input and goes to its Next. States.Runtime errors are never retried or caught.
 */
async function withRetryAndCatch(
  name: string,
  state: TaskState | MapState | ParallelState,
  input: unknown,
  context: ContextObject,
  runtime: Runtime,
  next: string | undefined,
  attempt: (context: ContextObject) => Promise<unknown>,
): Promise<Step> {
  const policy = new RetryPolicy(state.Retry);
  for (let retryCount = 0; ; retryCount++) {
    const attemptContext = withRetryCount(context, retryCount);
    try {
      const result = await attempt(attemptContext);
      return { output: stateOutput(state, input, result, attemptContext), next };
    } catch (thrown) {
      // A stopped execution is no state's error: no retrier or catcher sees it.
      if (thrown instanceof ExecutionAborted) throw thrown;
      const error = fromTaskError(thrown);
      if (isTerminal(error.error)) throw error;
      const retry = policy.next(error.error, runtime.random);
      if (retry) {
        runtime.onEvent({ type: 'retry', state: name, error: error.error, attempt: retry.attempt, delayMs: retry.delayMs });
        // A stopped execution does not wait out a retry: the next attempt is refused at once.
        await scaledSleep(retry.delayMs, runtime.timeScale, runtime.signal);
        continue;
      }
      const catcher = findCatcher(state.Catch, error.error);
      if (!catcher) throw error;
      return { output: placeResult(catcher.ResultPath, input, { Error: error.error, Cause: error.cause }), next: catcher.Next };
    }
  }
}
