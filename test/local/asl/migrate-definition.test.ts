/** The real statemachines/migrate.asl.yaml, run end to end by the local executor with recording fake Lambdas. */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ContentBusy, PhotoError, TransientError } from '../../../src/core/errors';
import { decodeInventoryKey, encodeInventoryKey } from '../../../src/core/inventory/keys';
import { buildInventoryReport } from '../../../src/local/inventory-writer';
import type { InventoryItem, ItemEvent, ItemOutcome } from '../../../src/core/item';
import { type ExecutionEvent, loadDefinition, startExecution, type StateMachineDefinition } from '../../../src/local/asl';
import { MemoryStore } from '../../helpers/memory-store';

const STATE_MACHINE_FILE = fileURLToPath(new URL('../../../statemachines/migrate.asl.yaml', import.meta.url));
const KEYS = Array.from({ length: 23 }, (_, i) => (i === 4 ? 'dup copy.jpg' : i === 5 ? 'a b/ü+%25 x.jpg' : i === 6 ? '100%.jpg' : i === 7 ? 'c++.png' : `photo ${i}+ü.jpg`));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const json = async (store: MemoryStore, bucket: string, key: string) => JSON.parse(Buffer.from((await store.get({ bucket, key })).body).toString('utf8'));

async function inventory(store: MemoryStore, keys: readonly string[]) {
  const report = buildInventoryReport({
    sourceBucket: 'source',
    destinationBucket: 'inventory',
    prefix: 'inv',
    objects: keys.map((key, i) => ({ key, size: 1000 + i, etag: `etag${i}`, lastModified: new Date('2026-01-01T00:00:00Z') })),
    now: new Date('2026-11-24T10:00:00Z'),
    rowsPerFile: 7,
  });
  for (const file of report.files) await store.put({ bucket: 'inventory', key: file.key }, file.body, {});
  return report;
}

type Step = 'dedupe' | 'resize' | 'recordFailure';
type Behaviour = (step: Step, key: string, call: number, event: ItemEvent) => void | Promise<void>;

/** FindUnchanged's fake: marks the keys of `unchanged` (or throws, when told to). */
interface Triage {
  unchanged?: ReadonlySet<string>;
  fail?: boolean;
}

function fakes(behaviour: Behaviour, triage: Triage = {}) {
  const calls: Record<Step, ItemEvent[]> = { dedupe: [], resize: [], recordFailure: [] };
  const batches: Array<{ items: InventoryItem[]; runId: string }> = [];
  const step = (name: Step, status: (e: ItemEvent) => ItemOutcome['status']) => async (event: ItemEvent): Promise<ItemOutcome> => {
    const key = decodeInventoryKey(event.item.key);
    calls[name].push(event);
    await behaviour(name, key, calls[name].filter((e) => e.item.key === event.item.key).length, event);
    return { key, status: status(event), written: { assets: 0, pointers: 0, catalogRows: 0 }, ...(event.error ? { errorType: event.error.Error } : {}) };
  };
  return {
    calls,
    keys: (name: Step) => calls[name].map((e) => decodeInventoryKey(e.item.key)),
    batches,
    tasks: {
      findUnchanged: async (event: { items: InventoryItem[]; runId: string }) => {
        batches.push(event);
        if (triage.fail) throw Object.assign(new Error('the catalog read failed'), { name: 'TransientError' });
        return event.items.map((item) => {
          const key = decodeInventoryKey(item.key);
          return triage.unchanged?.has(key) ? { ...item, unchanged: { key, status: 'unchanged', written: { assets: 0, pointers: 0, catalogRows: 0 } } } : item;
        });
      },
      dedupe: step('dedupe', (e) => (decodeInventoryKey(e.item.key).startsWith('dup') ? 'duplicate' : 'needs-resize')),
      resize: step('resize', () => 'resized'),
      recordFailure: step('recordFailure', () => 'failed'),
    },
  };
}

