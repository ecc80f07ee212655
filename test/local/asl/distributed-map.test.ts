/** The Distributed Map features, on small definitions: item sources, batching, concurrency, tolerated failures, ResultWriter. */
import { describe, expect, it } from 'vitest';
import { type ExecutionEvent, InvalidDefinition, startExecution, type StateMachineDefinition } from '../../../src/local/asl';
import { batchItems } from '../../../src/local/asl/item-batcher';
import { exceedsTolerance } from '../../../src/local/asl/tolerance';
import type { ContextObject } from '../../../src/local/asl/types';
import { decodeInventoryKey } from '../../../src/core/inventory/keys';
import { buildInventoryReport } from '../../../src/local/inventory-writer';
import { MemoryStore } from '../../helpers/memory-store';

class PhotoError extends Error {
  override name = 'PhotoError';
}

type Handler = (event: any) => Promise<unknown>;
const fn = (name: string) => ({ 'Fn::GetAtt': [name, 'Arn'] });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const json = async (store: MemoryStore, bucket: string, key: string) => JSON.parse(Buffer.from((await store.get({ bucket, key })).body).toString('utf8'));

function distributed(map: Record<string, unknown>, work: Record<string, unknown> = {}) {
  return {
    StartAt: 'Run',
    States: {
      Run: {
        Type: 'Map',
        ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' }, StartAt: 'Work', States: { Work: { Type: 'Task', Resource: fn('work'), ...work, End: true } } },
        ...map,
        End: true,
      },
    },
  };
}

async function run(definition: unknown, input: unknown, work: Handler, options: { store?: MemoryStore; name?: string } = {}) {
  const store = options.store ?? new MemoryStore();
  const events: ExecutionEvent[] = [];
  const result = await startExecution({
    definition: definition as StateMachineDefinition,
    input,
    name: options.name ?? 'parent-run',
    tasks: { work },
    intrinsics: { ResultsBucket: 'results' },
    store,
    timeScale: 0,
    onEvent: (event) => events.push(event),
  });
  return { result, events, store };
}

