/**
 * Runs the states of a state machine (JSONPath): Task, Pass, Choice, Map (inline here, distributed in
 * distributed-map.ts), Wait, Succeed, Fail — with InputPath, Parameters, ResultSelector, ResultPath,
 * OutputPath, Retry and Catch as Step Functions applies them.
 */
import { matchesRule, type ChoiceRule } from './choice';
import { runDistributedMap } from './distributed-map';
import { fromTaskError, StatesError } from './errors';
import { readPath, writePath } from './jsonpath';
import { applyTemplate } from './payload';
import { runPool } from './pool';
import { type Catcher, matchesError, type Retrier, retryDelayMs } from './retry';
import { resolveTask } from './resources';
import type { ContextObject, Runtime, StateDefinition, StateMachineDefinition } from './types';

export async function runMachine(machine: StateMachineDefinition, input: unknown, context: ContextObject, runtime: Runtime): Promise<unknown> {
  let name = machine.StartAt;
  let data = input;
  for (;;) {
    const state = machine.States[name];
    if (!state) throw new StatesError('States.Runtime', `no state named ${name}`);
    const { output, next } = await runState(name, state, data, { ...context, State: { Name: name, EnteredTime: new Date().toISOString(), RetryCount: 0 } }, runtime);
    if (next === undefined) return output;
    name = next;
    data = output;
  }
}

interface Step {
  output: unknown;
  next?: string;
}

async function runState(name: string, state: StateDefinition, input: unknown, context: ContextObject, runtime: Runtime): Promise<Step> {
  const s = state as Record<string, any>;
  const next = s.End ? undefined : (s.Next as string | undefined);
  const effective = () => (s.InputPath === null ? {} : readPath(input, s.InputPath ?? '$', context));
  switch (state.Type) {
    case 'Pass': {
      const result = 'Result' in s ? s.Result : s.Parameters ? applyTemplate(s.Parameters, effective(), context) : effective();
      return { output: finish(s, input, result, context), next };
    }
    case 'Succeed':
      return { output: outputOf(s, effective(), context) };
    case 'Fail':
      throw new StatesError(s.Error ?? 'States.Fail', s.Cause ?? '');
    case 'Wait': {
      const seconds = s.Seconds ?? (s.SecondsPath ? Number(readPath(effective(), s.SecondsPath, context)) : 0);
      await sleep(seconds * 1000 * runtime.timeScale);
      return { output: outputOf(s, effective(), context), next };
    }
    case 'Choice': {
      const data = effective();
      const choice = (s.Choices as Array<ChoiceRule & { Next: string }>).find((rule) => matchesRule(rule, data, context));
      const target = choice?.Next ?? s.Default;
      if (!target) throw new StatesError('States.NoChoiceMatched', `no Choice rule of ${name} matched and there is no Default`);
      return { output: outputOf(s, data, context), next: target };
    }
    case 'Task':
      return withRetryAndCatch(name, s, input, context, runtime, next, (retryCount) =>
        runTask(s, effective(), { ...context, State: { Name: name, EnteredTime: context.State?.EnteredTime ?? new Date().toISOString(), RetryCount: retryCount } }, runtime),
      );
    case 'Map': {
      const distributed = s.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED';
      return withRetryAndCatch(name, s, input, context, runtime, next, () =>
        distributed ? runDistributedMap(name, s, effective(), context, runtime) : runInlineMap(s, effective(), context, runtime),
      );
    }
    default:
      throw new StatesError('States.Runtime', `state type ${state.Type} is not supported by the local executor`);
  }
}

async function withRetryAndCatch(
  name: string,
  s: Record<string, any>,
  input: unknown,
  context: ContextObject,
  runtime: Runtime,
  next: string | undefined,
  attempt: (retryCount: number) => Promise<unknown>,
): Promise<Step> {
  const retriers = (s.Retry ?? []) as Retrier[];
  const retries = retriers.map(() => 0);
  for (let retryCount = 0; ; retryCount++) {
    try {
      return { output: finish(s, input, await attempt(retryCount), context), next };
    } catch (thrown) {
      const error = fromTaskError(thrown);
      const index = retriers.findIndex((retrier) => matchesError(retrier.ErrorEquals, error.error));
      const retrier = retriers[index];
      if (retrier && retries[index]! < (retrier.MaxAttempts ?? 3)) {
        const delayMs = retryDelayMs(retrier, retries[index]!, runtime.random);
        retries[index]!++;
        runtime.onEvent({ type: 'retry', state: name, error: error.error, attempt: retries[index]!, delayMs });
        await sleep(delayMs * runtime.timeScale);
        continue;
      }
      const catcher = ((s.Catch ?? []) as Catcher[]).find((c) => matchesError(c.ErrorEquals, error.error));
      if (!catcher) throw error;
      const caught = { Error: error.error, Cause: error.cause };
      const output = catcher.ResultPath === null ? input : writePath(input, catcher.ResultPath ?? '$', caught);
      return { output, next: catcher.Next };
    }
  }
}

async function runTask(s: Record<string, any>, effective: unknown, context: ContextObject, runtime: Runtime): Promise<unknown> {
  const parameters = s.Parameters ? applyTemplate(s.Parameters, effective, context) : effective;
  const task = resolveTask(s.Resource, parameters, runtime.tasks);
  const payload = JSON.parse(JSON.stringify(task.payload ?? null)) as unknown;
  const call = task.handler(payload);
  const result = s.TimeoutSeconds ? await withTimeout(call, s.TimeoutSeconds * 1000) : await call;
  const output = result === undefined ? null : (JSON.parse(JSON.stringify(result)) as unknown);
  return task.wrapped ? { Payload: output, StatusCode: 200 } : output;
}

async function runInlineMap(s: Record<string, any>, effective: unknown, context: ContextObject, runtime: Runtime): Promise<unknown[]> {
  const items = readPath(effective, s.ItemsPath ?? '$', context);
  if (!Array.isArray(items)) throw new StatesError('States.Runtime', `ItemsPath ${s.ItemsPath ?? '$'} is not an array`);
  const processor = (s.ItemProcessor ?? s.Iterator) as StateMachineDefinition;
  const selector = s.ItemSelector ?? s.Parameters;
  const { State: _state, Map: _map, ...base } = context;
  const jobs = items.map((value, index) => () => {
    const itemInput = selector ? applyTemplate(selector, effective, { ...context, Map: { Item: { Index: index, Value: value } } }) : value;
    return runMachine(processor, itemInput, base, runtime);
  });
  const settled = await runPool(jobs, s.MaxConcurrency ?? 0);
  return settled.map((result) => (result as PromiseFulfilledResult<unknown>).value);
}

/** ResultSelector → ResultPath → OutputPath. */
function finish(s: Record<string, any>, rawInput: unknown, result: unknown, context: ContextObject): unknown {
  const selected = s.ResultSelector ? applyTemplate(s.ResultSelector, result, context) : result;
  const merged = s.ResultPath === null ? rawInput : writePath(rawInput, s.ResultPath ?? '$', selected);
  return outputOf(s, merged, context);
}

function outputOf(s: Record<string, any>, data: unknown, context: ContextObject): unknown {
  return s.OutputPath === null ? {} : readPath(data, s.OutputPath ?? '$', context);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StatesError('States.Timeout', `task did not finish within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
