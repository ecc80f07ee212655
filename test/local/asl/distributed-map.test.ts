/** The real statemachines/migrate.asl.yaml, run by the local executor with recording fake Lambdas. */
import { describe, expect, it } from 'vitest';
import { buildInventoryReport, decodeInventoryKey } from '../../../src/core/inventory';
import type { ItemEvent } from '../../../src/core/item';
import { type ExecutionEvent, loadDefinition, startExecution, type StateMachineDefinition } from '../../../src/local/asl';
import { STATE_MACHINE_FILE } from '../../../src/local/migrate';
import { MemoryStore } from '../../helpers/memory-store';

class PhotoError extends Error {
  override name = 'PhotoError';
}
class TransientError extends Error {
  override name = 'TransientError';
}

async function inventory(store: MemoryStore, keys: string[]) {
  const report = buildInventoryReport({
    sourceBucket: 'source',
    destinationBucket: 'inventory',
    prefix: 'inv',
    objects: keys.map((key) => ({ key, size: 10, etag: 'e', lastModified: new Date() })),
    now: new Date('2026-11-24T10:00:00Z'),
    rowsPerFile: 7,
  });
  for (const file of report.files) await store.put({ bucket: 'inventory', key: file.key }, file.body, {});
  return report;
}

interface Fakes {
  calls: Record<string, string[]>;
  tasks: Record<string, (event: any) => Promise<unknown>>;
}

function fakes(behaviour: (step: string, key: string, attempt: number) => void): Fakes {
  const calls: Record<string, string[]> = { dedupe: [], resize: [], recordFailure: [] };
  const step = (name: string, status: (e: ItemEvent) => string) => async (event: ItemEvent) => {
    const key = decodeInventoryKey(event.item.key);
    calls[name]!.push(key);
    behaviour(name, key, calls[name]!.filter((k) => k === key).length);
    return { key, status: status(event), written: { assets: 0, pointers: 0, catalogRows: 0 } };
  };
  return {
    calls,
    tasks: {
      dedupe: step('dedupe', (e) => (decodeInventoryKey(e.item.key).startsWith('dup') ? 'duplicate' : 'needs-resize')),
      resize: step('resize', () => 'resized'),
      recordFailure: step('recordFailure', (e) => `failed:${e.error?.Error}`),
    },
  };
}

async function execute(keys: string[], behaviour: Parameters<typeof fakes>[0], patch: (d: any) => void = () => {}) {
  const store = new MemoryStore();
  const report = await inventory(store, keys);
  const definition = (await loadDefinition(STATE_MACHINE_FILE)) as any;
  patch(definition);
  const { calls, tasks } = fakes(behaviour);
  const events: ExecutionEvent[] = [];
  const result = await startExecution({
    definition: definition as StateMachineDefinition,
    name: 'run-test',
    input: { manifest: { bucket: 'inventory', key: report.manifestKey } },
    tasks,
    intrinsics: { LibraryBucket: 'library' },
    store,
    timeScale: 0,
    onEvent: (event) => events.push(event),
  });
  return { result, calls, events, store, report };
}

const keys = Array.from({ length: 23 }, (_, i) => (i === 4 ? 'dup copy.jpg' : `photo ${i}+ü.jpg`));

