/**
 * The inline Map: ItemsPath → ItemSelector per item (with `$$.Map.Item.Index/Value`) → the
 * ItemProcessor for each, at most MaxConcurrency at once (0 = no limit). The first failing
 * iteration fails the Map (no new ones start); the results keep the items' order. Each iteration's
 * end is an event (mapIterationSucceeded/Failed), as in Step Functions' execution history.
 */
import { executionContext } from './context';
import { States, StatesError } from './errors';
import { readPath } from './jsonpath';
import { applyTemplate } from './payload';
import { mapLimit } from '../../core/map-limit';
import type { ContextObject, MapState, RunMachine, Runtime, StateMachineDefinition } from './types';

/** The Map's items: the array at ItemsPath of its effective input. */
export function itemsAt(state: MapState, effective: unknown, context: ContextObject): unknown[] {
  const path = state.ItemsPath ?? '$';
  const items = readPath(effective, path, context);
  if (!Array.isArray(items)) throw new StatesError(States.Runtime, `ItemsPath ${path} selects ${items === null ? 'null' : typeof items}, not an array`);
  return items;
}

/** ItemSelector (or the older Parameters) for one item; the item itself without one. */
export function selectItem(state: MapState, effective: unknown, context: ContextObject, value: unknown, index: number): unknown {
  const selector = state.ItemSelector ?? state.Parameters;
  return selector === undefined ? value : applyTemplate(selector, effective, { ...context, Map: { Item: { Index: index, Value: value } } });
}

export function maxConcurrencyOf(state: MapState, effective: unknown, context: ContextObject): number {
  const value = state.MaxConcurrencyPath !== undefined ? readPath(effective, state.MaxConcurrencyPath, context) : (state.MaxConcurrency ?? 0);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new StatesError(States.Runtime, `MaxConcurrency must be a non-negative integer (got ${JSON.stringify(value)})`);
  return value;
}

export async function runInlineMap(state: MapState, effective: unknown, context: ContextObject, runtime: Runtime, run: RunMachine): Promise<unknown[]> {
  const items = itemsAt(state, effective, context);
  const processor = (state.ItemProcessor ?? state.Iterator) as StateMachineDefinition;
  const base = executionContext(context);
  const iteration = (type: 'mapIterationSucceeded' | 'mapIterationFailed', index: number) =>
    runtime.onEvent({ type, state: context.State?.Name ?? '', execution: context.Execution.Id, index });
  const jobs = items.map((value, index) => async () => {
    try {
      const output = await run(processor, selectItem(state, effective, context, value, index), base, runtime);
      iteration('mapIterationSucceeded', index);
      return output;
    } catch (error) {
      iteration('mapIterationFailed', index);
      throw error;
    }
  });
  return mapLimit(jobs, maxConcurrencyOf(state, effective, context) || Infinity, (job) => job());
}
