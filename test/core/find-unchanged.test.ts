/**
 * FindUnchanged on in-memory ports, against Dedupe itself: real photos processed by Dedupe → Resize,
 * then the batch step must call unchanged exactly what Dedupe would (and read the catalog once).
 */
import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import type { StepContext } from '../../src/core/context';
import { dedupe } from '../../src/core/dedupe';
import { findUnchanged } from '../../src/core/find-unchanged';
import { encodeInventoryKey } from '../../src/core/inventory/keys';
import type { ItemEvent } from '../../src/core/item';
import { validateConfig } from '../../src/core/presets';
import { resize } from '../../src/core/resize';
import { noiseJpeg } from '../helpers/images';
import { MemoryCatalog } from '../helpers/memory-catalog';
import { MemoryStore } from '../helpers/memory-store';

const presets = validateConfig(config);
const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');

let store: MemoryStore;
let catalog: MemoryCatalog;
let context: StepContext;

beforeEach(() => {
  store = new MemoryStore();
  catalog = new MemoryCatalog();
  context = { store, catalog, libraryBucket: 'library', config, presets, now: () => new Date('2026-01-02T03:04:05Z') };
});

async function migrated(key: string, seed: number): Promise<ItemEvent> {
  const body = await noiseJpeg(64 + seed, 48);
  await store.put({ bucket: 'source', key }, body, { contentType: 'image/jpeg' });
  const event: ItemEvent = { item: { bucket: 'source', key: encodeInventoryKey(key), size: String(body.byteLength), etag: md5(body) }, runId: 'run-1' };
  const first = await dedupe(context, event);
  if (first.status === 'needs-resize') await resize(context, { ...event, outcome: first });
  return event;
}

describe('findUnchanged', () => {
  it('marks exactly the photos Dedupe calls unchanged, with Dedupe\'s outcome, in one catalog read for the batch', async () => {
    const done = await migrated('trips/a b+ü%.jpg', 1);
    const alsoDone = await migrated('trips/two.jpg', 2);
    const replaced = await migrated('trips/replaced.jpg', 3);
    const changed = { ...replaced.item, etag: 'f'.repeat(32) };
    const fresh = { bucket: 'source', key: encodeInventoryKey('trips/new.jpg'), size: '10', etag: 'a'.repeat(32) };
    const otherBucket = { ...alsoDone.item, bucket: 'another-source' };
    const noEtag = { ...done.item, etag: undefined };
    const refused = { bucket: 'source', key: encodeInventoryKey('assets/x.jpg'), size: '10', etag: 'b'.repeat(32) };
    const badEncoding = { bucket: 'source', key: '%E0%A4%A', size: '10', etag: 'c'.repeat(32) };
    const items = [done.item, alsoDone.item, changed, fresh, otherBucket, noEtag, refused, badEncoding];

    const readsBefore = catalog.readRequests;
    const triaged = await findUnchanged(context, { items, runId: 'run-2' });
    expect(catalog.readRequests - readsBefore).toBe(1);
    expect(triaged.map((item) => item.unchanged?.status ?? 'to Dedupe')).toEqual(['unchanged', 'unchanged', 'to Dedupe', 'to Dedupe', 'to Dedupe', 'to Dedupe', 'to Dedupe', 'to Dedupe']);
    // The items themselves go on untouched; the unchanged ones carry Dedupe's own outcome.
    triaged.forEach((item, i) => expect({ ...item, unchanged: undefined }).toEqual({ ...items[i], unchanged: undefined }));
    for (const [i, event] of [done, alsoDone].entries()) {
      expect(triaged[i]!.unchanged).toEqual(await dedupe(context, { ...event, runId: 'run-2' }));
    }
    // and those it leaves are the ones Dedupe does not call unchanged.
    expect((await dedupe(context, { item: changed, runId: 'run-2' })).status).not.toBe('unchanged');
  });

  it('leaves a photo to Dedupe when one of its preset rows is missing or of other content', async () => {
    const event = await migrated('a.jpg', 4);
    const [, preset] = presets;
    catalog.rows.delete(`a.jpg\u0000${preset!.name}`);
    expect((await findUnchanged(context, { items: [event.item], runId: 'r' }))[0]!.unchanged).toBeUndefined();
    expect((await dedupe(context, event)).status).not.toBe('unchanged');
  });

  it('reads nothing for a batch it cannot judge, and refuses an event that is not a batch', async () => {
    const triaged = await findUnchanged(context, { items: [{ bucket: 'source', key: 'x.jpg' }], runId: 'r' });
    expect(triaged).toEqual([{ bucket: 'source', key: 'x.jpg' }]);
    expect(catalog.readRequests).toBe(0);
    await expect(findUnchanged(context, { runId: 'r' } as never)).rejects.toThrow(/FindUnchanged takes/);
  });
});