describe('the migrate state machine, locally', () => {
  it('reads every inventory file, batches 10 per child, runs Dedupe → Choice → Resize, and writes the results', async () => {
    const { result, calls, events, store } = await execute(keys, () => {});
    expect(result.status).toBe('SUCCEEDED');
    expect(calls.dedupe!.sort()).toEqual([...keys].sort());
    expect(calls.resize).toHaveLength(22);
    expect(calls.resize).not.toContain('dup copy.jpg');
    expect(events.filter((e) => e.type === 'mapRunStarted')).toEqual([{ type: 'mapRunStarted', state: 'ProcessInventory', totalItems: 23, batches: 3 }]);
    expect(events.filter((e) => e.type === 'childSucceeded').map((e) => (e as { items: number }).items).sort()).toEqual([10, 10, 3]);

    const output = result.output as { MapRunArn: string; ResultWriterDetails: { Bucket: string; Key: string } };
    expect(output.ResultWriterDetails).toMatchObject({ Bucket: 'library', Key: expect.stringMatching(/^runs\/[0-9a-f-]+\/manifest\.json$/) });
    const manifest = JSON.parse(Buffer.from((await store.get({ bucket: 'library', key: output.ResultWriterDetails.Key })).body).toString());
    expect(manifest).toMatchObject({ DestinationBucket: 'library', MapRunArn: output.MapRunArn, ResultFiles: { FAILED: [], PENDING: [], SUCCEEDED: [{ Key: expect.stringMatching(/SUCCEEDED_0\.json$/) }] } });
    const children = JSON.parse(Buffer.from((await store.get({ bucket: 'library', key: manifest.ResultFiles.SUCCEEDED[0].Key })).body).toString());
    expect(children).toHaveLength(3);
    const outcomes = children.flatMap((child: { Output: string }) => JSON.parse(child.Output));
    expect(outcomes.map((o: { key: string }) => o.key).sort()).toEqual([...keys].sort());
    expect(JSON.parse(children[0].Input)).toMatchObject({ BatchInput: { runId: 'run-test' }, Items: expect.any(Array) });
  });

  it('retries transient errors, and records a bad photo through RecordFailure while the batch goes on', async () => {
    const { result, calls, events } = await execute(keys, (step, key, attempt) => {
      if (step === 'resize' && key === 'photo 7+ü.jpg') throw new PhotoError('cannot decode');
      if (step === 'dedupe' && key === 'photo 9+ü.jpg' && attempt <= 2) throw new TransientError('SlowDown');
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(calls.recordFailure).toEqual(['photo 7+ü.jpg']);
    expect(calls.dedupe!.filter((k) => k === 'photo 9+ü.jpg')).toHaveLength(3);
    expect(events.filter((e) => e.type === 'retry')).toHaveLength(2);
    expect(calls.resize).toHaveLength(22);
  });

  it('fails the run with States.ExceedToleratedFailureThreshold when too many children fail', async () => {
    const { result, store } = await execute(keys, (step, key) => {
      if (step === 'resize' && key.startsWith('photo 1')) throw new PhotoError('bad');
      if (step === 'recordFailure') throw new Error('catalog is down');
    });
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.ExceedToleratedFailureThreshold' });
    expect(store.keys('library').some((key) => /FAILED_0\.json$/.test(key))).toBe(true);
  });

  it('never runs more children at once than MaxConcurrency', async () => {
    let inFlight = 0;
    let peak = 0;
    const store = new MemoryStore();
    const report = await inventory(store, keys);
    const definition = (await loadDefinition(STATE_MACHINE_FILE)) as any;
    definition.States.ProcessInventory.MaxConcurrency = 2;
    definition.States.ProcessInventory.ItemBatcher.MaxItemsPerBatch = 1;
    definition.States.ProcessInventory.ItemProcessor.States.EachPhoto.MaxConcurrency = 1;
    const slow = async (event: ItemEvent) => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return { key: event.item.key, status: 'unchanged', written: { assets: 0, pointers: 0, catalogRows: 0 } };
    };
    const result = await startExecution({
      definition,
      input: { manifest: { bucket: 'inventory', key: report.manifestKey } },
      tasks: { dedupe: slow as never, resize: slow as never, recordFailure: slow as never },
      intrinsics: { LibraryBucket: 'library' },
      store,
      timeScale: 0,
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(peak).toBe(2);
  });

  it('refuses a report whose manifest does not match its checksum before running any item', async () => {
    const store = new MemoryStore();
    const report = await inventory(store, keys);
    await store.put({ bucket: 'inventory', key: report.checksumKey }, Buffer.from('0'.repeat(32)), {});
    const { calls, tasks } = fakes(() => {});
    const result = await startExecution({
      definition: await loadDefinition(STATE_MACHINE_FILE),
      input: { manifest: { bucket: 'inventory', key: report.manifestKey } },
      tasks,
      intrinsics: { LibraryBucket: 'library' },
      store,
      timeScale: 0,
    });
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.ItemReaderFailed', cause: expect.stringMatching(/manifest.checksum/) });
    expect(calls.dedupe).toEqual([]);
    expect(store.keys('library')).toEqual([]);
  });
});
