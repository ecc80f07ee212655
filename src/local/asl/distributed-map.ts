/**
 * The Distributed Map, as Step Functions runs it: ItemReader (or ItemsPath) → ItemSelector per item →
 * ItemBatcher → one child execution per batch (EXPRESS or STANDARD alike here), at most
 * MaxConcurrency at once → ToleratedFailurePercentage/Count → ResultWriter. Once the tolerated
 * failures are exceeded no further child starts (those are PENDING); the running ones finish, the
 * results are written, and the Map fails with States.ExceedToleratedFailureThreshold.
 *
 * Output: `{MapRunArn, ResultWriterDetails: {Bucket, Key}}` with a ResultWriter, else the children's
 * outputs in item order (a failed child's execution record in its place).
 */
import { randomUUID } from 'node:crypto';
import { LOCAL_ARN_PREFIX } from './arns';
import { ExecutionAborted, fromTaskError, States, StatesError } from './errors';
import { itemsAt, maxConcurrencyOf, selectItem } from './inline-map';
import { type Batch, streamBatches } from './item-batcher';
import { readItems } from './item-reader';
import { mapLimit } from '../../core/map-limit';
import { type ChildRecord, type PendingRecord, ResultSink } from './result-writer';
import { describeTolerance, exceedsTolerance, toleranceOf } from './tolerance';
import type { ContextObject, MapState, RunMachine, Runtime, StateMachineDefinition } from './types';

/** Step Functions' ceiling on concurrent child executions (MaxConcurrency 0 or absent). */
export const DISTRIBUTED_MAX_CONCURRENCY = 10_000;

export interface MapRunIds {
  id: string;
  arn: string;
  /** The child executions' state machine. */
  childMachine: { arn: string; name: string };
  childExecutionArn: (childName: string) => string;
}

/** ARNs as Step Functions forms them: `…:mapRun:<sm>/<label>:<id>`, children `…:execution:<sm>/<id>:<name>`. */
export function mapRunIds(runtime: Runtime, label: string, id = randomUUID()): MapRunIds {
  const cut = runtime.stateMachineArn.indexOf(':stateMachine:');
  const prefix = cut >= 0 ? runtime.stateMachineArn.slice(0, cut) : LOCAL_ARN_PREFIX;
  return {
    id,
    arn: `${prefix}:mapRun:${runtime.stateMachineName}/${label}:${id}`,
    childMachine: { arn: `${runtime.stateMachineArn}/${label}`, name: `${runtime.stateMachineName}/${label}` },
    childExecutionArn: (childName) => `${prefix}:execution:${runtime.stateMachineName}/${id}:${childName}`,
  };
}