describe('items', () => {
  it('from an S3 Inventory report (MANIFEST): streamed — read through once to check and count, then again as children start — never a data file whole', async () => {
    const keys = Array.from({ length: 23 }, (_, i) => `photo ${i}+ü.jpg`);
    const built = buildInventoryReport({ sourceBucket: 'src', destinationBucket: 'inv', prefix: 'inventory', objects: keys.map((key, i) => ({ key, size: i + 1, etag: `e${i}`, lastModified: new Date(0) })), now: new Date(0), rowsPerFile: 5 });
    const store = new (class extends MemoryStore {
      wholeReads: string[] = [];
      override async get(ref: { bucket: string; key: string }) {
        this.wholeReads.push(ref.key);
        return super.get(ref);
      }
    })();
    store.chunkBytes = 50;
    for (const file of built.files) await store.put({ bucket: 'inv', key: file.key }, file.body, {});
    const definition = distributed({
      ItemReader: { Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'MANIFEST' }, Parameters: { Bucket: 'inv', Key: built.manifestKey } },
      ItemSelector: { 'key.$': '$$.Map.Item.Value.Key', 'index.$': '$$.Map.Item.Index' },
      ItemBatcher: { MaxItemsPerBatch: 4 },
      MaxConcurrency: 2,
    });
    const seen: Array<{ key: string; index: number }> = [];
    const { result, events } = await run(definition, {}, async (event) => (seen.push(...event.Items), null), { store });
    expect(result.status).toBe('SUCCEEDED');
    expect(events.filter((e) => e.type === 'mapRunStarted')).toEqual([{ type: 'mapRunStarted', state: 'Run', totalItems: 23, batches: 6 }]);
    expect(seen.map((item) => decodeInventoryKey(item.key))).toEqual(keys);
    expect(seen.map((item) => item.index)).toEqual(keys.map((_, i) => i));
    const dataKeys = built.files.filter((f) => f.key.endsWith('.csv.gz')).map((f) => f.key);
    expect(store.wholeReads.filter((key) => dataKeys.includes(key))).toEqual([]);
    // Each data file streamed twice, in chunks.
    expect(store.streamed).toBe(2 * built.files.filter((f) => f.key.endsWith('.csv.gz')).reduce((sum, f) => sum + Math.ceil(f.body.byteLength / 50), 0));
  });

  it('from ItemsPath: one child per item, ItemSelector in the parent context, outputs in item order', async () => {
    const definition = distributed(
      { ItemsPath: '$.photos', ItemSelector: { 'photo.$': '$$.Map.Item.Value', 'index.$': '$$.Map.Item.Index', 'parent.$': '$$.Execution.Name' } },
      { Parameters: { 'photo.$': '$.photo', 'index.$': '$.index', 'parent.$': '$.parent', 'child.$': '$$.Execution.Name', 'childArn.$': '$$.Execution.Id', 'machine.$': '$$.StateMachine.Id' } },
    );
    const { result, events } = await run(definition, { photos: ['a', 'b', 'c', 'd', 'e'] }, async (event) => (await sleep((5 - event.index) * 3), event));
    expect(result.status).toBe('SUCCEEDED');
    const outputs = result.output as Array<Record<string, string>>;
    expect(outputs.map((o) => o.photo)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(outputs.every((o) => o.parent === 'parent-run')).toBe(true);
    expect(new Set(outputs.map((o) => o.child)).size).toBe(5);
    for (const o of outputs) {
      expect(o.child).toMatch(new RegExp(`^${UUID}$`));
      expect(o.childArn).toMatch(new RegExp(`^arn:aws:states:local:000000000000:execution:photo-scaler-migrate-local/${UUID}:${o.child}$`));
      expect(o.machine).toBe('arn:aws:states:local:000000000000:stateMachine:photo-scaler-migrate-local/Run');
    }
    expect(events.filter((e) => e.type === 'mapRunStarted')).toEqual([{ type: 'mapRunStarted', state: 'Run', totalItems: 5, batches: 5 }]);
    expect(events.filter((e) => e.type === 'childSucceeded')).toHaveLength(5);
  });

  it('from an ItemReader with InputType JSON, capped by MaxItems', async () => {
    const store = new MemoryStore();
    await store.put({ bucket: 'in', key: 'items.json' }, Buffer.from(JSON.stringify([{ n: 1 }, { n: 2 }, { n: 3 }])), {});
    const definition = distributed({
      ItemReader: { Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'JSON', MaxItems: 2 }, Parameters: { Bucket: 'in', 'Key.$': '$.key' } },
    });
    const { result } = await run(definition, { key: 'items.json' }, async (e) => e.n * 10, { store });
    expect(result.output).toEqual([10, 20]);
  });

  it('from an ItemReader with InputType CSV (header in the first row)', async () => {
    const store = new MemoryStore();
    await store.put({ bucket: 'in', key: 'items.csv' }, Buffer.from('name,size\r\n"a, b",1\nc,2\n'), {});
    const definition = distributed({ ItemReader: { Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'CSV', CSVHeaderLocation: 'FIRST_ROW' }, Parameters: { Bucket: 'in', Key: 'items.csv' } } });
    const { result } = await run(definition, {}, async (e) => e, { store });
    expect(result.output).toEqual([{ name: 'a, b', size: '1' }, { name: 'c', size: '2' }]);
  });

  it('an ItemReader that cannot read is States.ItemReaderFailed, which the Map can catch', async () => {
    const definition = distributed({ ItemReader: { Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'JSON' }, Parameters: { Bucket: 'in', Key: 'missing.json' } } });
    const { result } = await run(definition, {}, async (e) => e);
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.ItemReaderFailed', cause: expect.stringMatching(/s3:\/\/in\/missing.json/) });
    const caught = structuredClone(definition) as any;
    caught.States.Run.Catch = [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Failed' }];
    caught.States.Failed = { Type: 'Pass', End: true };
    expect((await run(caught, { a: 1 }, async (e) => e)).result.output).toMatchObject({ a: 1, error: { Error: 'States.ItemReaderFailed' } });
  });
});

