/**
 * The Distributed Map, as Step Functions runs it: ItemReader → ItemSelector → ItemBatcher → one
 * child execution per batch (at most MaxConcurrency at once) → ToleratedFailurePercentage/Count →
 * ResultWriter (manifest.json + SUCCEEDED_n / FAILED_n / PENDING_n files in S3).
 */
import { randomUUID } from 'node:crypto';
import type { ObjectStore } from '../../core/ports';
import { readInventoryReport } from '../../core/inventory';
import { fromTaskError, StatesError } from './errors';
import { readPath } from './jsonpath';
import { applyTemplate } from './payload';
import { runPool } from './pool';
import type { ContextObject, Runtime, StateMachineDefinition } from './types';
import { runMachine } from './interpreter';

/** Step Functions' default when MaxConcurrency is absent or 0 for a Distributed Map. */
const DEFAULT_MAX_CONCURRENCY = 10_000;

interface ChildRecord {
  ExecutionArn: string;
  Name: string;
  Input: string;
  InputDetails: { Included: true };
  Output?: string;
  OutputDetails?: { Included: true };
  Error?: string;
  Cause?: string;
  RedriveCount: 0;
  RedriveStatus: 'NOT_REDRIVABLE';
  StartDate: string;
  StopDate: string;
  StateMachineArn: string;
  Status: 'SUCCEEDED' | 'FAILED';
}

export async function runDistributedMap(name: string, s: Record<string, any>, effective: unknown, context: ContextObject, runtime: Runtime): Promise<unknown> {
  const items = s.ItemReader ? await readItems(s.ItemReader, effective, context, runtime.store) : readPath(effective, s.ItemsPath ?? '$', context);
  if (!Array.isArray(items)) throw new StatesError('States.Runtime', `the items of ${name} are not an array`);
  const selected = items.map((value, index) => (s.ItemSelector ? applyTemplate(s.ItemSelector, effective, { ...context, Map: { Item: { Index: index, Value: value } } }) : value));
  const inputs = s.ItemBatcher ? batch(selected, s.ItemBatcher, effective, context) : selected.map((item) => ({ input: item, items: 1 }));
  runtime.onEvent({ type: 'mapRunStarted', state: name, totalItems: selected.length, batches: inputs.length });

  const mapRunName = randomUUID();
  const mapRunArn = `${runtime.stateMachineArn.replace(':stateMachine:', ':mapRun:')}/${name}:${mapRunName}`;
  const childMachineArn = `${runtime.stateMachineArn}/${name}`;
  const processor = s.ItemProcessor as StateMachineDefinition;
  const tolerated = toleratedFailures(s, selected.length);
  let failedItems = 0;
  let aborted = false;
  const succeeded: ChildRecord[] = [];
  const failed: ChildRecord[] = [];
  const pending: Array<{ input: unknown }> = [];

  const jobs = inputs.map((child) => async () => {
    if (aborted) {
      pending.push(child);
      return;
    }
    const childName = randomUUID();
    const executionArn = `${runtime.stateMachineArn.replace(':stateMachine:', ':express:')}/${mapRunName}/${childName}`;
    const start = new Date().toISOString();
    const record = { ExecutionArn: executionArn, Name: childName, Input: JSON.stringify(child.input), InputDetails: { Included: true as const }, RedriveCount: 0 as const, RedriveStatus: 'NOT_REDRIVABLE' as const, StartDate: start, StateMachineArn: childMachineArn };
    const childContext: ContextObject = {
      Execution: { Id: executionArn, Name: childName, StartTime: start, Input: child.input },
      StateMachine: { Id: childMachineArn, Name: `${name}` },
    };
    try {
      const output = await runMachine(processor, child.input, childContext, runtime);
      succeeded.push({ ...record, Output: JSON.stringify(output), OutputDetails: { Included: true }, Status: 'SUCCEEDED', StopDate: new Date().toISOString() });
      runtime.onEvent({ type: 'childSucceeded', items: child.items });
    } catch (thrown) {
      const error = fromTaskError(thrown);
      failed.push({ ...record, Error: error.error, Cause: error.cause, Status: 'FAILED', StopDate: new Date().toISOString() });
      failedItems += child.items;
      if (failedItems > tolerated) aborted = true;
      runtime.onEvent({ type: 'childFailed', items: child.items, error: error.error });
    }
  });
  await runPool(jobs, s.MaxConcurrency || DEFAULT_MAX_CONCURRENCY, false);

  const details = s.ResultWriter ? await writeResults(s.ResultWriter, effective, context, runtime.store, mapRunArn, mapRunName, { succeeded, failed, pending }) : undefined;
  if (failedItems > tolerated) {
    throw new StatesError('States.ExceedToleratedFailureThreshold', `${failedItems} of ${selected.length} items failed; the Map run tolerates ${tolerated}`);
  }
  if (details) return { MapRunArn: mapRunArn, ResultWriterDetails: details };
  return succeeded.map((child) => JSON.parse(child.Output ?? 'null') as unknown);
}