export async function runDistributedMap(name: string, state: MapState, effective: unknown, context: ContextObject, runtime: Runtime, run: RunMachine): Promise<unknown> {
  const source = state.ItemReader ? await readItems(state.ItemReader, effective, context, runtime.store) : inlineItems(itemsAt(state, effective, context));
  async function* selected(): AsyncGenerator<unknown> {
    let index = 0;
    for await (const value of source.read()) yield selectItem(state, effective, context, value, index++);
  }
  const batchesOf = () => streamBatches(selected(), state.ItemBatcher, effective, context);
  // Read through once before any child starts: every item is checked (a bad report, a failing
  // ItemSelector fails the Map before any work, as with Step Functions) and counted; only the
  // counts are kept, then the items are read again as the children start.
  let totalItems = 0;
  let batchCount = 0;
  for await (const batch of batchesOf()) {
    totalItems += batch.items;
    batchCount++;
  }
  const selectedCount = totalItems;
  const tolerance = toleranceOf(state, effective, context);
  const maxConcurrency = maxConcurrencyOf(state, effective, context) || DISTRIBUTED_MAX_CONCURRENCY;
  const ids = mapRunIds(runtime, state.Label ?? name);
  const processor = state.ItemProcessor as StateMachineDefinition;
  const childRuntime: Runtime = { ...runtime, stateMachineArn: ids.childMachine.arn, stateMachineName: ids.childMachine.name };
  runtime.onEvent({ type: 'mapRunStarted', state: name, totalItems, batches: batchCount });

  // With a ResultWriter the records stream to it as children end (nothing is kept per item);
  // without one, the outputs are the Map's output and are kept.
  const sink = state.ResultWriter ? new ResultSink(state.ResultWriter, effective, context, runtime.store, ids) : undefined;
  const outcomes: Array<{ record: ChildRecord; output?: unknown } | PendingRecord | undefined> = sink ? [] : new Array(batchCount);
  const settle = (index: number, outcome: { record: ChildRecord; output?: unknown } | PendingRecord) => {
    if (!sink) outcomes[index] = outcome;
    else if ('record' in outcome) sink.add(outcome.record.Status, index, outcome.record);
    else sink.add('PENDING', index, outcome);
  };
  let failedItems = 0;
  const exceeded = () => exceedsTolerance(failedItems, selectedCount, tolerance);

  const job = async (batch: Batch, index: number) => {
    const input = JSON.stringify(batch.input);
    if (exceeded() || runtime.signal?.aborted) {
      settle(index, { Input: input, InputDetails: { Included: true }, Status: 'PENDING' });
      return;
    }
    const childName = randomUUID();
    const executionArn = ids.childExecutionArn(childName);
    const startDate = new Date().toISOString();
    const base = { ExecutionArn: executionArn, Input: input, InputDetails: { Included: true as const }, Name: childName, RedriveCount: 0 as const, RedriveStatus: 'NOT_REDRIVABLE' as const, StartDate: startDate, StateMachineArn: ids.childMachine.arn };
    const childContext: ContextObject = {
      Execution: { Id: executionArn, Name: childName, StartTime: startDate, Input: JSON.parse(input) as unknown },
      StateMachine: { Id: ids.childMachine.arn, Name: ids.childMachine.name },
    };
    runtime.onEvent({ type: 'childStarted', execution: executionArn, items: batch.items });
    try {
      const output = await run(processor, JSON.parse(input) as unknown, childContext, childRuntime);
      const record: ChildRecord = { ...base, Output: JSON.stringify(output ?? null), OutputDetails: { Included: true }, Status: 'SUCCEEDED', StopDate: new Date().toISOString() };
      settle(index, { record, output });
      runtime.onEvent({ type: 'childSucceeded', items: batch.items, execution: executionArn });
    } catch (thrown) {
      const error = fromTaskError(thrown);
      settle(index, { record: { ...base, Cause: error.cause, Error: error.error, Status: 'FAILED', StopDate: new Date().toISOString() } });
      failedItems += batch.items;
      runtime.onEvent({ type: 'childFailed', items: batch.items, error: error.error, execution: executionArn });
    }
  };
  // The first wave (up to MaxConcurrency batches, at most START_WAVE) is read before any child starts,
  // so they all start together, as when the items were all in memory; later batches are read as slots free up.
  await mapLimit(await startingWave(batchesOf(), Math.min(maxConcurrency, START_WAVE)), maxConcurrency, job, { settle: true });

  const counted = (status: 'SUCCEEDED' | 'FAILED' | 'PENDING') =>
    sink ? sink.count(status) : outcomes.filter((outcome) => outcome !== undefined && ('record' in outcome ? outcome.record.Status : outcome.Status) === status).length;
  const details = sink ? await sink.finish() : undefined;
  if (runtime.signal?.aborted) {
    throw new ExecutionAborted(`stopped: ${counted('PENDING')} child executions never started (${counted('SUCCEEDED')} succeeded, ${counted('FAILED')} failed)${details ? `; results in s3://${details.Bucket}/${details.Key}` : ''}`);
  }
  if (exceeded()) {
    throw new StatesError(
      States.ExceedToleratedFailureThreshold,
      `${failedItems} of ${selectedCount} items failed (${counted('FAILED')} child executions), more than the Map Run ${ids.arn} tolerates (${describeTolerance(tolerance)})`,
    );
  }
  if (details) return { MapRunArn: ids.arn, ResultWriterDetails: details };
  return outcomes.map((outcome) => (outcome && 'record' in outcome ? (outcome.record.Status === 'SUCCEEDED' ? outcome.output : outcome.record) : outcome));
}

/** Batches read ahead for the first wave of children: bounded, so MaxConcurrency 0 (10,000) does not read a report whole. */
const START_WAVE = 1_000;

async function startingWave<T>(items: AsyncGenerator<T>, count: number): Promise<AsyncGenerator<T>> {
  const first: T[] = [];
  let done = false;
  while (first.length < count) {
    const step = await items.next();
    if (step.done) {
      done = true;
      break;
    }
    first.push(step.value);
  }
  return (async function* () {
    try {
      yield* first.splice(0);
      if (!done) yield* items;
    } finally {
      await items.return(undefined);
    }
  })();
}

/** Items given inline (ItemsPath), read as the ItemReader's are. */
function inlineItems(items: readonly unknown[]): { read(): AsyncIterable<unknown> } {
  return {
    async *read() {
      yield* items;
    },
  };
}