describe('ItemBatcher', () => {
  const context: ContextObject = { Execution: { Id: 'arn', Name: 'run-1', StartTime: '', Input: {} }, StateMachine: { Id: 'sm', Name: 'sm' } };
  const items = Array.from({ length: 23 }, (_, i) => ({ key: `photo-${i}.jpg`, size: String(i * 1000) }));

  it('groups MaxItemsPerBatch items with BatchInput into {BatchInput, Items}', () => {
    const batches = batchItems(items, { MaxItemsPerBatch: 10, BatchInput: { 'runId.$': '$$.Execution.Name', fixed: 1 } }, {}, context);
    expect(batches.map((b) => b.items)).toEqual([10, 10, 3]);
    expect(batches[2]!.input).toEqual({ BatchInput: { runId: 'run-1', fixed: 1 }, Items: items.slice(20) });
    expect(batchItems(items.slice(0, 2), { MaxItemsPerBatch: 5 }, {}, context)[0]!.input).toEqual({ Items: items.slice(0, 2) });
  });

  it('keeps every child input within MaxInputBytesPerBatch, filling each batch as far as it goes', () => {
    const limit = 200;
    const batches = batchItems(items, { MaxInputBytesPerBatch: limit, BatchInput: { runId: 'r' } }, {}, context);
    const flat = batches.flatMap((b) => (b.input as { Items: unknown[] }).Items);
    expect(flat).toEqual(items);
    batches.forEach((batch, index) => {
      const bytes = Buffer.byteLength(JSON.stringify(batch.input));
      expect(bytes).toBeLessThanOrEqual(limit);
      const next = batches[index + 1];
      if (next) {
        const grown = { ...(batch.input as object), Items: [...(batch.input as { Items: unknown[] }).Items, (next.input as { Items: unknown[] }).Items[0]] };
        expect(Buffer.byteLength(JSON.stringify(grown))).toBeGreaterThan(limit);
      }
    });
  });

  it('counts bytes of multi-byte characters, and gives an oversized item a batch of its own', () => {
    const wide = [{ k: 'ü'.repeat(40) }, { k: 'ü'.repeat(40) }, { k: 'x'.repeat(500) }, { k: 'y' }];
    const batches = batchItems(wide, { MaxInputBytesPerBatch: 120 }, {}, context);
    expect(batches.map((b) => b.items)).toEqual([1, 1, 1, 1]);
    expect(batchItems(wide.slice(0, 2), { MaxInputBytesPerBatch: 200 }, {}, context).map((b) => b.items)).toEqual([2]);
  });

  it('without an ItemBatcher every item is its own child input', () => {
    expect(batchItems([1, 2], undefined, {}, context)).toEqual([
      { input: 1, items: 1 },
      { input: 2, items: 1 },
    ]);
  });
});