function toleratedFailures(s: Record<string, any>, total: number): number {
  const byPercent = s.ToleratedFailurePercentage !== undefined ? Math.floor((s.ToleratedFailurePercentage / 100) * total) : undefined;
  const byCount = s.ToleratedFailureCount;
  if (byPercent === undefined && byCount === undefined) return 0;
  return Math.max(byPercent ?? 0, byCount ?? 0);
}

function batch(items: unknown[], batcher: Record<string, any>, effective: unknown, context: ContextObject): Array<{ input: unknown; items: number }> {
  const maxItems: number = batcher.MaxItemsPerBatch ?? Number.POSITIVE_INFINITY;
  const maxBytes: number = batcher.MaxInputBytesPerBatch ?? 256 * 1024;
  const batchInput = batcher.BatchInput ? applyTemplate(batcher.BatchInput, effective, context) : undefined;
  const wrap = (group: unknown[]) => ({ input: batchInput === undefined ? { Items: group } : { Items: group, BatchInput: batchInput }, items: group.length });
  const batches: Array<{ input: unknown; items: number }> = [];
  let group: unknown[] = [];
  for (const item of items) {
    const candidate = [...group, item];
    if (group.length > 0 && (candidate.length > maxItems || Buffer.byteLength(JSON.stringify(wrap(candidate).input)) > maxBytes)) {
      batches.push(wrap(group));
      group = [item];
    } else group = candidate;
  }
  if (group.length > 0) batches.push(wrap(group));
  return batches;
}

async function readItems(reader: Record<string, any>, effective: unknown, context: ContextObject, store: ObjectStore): Promise<unknown[]> {
  if (reader.Resource !== 'arn:aws:states:::s3:getObject') throw new StatesError('States.ItemReaderFailed', `ItemReader resource ${reader.Resource} is not supported locally`);
  const { Bucket, Key } = applyTemplate(reader.Parameters ?? {}, effective, context) as { Bucket?: string; Key?: string };
  if (!Bucket || !Key) throw new StatesError('States.ItemReaderFailed', 'ItemReader Parameters need Bucket and Key');
  const inputType = reader.ReaderConfig?.InputType;
  const maxItems: number | undefined = reader.ReaderConfig?.MaxItems;
  try {
    const read = async (key: string) => (await store.get({ bucket: Bucket, key })).body;
    let items: unknown[];
    if (inputType === 'MANIFEST') {
      // Every data file is read and checked before the first item runs: a bad report writes nothing.
      items = await readInventoryReport(store, { bucket: Bucket, key: Key });
    } else if (inputType === 'JSON') {
      items = JSON.parse(Buffer.from(await read(Key)).toString('utf8')) as unknown[];
    } else {
      throw new StatesError('States.ItemReaderFailed', `ReaderConfig.InputType ${inputType} is not supported locally`);
    }
    return maxItems ? items.slice(0, maxItems) : items;
  } catch (error) {
    if (error instanceof StatesError) throw error;
    throw new StatesError('States.ItemReaderFailed', error instanceof Error ? error.message : String(error));
  }
}

async function writeResults(
  writer: Record<string, any>,
  effective: unknown,
  context: ContextObject,
  store: ObjectStore,
  mapRunArn: string,
  mapRunName: string,
  children: { succeeded: ChildRecord[]; failed: ChildRecord[]; pending: Array<{ input: unknown }> },
): Promise<{ Bucket: string; Key: string }> {
  const { Bucket, Prefix } = applyTemplate(writer.Parameters ?? {}, effective, context) as { Bucket?: string; Prefix?: string };
  if (!Bucket) throw new StatesError('States.ResultWriterFailed', 'ResultWriter Parameters need Bucket');
  const base = `${Prefix ? `${Prefix.replace(/\/+$/, '')}/` : ''}${mapRunName}`;
  const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');
  const files: Record<'SUCCEEDED' | 'FAILED' | 'PENDING', Array<{ Key: string; Size: number }>> = { SUCCEEDED: [], FAILED: [], PENDING: [] };
  const groups = {
    SUCCEEDED: children.succeeded,
    FAILED: children.failed,
    PENDING: children.pending.map((child) => ({ Input: JSON.stringify(child.input), InputDetails: { Included: true }, Status: 'PENDING' })),
  };
  for (const [status, records] of Object.entries(groups) as Array<[keyof typeof files, unknown[]]>) {
    if (records.length === 0) continue;
    const key = `${base}/${status}_0.json`;
    const body = json(records);
    await store.put({ bucket: Bucket, key }, body, { contentType: 'application/json' });
    files[status].push({ Key: key, Size: body.byteLength });
  }
  const manifestKey = `${base}/manifest.json`;
  await store.put({ bucket: Bucket, key: manifestKey }, json({ DestinationBucket: Bucket, MapRunArn: mapRunArn, ResultFiles: files }), { contentType: 'application/json' });
  return { Bucket, Key: manifestKey };
}