async function execute(behaviour: Behaviour = () => {}, options: { keys?: readonly string[]; patch?: (definition: any) => void; random?: () => number; triage?: Triage } = {}) {
  const store = new MemoryStore();
  const report = await inventory(store, options.keys ?? KEYS);
  const definition = await loadDefinition(STATE_MACHINE_FILE);
  options.patch?.(definition);
  const recorded = fakes(behaviour, options.triage);
  const events: ExecutionEvent[] = [];
  const result = await startExecution({
    definition,
    name: 'run-test',
    input: { manifest: { bucket: 'inventory', key: report.manifestKey } },
    tasks: recorded.tasks as unknown as Record<string, (event: unknown) => Promise<unknown>>,
    intrinsics: { LibraryBucket: 'library' },
    store,
    timeScale: 0,
    random: options.random ?? (() => 0.5),
    onEvent: (event) => events.push(event),
  });
  return { result, events, store, report, ...recorded };
}

interface RunOutput {
  MapRunArn: string;
  ResultWriterDetails: { Bucket: string; Key: string };
}

async function resultFiles(store: MemoryStore, output: RunOutput) {
  const manifest = await json(store, 'library', output.ResultWriterDetails.Key);
  const read = async (status: 'SUCCEEDED' | 'FAILED' | 'PENDING') =>
    (await Promise.all((manifest.ResultFiles[status] as Array<{ Key: string }>).map((file) => json(store, 'library', file.Key)))).flat() as Array<Record<string, any>>;
  return { manifest, succeeded: await read('SUCCEEDED'), failed: await read('FAILED'), pending: await read('PENDING') };
}

