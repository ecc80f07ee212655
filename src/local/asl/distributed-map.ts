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
import { batchItems } from './item-batcher';
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
  const items = state.ItemReader ? await readItems(state.ItemReader, effective, context, runtime.store) : itemsAt(state, effective, context);
  const selected = items.map((value, index) => selectItem(state, effective, context, value, index));
  const batches = batchItems(selected, state.ItemBatcher, effective, context);
  const tolerance = toleranceOf(state, effective, context);
  const maxConcurrency = maxConcurrencyOf(state, effective, context) || DISTRIBUTED_MAX_CONCURRENCY;
  const ids = mapRunIds(runtime, state.Label ?? name);
  const processor = state.ItemProcessor as StateMachineDefinition;
  const childRuntime: Runtime = { ...runtime, stateMachineArn: ids.childMachine.arn, stateMachineName: ids.childMachine.name };
  runtime.onEvent({ type: 'mapRunStarted', state: name, totalItems: selected.length, batches: batches.length });

  // With a ResultWriter the records stream to it as children end (nothing is kept per item);
  // without one, the outputs are the Map's output and are kept.
  const sink = state.ResultWriter ? new ResultSink(state.ResultWriter, effective, context, runtime.store, ids) : undefined;
  const outcomes: Array<{ record: ChildRecord; output?: unknown } | PendingRecord | undefined> = sink ? [] : new Array(batches.length);
  const settle = (index: number, outcome: { record: ChildRecord; output?: unknown } | PendingRecord) => {
    if (!sink) outcomes[index] = outcome;
    else if ('record' in outcome) sink.add(outcome.record.Status, index, outcome.record);
    else sink.add('PENDING', index, outcome);
  };
  let failedItems = 0;
  const exceeded = () => exceedsTolerance(failedItems, selected.length, tolerance);

  const jobs = batches.map((batch, index) => async () => {
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
  });
  await mapLimit(jobs, maxConcurrency, (job) => job(), { settle: true });

  const counted = (status: 'SUCCEEDED' | 'FAILED' | 'PENDING') =>
    sink ? sink.count(status) : outcomes.filter((outcome) => outcome !== undefined && ('record' in outcome ? outcome.record.Status : outcome.Status) === status).length;
  const details = sink ? await sink.finish() : undefined;
  if (runtime.signal?.aborted) {
    throw new ExecutionAborted(`stopped: ${counted('PENDING')} child executions never started (${counted('SUCCEEDED')} succeeded, ${counted('FAILED')} failed)${details ? `; results in s3://${details.Bucket}/${details.Key}` : ''}`);
  }
  if (exceeded()) {
    throw new StatesError(
      States.ExceedToleratedFailureThreshold,
      `${failedItems} of ${selected.length} items failed (${counted('FAILED')} child executions), more than the Map Run ${ids.arn} tolerates (${describeTolerance(tolerance)})`,
    );
  }
  if (details) return { MapRunArn: ids.arn, ResultWriterDetails: details };
  return outcomes.map((outcome) => (outcome && 'record' in outcome ? (outcome.record.Status === 'SUCCEEDED' ? outcome.output : outcome.record) : outcome));
}