describe('MaxConcurrency', () => {
  it.each([
    [3, 3],
    [0, 12],
  ])('MaxConcurrency %i: at most %i children at once', async (maxConcurrency, expected) => {
    let inFlight = 0;
    let peak = 0;
    const definition = distributed({ ItemsPath: '$.items', MaxConcurrency: maxConcurrency });
    const { result } = await run(definition, { items: Array.from({ length: 12 }, (_, i) => i) }, async (i) => {
      peak = Math.max(peak, ++inFlight);
      await sleep(5 + (i % 3) * 2);
      inFlight--;
      return i;
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(peak).toBe(expected);
  });
});

describe('tolerated failures', () => {
  it('exceedsTolerance: none by default; a count; a percentage without rounding errors; either of both', () => {
    expect(exceedsTolerance(0, 10, {})).toBe(false);
    expect(exceedsTolerance(1, 10, {})).toBe(true);
    expect(exceedsTolerance(2, 10, { count: 2 })).toBe(false);
    expect(exceedsTolerance(3, 10, { count: 2 })).toBe(true);
    expect(exceedsTolerance(29, 100, { percentage: 29 })).toBe(false); // 0.29 * 100 is 28.999… in floating point
    expect(exceedsTolerance(30, 100, { percentage: 29 })).toBe(true);
    expect(exceedsTolerance(1, 23, { percentage: 5 })).toBe(false);
    expect(exceedsTolerance(2, 23, { percentage: 5 })).toBe(true);
    expect(exceedsTolerance(23, 23, { percentage: 100 })).toBe(false);
    expect(exceedsTolerance(2, 10, { count: 1, percentage: 50 })).toBe(true);
    expect(exceedsTolerance(2, 10, { count: 5, percentage: 10 })).toBe(true);
    expect(exceedsTolerance(1, 10, { count: 5, percentage: 10 })).toBe(false);
  });

  const failing = (bad: ReadonlySet<number>) => async (i: number) => {
    if (bad.has(i)) throw new PhotoError(`item ${i}`);
    return i;
  };
  const items = { items: Array.from({ length: 10 }, (_, i) => i) };

  it('ToleratedFailureCount: the Map succeeds up to it, and fails past it', async () => {
    const definition = distributed({ ItemsPath: '$.items', ToleratedFailureCount: 2 });
    const ok = await run(definition, items, failing(new Set([3, 7])));
    expect(ok.result.status).toBe('SUCCEEDED');
    expect((ok.result.output as unknown[])[3]).toMatchObject({ Status: 'FAILED', Error: 'PhotoError' });
    expect(ok.events.filter((e) => e.type === 'childFailed')).toEqual([
      { type: 'childFailed', items: 1, error: 'PhotoError', execution: expect.stringContaining(':execution:') },
      { type: 'childFailed', items: 1, error: 'PhotoError', execution: expect.stringContaining(':execution:') },
    ]);
    const failed = await run(definition, items, failing(new Set([1, 3, 7])));
    expect(failed.result).toMatchObject({ status: 'FAILED', error: 'States.ExceedToleratedFailureThreshold', cause: expect.stringMatching(/3 of 10 items failed/) });
  });

  it('ToleratedFailurePercentage counts items: a failed batch counts all its items', async () => {
    const definition = distributed({ ItemsPath: '$.items', ToleratedFailurePercentage: 20, ItemBatcher: { MaxItemsPerBatch: 3 } });
    // Batches [0,1,2] [3,4,5] [6,7,8] [9]: the last one failing is 1 item of 10 (10%); one of 3 items is 30%.
    const work = (badItem: number) => async (batch: { Items: number[] }) => {
      if (batch.Items.includes(badItem)) throw new PhotoError('batch failed');
      return batch.Items;
    };
    expect((await run(definition, items, work(9))).result.status).toBe('SUCCEEDED');
    expect((await run(definition, items, work(4))).result).toMatchObject({ status: 'FAILED', error: 'States.ExceedToleratedFailureThreshold' });
  });

  it('with both thresholds, exceeding either fails the Map', async () => {
    const definition = distributed({ ItemsPath: '$.items', ToleratedFailurePercentage: 50, ToleratedFailureCount: 1 });
    expect((await run(definition, items, failing(new Set([1, 2])))).result.error).toBe('States.ExceedToleratedFailureThreshold');
  });
});

describe('ResultWriter', () => {
  it('streams: a file per 100 child records is written while the Map Run goes on, in item order; the manifest lists them all', async () => {
    const definition = distributed({
      ItemsPath: '$.items',
      MaxConcurrency: 1,
      ResultWriter: { Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: 'results', Prefix: 'runs' } },
    });
    const store = new MemoryStore();
    let writtenBeforeTheLast: string[] = [];
    const items = Array.from({ length: 230 }, (_, i) => i);
    const { result } = await run(definition, { items }, async (item: number) => {
      if (item === 229) writtenBeforeTheLast = store.keys('results');
      return item * 2;
    }, { store });
    expect(result.status).toBe('SUCCEEDED');
    // Two full files were written before the last child ran: the records were not held to the end.
    expect(writtenBeforeTheLast.map((key) => key.replace(/^runs\/[^/]+\//, ''))).toEqual(['SUCCEEDED_0.json', 'SUCCEEDED_1.json']);
    const manifest = await json(store, 'results', (result.output as { ResultWriterDetails: { Key: string } }).ResultWriterDetails.Key);
    expect(manifest.ResultFiles.SUCCEEDED.map((file: { Key: string }) => file.Key.replace(/^runs\/[^/]+\//, ''))).toEqual(['SUCCEEDED_0.json', 'SUCCEEDED_1.json', 'SUCCEEDED_2.json']);
    const outputs: number[] = [];
    for (const file of manifest.ResultFiles.SUCCEEDED) for (const child of await json(store, 'results', file.Key)) outputs.push(JSON.parse(child.Output));
    expect(outputs).toEqual(items.map((i) => i * 2));
  });

  it('writes manifest.json and SUCCEEDED_0.json / FAILED_0.json in the shape Step Functions does, and returns {MapRunArn, ResultWriterDetails}', async () => {
    const definition = distributed({
      ItemsPath: '$.items',
      Label: 'Photos',
      ItemBatcher: { MaxItemsPerBatch: 2, BatchInput: { 'runId.$': '$$.Execution.Name' } },
      ToleratedFailureCount: 5,
      ResultWriter: { Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: { Ref: 'ResultsBucket' }, 'Prefix.$': '$.prefix' } },
    });
    const { result, store } = await run(definition, { items: [1, 2, 3, 4, 5], prefix: 'runs/' }, async (batch: { Items: number[] }) => {
      if (batch.Items.includes(3)) throw new PhotoError('three is bad');
      return batch.Items.map((i) => i * 10);
    });
    expect(result.status).toBe('SUCCEEDED');
    const output = result.output as { MapRunArn: string; ResultWriterDetails: { Bucket: string; Key: string } };
    expect(Object.keys(output)).toEqual(['MapRunArn', 'ResultWriterDetails']);
    const mapRunId = new RegExp(`^arn:aws:states:local:000000000000:mapRun:photo-scaler-migrate-local/Photos:(${UUID})$`).exec(output.MapRunArn)![1]!;
    expect(output.ResultWriterDetails).toEqual({ Bucket: 'results', Key: `runs/${mapRunId}/manifest.json` });
    expect(store.keys('results')).toEqual([`runs/${mapRunId}/FAILED_0.json`, `runs/${mapRunId}/SUCCEEDED_0.json`, `runs/${mapRunId}/manifest.json`]);

    const manifest = await json(store, 'results', output.ResultWriterDetails.Key);
    expect(Object.keys(manifest)).toEqual(['DestinationBucket', 'MapRunArn', 'ResultFiles']);
    expect(Object.keys(manifest.ResultFiles)).toEqual(['FAILED', 'PENDING', 'SUCCEEDED']);
    const size = async (key: string) => (await store.head({ bucket: 'results', key }))!.size;
    expect(manifest).toEqual({
      DestinationBucket: 'results',
      MapRunArn: output.MapRunArn,
      ResultFiles: {
        FAILED: [{ Key: `runs/${mapRunId}/FAILED_0.json`, Size: await size(`runs/${mapRunId}/FAILED_0.json`) }],
        PENDING: [],
        SUCCEEDED: [{ Key: `runs/${mapRunId}/SUCCEEDED_0.json`, Size: await size(`runs/${mapRunId}/SUCCEEDED_0.json`) }],
      },
    });

    const succeeded = await json(store, 'results', manifest.ResultFiles.SUCCEEDED[0].Key);
    expect(succeeded).toHaveLength(2);
    for (const child of succeeded) {
      expect(Object.keys(child)).toEqual(['ExecutionArn', 'Input', 'InputDetails', 'Name', 'Output', 'OutputDetails', 'RedriveCount', 'RedriveStatus', 'StartDate', 'StateMachineArn', 'Status', 'StopDate']);
      expect(child).toMatchObject({
        ExecutionArn: `arn:aws:states:local:000000000000:execution:photo-scaler-migrate-local/${mapRunId}:${child.Name}`,
        InputDetails: { Included: true },
        OutputDetails: { Included: true },
        RedriveCount: 0,
        RedriveStatus: 'NOT_REDRIVABLE',
        StateMachineArn: 'arn:aws:states:local:000000000000:stateMachine:photo-scaler-migrate-local/Photos',
        Status: 'SUCCEEDED',
      });
      expect(Date.parse(child.StopDate)).toBeGreaterThanOrEqual(Date.parse(child.StartDate));
      const input = JSON.parse(child.Input);
      expect(input.BatchInput).toEqual({ runId: 'parent-run' });
      expect(JSON.parse(child.Output)).toEqual(input.Items.map((i: number) => i * 10));
    }
    expect(succeeded.flatMap((c: { Input: string }) => JSON.parse(c.Input).Items).sort()).toEqual([1, 2, 5]);

    const [failed] = await json(store, 'results', manifest.ResultFiles.FAILED[0].Key);
    expect(Object.keys(failed)).toEqual(['Cause', 'Error', 'ExecutionArn', 'Input', 'InputDetails', 'Name', 'RedriveCount', 'RedriveStatus', 'StartDate', 'StateMachineArn', 'Status', 'StopDate']);
    expect(failed).toMatchObject({ Error: 'PhotoError', Status: 'FAILED' });
    expect(JSON.parse(failed.Cause)).toMatchObject({ errorType: 'PhotoError', errorMessage: 'three is bad' });
    expect(JSON.parse(failed.Input).Items).toEqual([3, 4]);
  });

  it('once the threshold is exceeded no child starts: the rest are written as PENDING and the Map fails', async () => {
    const definition = distributed({
      ItemsPath: '$.items',
      MaxConcurrency: 1,
      ResultWriter: { Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: 'results', Prefix: 'runs' } },
    });
    let calls = 0;
    const { result, store } = await run(definition, { items: [1, 2, 3, 4] }, async (i) => {
      calls++;
      if (i === 2) throw new PhotoError('two');
      return i;
    });
    expect(calls).toBe(2);
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.ExceedToleratedFailureThreshold', cause: expect.stringMatching(/1 of 4 items failed .*tolerates \(no failure\)/) });
    const [manifestKey] = store.keys('results').filter((key) => key.endsWith('manifest.json'));
    const manifest = await json(store, 'results', manifestKey!);
    expect(manifest.ResultFiles.SUCCEEDED).toHaveLength(1);
    expect(manifest.ResultFiles.FAILED).toHaveLength(1);
    const pending = await json(store, 'results', manifest.ResultFiles.PENDING[0].Key);
    expect(pending).toEqual([
      { Input: '3', InputDetails: { Included: true }, Status: 'PENDING' },
      { Input: '4', InputDetails: { Included: true }, Status: 'PENDING' },
    ]);
  });

  it('a store that refuses the write is States.ResultWriterFailed', async () => {
    const store = new MemoryStore();
    store.put = async () => {
      throw new Error('AccessDenied');
    };
    const definition = distributed({ ItemsPath: '$.items', ResultWriter: { Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: 'results' } } });
    const { result } = await run(definition, { items: [1] }, async (i) => i, { store });
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.ResultWriterFailed', cause: expect.stringMatching(/AccessDenied/) });
  });
});

describe('validation of Distributed Map fields', () => {
  it.each([
    [{ ItemReader: { Resource: 'arn:aws:states:::s3:listObjectsV2', Parameters: { Bucket: 'b' } } }, /ItemReader Resource .* is not supported locally/],
    [{ ItemReader: { Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'PARQUET' }, Parameters: { Bucket: 'b', Key: 'k' } } }, /InputType "PARQUET" is not supported locally/],
    [{ ItemsPath: '$.x', ItemReader: { Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'JSON' }, Parameters: { Bucket: 'b', Key: 'k' } } }, /ItemsPath and ItemReader cannot be used together/],
    [{ ItemBatcher: { BatchInput: {} } }, /ItemBatcher needs MaxItemsPerBatch or MaxInputBytesPerBatch/],
    [{ ResultWriter: { Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: 'b' }, WriterConfig: { Transformation: 'FLATTEN' } } }, /WriterConfig .* is not supported locally/],
    [{ ResultWriter: { Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: { Ref: 'Nope' } } } }, /\{"Ref": "Nope"\} has no local value/],
    [{ ToleratedFailurePercentage: 150 }, /ToleratedFailurePercentage must be a number from 0 to 100/],
  ])('%j', async (fields, message) => {
    const attempt = run(distributed(fields), {}, async (e) => e);
    await expect(attempt).rejects.toThrow(InvalidDefinition);
    await expect(attempt).rejects.toThrow(message);
  });

  it('refuses Distributed Map fields on an inline Map', async () => {
    const inline = distributed({ ItemsPath: '$.x', ToleratedFailureCount: 1 }) as any;
    inline.States.Run.ItemProcessor.ProcessorConfig = { Mode: 'INLINE' };
    await expect(run(inline, {}, async (e) => e)).rejects.toThrow(/ToleratedFailureCount needs ProcessorConfig.Mode DISTRIBUTED/);
  });
});