describe('migrate.asl.yaml, run locally', () => {
  it('reads the inventory, batches 8 items per child, runs Dedupe → NeedsResize → Resize, and writes the results', async () => {
    const { result, events, store, keys, calls } = await execute();
    expect(result.status).toBe('SUCCEEDED');
    expect(keys('dedupe').sort()).toEqual([...KEYS].sort());
    expect(keys('resize').sort()).toEqual(KEYS.filter((k) => k !== 'dup copy.jpg').sort());
    expect(calls.recordFailure).toEqual([]);

    const first = calls.dedupe.find((e) => decodeInventoryKey(e.item.key) === 'a b/ü+%25 x.jpg')!;
    expect(first).toEqual({ item: { bucket: 'source', key: encodeInventoryKey('a b/ü+%25 x.jpg'), size: '1005', etag: 'etag5' }, runId: 'run-test', retryCount: 0 });
    expect(calls.resize[0]).toMatchObject({ runId: 'run-test', outcome: { status: 'needs-resize' } });

    expect(events.filter((e) => e.type === 'mapRunStarted')).toEqual([{ type: 'mapRunStarted', state: 'ProcessInventory', totalItems: 23, batches: 3 }]);
    expect(events.filter((e) => e.type === 'childSucceeded').map((e) => (e as { items: number }).items).sort()).toEqual([7, 8, 8]);

    const output = result.output as RunOutput;
    expect(output.MapRunArn).toMatch(/^arn:aws:states:local:000000000000:mapRun:photo-scaler-migrate-local\/ProcessInventory:[0-9a-f-]{36}$/);
    expect(output.ResultWriterDetails).toEqual({ Bucket: 'library', Key: `runs/${output.MapRunArn.split(':').pop()}/manifest.json` });
    const { manifest, succeeded, failed, pending } = await resultFiles(store, output);
    expect(manifest).toMatchObject({ DestinationBucket: 'library', MapRunArn: output.MapRunArn, ResultFiles: { FAILED: [], PENDING: [] } });
    expect(failed).toEqual([]);
    expect(pending).toEqual([]);
    expect(succeeded).toHaveLength(3);
    const outcomes = succeeded.flatMap((child) => JSON.parse(child.Output) as ItemOutcome[]);
    expect(outcomes.map((o) => o.key).sort()).toEqual([...KEYS].sort());
    expect(outcomes.find((o) => o.key === 'dup copy.jpg')!.status).toBe('duplicate');
    expect(outcomes.filter((o) => o.status === 'resized')).toHaveLength(22);
    for (const child of succeeded) {
      const input = JSON.parse(child.Input);
      expect(input.BatchInput).toEqual({ runId: 'run-test' });
      expect(JSON.parse(child.Output).map((o: ItemOutcome) => o.key)).toEqual(input.Items.map((i: { key: string }) => decodeInventoryKey(i.key)));
    }
  });

  it('asks FindUnchanged once per batch; the photos it marks end with its outcome and never reach Dedupe', async () => {
    const unchanged = new Set(KEYS.filter((_, i) => i % 3 !== 0));
    const { result, store, keys, batches } = await execute(() => {}, { triage: { unchanged } });
    expect(result.status).toBe('SUCCEEDED');
    expect(batches.map((batch) => batch.items.length).sort()).toEqual([7, 8, 8]);
    expect(batches.every((batch) => batch.runId === 'run-test')).toBe(true);
    expect(keys('dedupe').sort()).toEqual(KEYS.filter((key) => !unchanged.has(key)).sort());
    const outcomes = (await resultFiles(store, result.output as RunOutput)).succeeded.flatMap((child) => JSON.parse(child.Output) as ItemOutcome[]);
    expect(outcomes.filter((o) => o.status === 'unchanged').map((o) => o.key).sort()).toEqual([...unchanged].sort());
    expect(outcomes).toHaveLength(KEYS.length);
  });

  it('sends the whole batch to Dedupe when FindUnchanged fails (after its retries): never a verdict of its own', async () => {
    const { result, keys, batches } = await execute(() => {}, { triage: { fail: true } });
    expect(result.status).toBe('SUCCEEDED');
    // 3 batches, each tried 1 + 2 times (its Retry on TransientError).
    expect(batches).toHaveLength(9);
    expect(keys('dedupe').sort()).toEqual([...KEYS].sort());
  });

  it('retries a TransientError with backoff, and sends a PhotoError through RecordFailure while the batch goes on', async () => {
    const { result, events, store, keys, calls } = await execute((step, key, call) => {
      if (step === 'resize' && key === 'photo 8+ü.jpg') throw new PhotoError('corrupt', 'cannot decode');
      if (step === 'dedupe' && key === 'photo 9+ü.jpg' && call <= 2) throw new TransientError('SlowDown');
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(keys('dedupe').filter((k) => k === 'photo 9+ü.jpg')).toHaveLength(3);
    expect(calls.dedupe.filter((e) => decodeInventoryKey(e.item.key) === 'photo 9+ü.jpg').map((e) => e.retryCount)).toEqual([0, 1, 2]);
    // IntervalSeconds 1, BackoffRate 2, JitterStrategy FULL with random() = 0.5.
    expect(events.filter((e) => e.type === 'retry')).toEqual([
      { type: 'retry', state: 'Dedupe', error: 'TransientError', attempt: 1, delayMs: 500 },
      { type: 'retry', state: 'Dedupe', error: 'TransientError', attempt: 2, delayMs: 1000 },
    ]);
    expect(keys('recordFailure')).toEqual(['photo 8+ü.jpg']);
    const recorded = calls.recordFailure[0]!;
    expect(recorded.error!.Error).toBe('PhotoError');
    // Built as Lambda's Node.js runtime builds it: name, message and stack only, the reason in the message's mark.
    const cause = JSON.parse(recorded.error!.Cause!);
    expect(Object.keys(cause)).toEqual(['errorType', 'errorMessage', 'trace']);
    expect(cause).toMatchObject({ errorType: 'PhotoError', errorMessage: '[corrupt] cannot decode', trace: expect.any(Array) });
    expect(recorded.outcome).toMatchObject({ status: 'needs-resize' }); // Dedupe's outcome, kept beside the error
    expect(keys('resize')).toHaveLength(22);

    const { succeeded } = await resultFiles(store, result.output as RunOutput);
    const outcomes = succeeded.flatMap((child) => JSON.parse(child.Output) as ItemOutcome[]);
    expect(outcomes.find((o) => o.key === 'photo 8+ü.jpg')).toMatchObject({ status: 'failed', errorType: 'PhotoError' });
    expect(outcomes).toHaveLength(23);
  });

  it('waits out a ContentBusy twin with its own retrier, telling Dedupe how often it was retried', async () => {
    const { result, events, calls } = await execute((step, key, call) => {
      if (step === 'dedupe' && key === 'photo 3+ü.jpg' && call <= 4) throw new ContentBusy('twin is rendering');
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(calls.dedupe.filter((e) => decodeInventoryKey(e.item.key) === 'photo 3+ü.jpg').map((e) => e.retryCount)).toEqual([0, 1, 2, 3, 4]);
    // IntervalSeconds 2, BackoffRate 1.5, MaxDelaySeconds 10, FULL jitter × 0.5.
    expect(events.filter((e) => e.type === 'retry').map((e) => (e as { delayMs: number }).delayMs)).toEqual([1000, 1500, 2250, 3375]);
  });

  it('fails with States.ExceedToleratedFailureThreshold when a child fails (8 of 23 items > 5%), writing FAILED_0.json', async () => {
    const { result, events, store, keys } = await execute((step, key) => {
      if (step === 'resize' && key === 'photo 12+ü.jpg') throw new PhotoError('corrupt', 'bad');
      if (step === 'recordFailure') throw new Error('catalog is down');
    });
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.ExceedToleratedFailureThreshold', cause: expect.stringMatching(/8 of 23 items failed/) });
    expect(keys('recordFailure')).toHaveLength(5); // RecordFailure's States.ALL retrier: 4 retries
    expect(events.filter((e) => e.type === 'childFailed')).toEqual([{ type: 'childFailed', items: 8, error: 'Error', execution: expect.stringContaining(':execution:') }]);
    const manifestKey = store.keys('library').find((key) => key.endsWith('/manifest.json'))!;
    const manifest = await json(store, 'library', manifestKey);
    const [failed] = await json(store, 'library', manifest.ResultFiles.FAILED[0].Key);
    expect(failed).toMatchObject({ Status: 'FAILED', Error: 'Error' });
    expect(JSON.parse(failed.Cause)).toMatchObject({ errorMessage: 'catalog is down' });
    expect(JSON.parse(failed.Input).Items.map((i: { key: string }) => decodeInventoryKey(i.key))).toContain('photo 12+ü.jpg');
    expect(manifest.ResultFiles.SUCCEEDED).toHaveLength(1);
    expect(await json(store, 'library', manifest.ResultFiles.SUCCEEDED[0].Key)).toHaveLength(2);
  });

  it('retries a timed-out attempt once (States.Timeout after TimeoutSeconds, Sandbox.Timedout from Lambda), then records the photo FAILED', async () => {
    const timedOut = () => Object.assign(new Error('Task timed out after 60.00 seconds'), { name: 'Sandbox.Timedout' });
    const { result, events, calls } = await execute(
      async (step, key, call) => {
        if (step !== 'resize') return;
        if (key === 'photo 1+ü.jpg' && call === 1) await sleep(1300); // slow once, then fine
        if (key === 'photo 2+ü.jpg') await sleep(1300); // slow every time
        if (key === 'photo 3+ü.jpg') throw timedOut();
      },
      // The smallest TimeoutSeconds there is (a positive integer; asl-validator refuses a fraction).
      { patch: (d) => (d.States.ProcessInventory.ItemProcessor.States.EachPhoto.ItemProcessor.States.Resize.TimeoutSeconds = 1) },
    );
    expect(result.status).toBe('SUCCEEDED');
    const resizes = (key: string) => calls.resize.filter((e) => decodeInventoryKey(e.item.key) === key).length;
    expect([resizes('photo 1+ü.jpg'), resizes('photo 2+ü.jpg'), resizes('photo 3+ü.jpg')]).toEqual([2, 2, 2]);
    expect(calls.recordFailure.map((e) => [decodeInventoryKey(e.item.key), e.error!.Error]).sort()).toEqual([
      ['photo 2+ü.jpg', 'States.Timeout'],
      ['photo 3+ü.jpg', 'Sandbox.Timedout'],
    ]);
    expect(events.filter((e) => e.type === 'retry' && e.state === 'Resize').map((e) => (e as { error: string }).error).sort()).toEqual(['Sandbox.Timedout', 'States.Timeout', 'States.Timeout']);
  });

  /** A task that takes a few ms and remembers how many calls ran at once at most. */
  function concurrencyProbe() {
    let inFlight = 0;
    let peak = 0;
    return {
      task: async () => {
        peak = Math.max(peak, ++inFlight);
        await sleep(3);
        inFlight--;
      },
      peak: () => peak,
    };
  }

  it('never runs more photos of a batch at once than EachPhoto\'s MaxConcurrency', async () => {
    const probe = concurrencyProbe();
    const { result } = await execute(
      probe.task,
      { patch: (d) => (d.States.ProcessInventory.MaxConcurrency = 1) },
    );
    expect(result.status).toBe('SUCCEEDED');
    expect(probe.peak()).toBe(8);
  });

  it('never runs more children at once than the Map\'s MaxConcurrency', async () => {
    const probe = concurrencyProbe();
    const { result } = await execute(
      probe.task,
      {
        patch: (d) => {
          d.States.ProcessInventory.MaxConcurrency = 2;
          d.States.ProcessInventory.ItemBatcher.MaxItemsPerBatch = 1;
          d.States.ProcessInventory.ItemProcessor.States.EachPhoto.MaxConcurrency = 1;
        },
      },
    );
    expect(result.status).toBe('SUCCEEDED');
    expect(probe.peak()).toBe(2);
  });

  it('refuses a report whose manifest does not match its checksum, or whose data file was altered, before running any item', async () => {
    for (const spoil of ['checksum', 'data'] as const) {
      const store = new MemoryStore();
      const report = await inventory(store, KEYS);
      if (spoil === 'checksum') await store.put({ bucket: 'inventory', key: report.checksumKey }, Buffer.from('0'.repeat(32)), {});
      else await store.put({ bucket: 'inventory', key: report.files[1]!.key }, Buffer.from(report.files[0]!.body), {});
      const { tasks, calls } = fakes(() => {});
      const result = await startExecution({
        definition: await loadDefinition(STATE_MACHINE_FILE),
        input: { manifest: { bucket: 'inventory', key: report.manifestKey } },
        tasks: tasks as unknown as Record<string, (event: unknown) => Promise<unknown>>,
        intrinsics: { LibraryBucket: 'library' },
        store,
        timeScale: 0,
      });
      expect(result).toMatchObject({ status: 'FAILED', error: 'States.ItemReaderFailed', cause: expect.stringMatching(spoil === 'checksum' ? /manifest.checksum/ : /the manifest says|does not match the manifest/) });
      expect(calls.dedupe).toEqual([]);
      expect(store.keys('library')).toEqual([]);
    }
  });

  it('runs the file as written: aliases resolved into independent copies, the loaded definition left unchanged', async () => {
    const definition = (await loadDefinition(STATE_MACHINE_FILE)) as StateMachineDefinition & { States: Record<string, any> };
    const inner = definition.States.ProcessInventory.ItemProcessor.States.EachPhoto.ItemProcessor.States;
    // Resize shares Dedupe's timeout and transient retriers (YAML aliases), not its ContentBusy one.
    expect(inner.Resize.Retry).toEqual(inner.Dedupe.Retry.slice(1));
    expect(inner.Resize.Retry[0]).not.toBe(inner.Dedupe.Retry[1]);
    expect(inner.Resize.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordFailure' }]);
    const before = JSON.stringify(definition);
    const store = new MemoryStore();
    const report = await inventory(store, KEYS.slice(0, 3));
    const { tasks } = fakes(() => {});
    const result = await startExecution({
      definition,
      input: { manifest: { bucket: 'inventory', key: report.manifestKey } },
      tasks: tasks as unknown as Record<string, (event: unknown) => Promise<unknown>>,
      intrinsics: { LibraryBucket: 'library' },
      store,
      timeScale: 0,
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(JSON.stringify(definition)).toBe(before);
  });

  it('refuses to start without a handler for every function or a value for LibraryBucket', async () => {
    const definition = await loadDefinition(STATE_MACHINE_FILE);
    const { tasks } = fakes(() => {});
    const { resize: _, ...withoutResize } = tasks;
    const start = (t: Record<string, unknown>, intrinsics: Record<string, string>) =>
      startExecution({ definition, input: {}, tasks: t as Record<string, (event: unknown) => Promise<unknown>>, intrinsics, store: new MemoryStore() });
    await expect(start(withoutResize, { LibraryBucket: 'library' })).rejects.toThrow(/EachPhoto.Resize: no local handler "resize"/);
    await expect(start(tasks, {})).rejects.toThrow(/ResultWriter.Parameters.Bucket: \{"Ref": "LibraryBucket"\} has no local value/);
  });
});
