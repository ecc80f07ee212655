/**
 * Resize's pointers (src/core/resize.ts, library.ts putPointers): the key's catalog rows, read beside
 * the original, say which pointers are there already (a pointer is written before its row), so a new
 * photo's pointers are written without a HEAD each and a photo rendered again writes none; `repair`
 * (checkPointers) reads every pointer and mends one changed behind the catalog.
 */
import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import type { StepContext } from '../../src/core/context';
import { dedupe } from '../../src/core/dedupe';
import { encodeInventoryKey } from '../../src/core/inventory/keys';
import { validateConfig } from '../../src/core/presets';
import { resize } from '../../src/core/resize';
import { noiseJpeg } from '../helpers/images';
import { MemoryCatalog } from '../helpers/memory-catalog';
import { MemoryStore } from '../helpers/memory-store';

const presets = validateConfig(config);
let store: MemoryStore;
let context: StepContext;
const calls = { head: 0, pointerPuts: 0 };

beforeEach(() => {
  store = new MemoryStore();
  const catalog = new MemoryCatalog();
  Object.assign(calls, { head: 0, pointerPuts: 0 });
  const head = store.head.bind(store);
  store.head = async (ref) => (calls.head++, head(ref));
  const put = store.put.bind(store);
  store.put = async (ref, body, options) => (options.redirectLocation !== undefined && calls.pointerPuts++, put(ref, body, options));
  context = { store, catalog, libraryBucket: 'library', config, presets };
});

async function photoEvent(name: string, seed: number) {
  const photo = await noiseJpeg(640, 480, seed);
  await store.put({ bucket: 'photos', key: name }, photo, {});
  const item = { bucket: 'photos', key: encodeInventoryKey(name), size: photo.byteLength, etag: createHash('md5').update(photo).digest('hex') };
  return { item, runId: 'r', outcome: await dedupe(context, { item, runId: 'r' }) };
}

describe('Resize', () => {
  it('writes a new photo\'s pointers without reading them first, and a photo rendered again writes none and reads none', async () => {
    const event = await photoEvent('a.jpg', 1);
    Object.assign(calls, { head: 0, pointerPuts: 0 });
    const first = await resize(context, event);
    expect(first.written).toMatchObject({ pointers: presets.length + 1, catalogRows: presets.length + 1 });
    expect(calls).toMatchObject({ head: 0, pointerPuts: presets.length + 1 });
    for (const preset of ['original', ...presets.map((p) => p.name)]) {
      const key = preset === 'original' ? 'a.jpg' : `${preset}/a.jpg`;
      expect((await store.head({ bucket: 'library', key }))?.redirectLocation, key).toMatch(/^\/assets\//);
    }
    Object.assign(calls, { head: 0, pointerPuts: 0 });
    const again = await resize(context, event); // a redrive, a retry after its answer was lost
    expect(again.written.pointers).toBe(0);
    expect(calls).toMatchObject({ head: 0, pointerPuts: 0 });
  });

  it('leaves a pointer changed behind the catalog to repair, which reads every pointer and mends that one', async () => {
    const event = await photoEvent('b.jpg', 2);
    await resize(context, event);
    const right = (await store.head({ bucket: 'library', key: 'small/b.jpg' }))!.redirectLocation;
    await store.put({ bucket: 'library', key: 'small/b.jpg' }, new Uint8Array(0), { redirectLocation: '/assets/elsewhere.jpg' });
    expect((await resize(context, event)).written.pointers).toBe(0);
    Object.assign(calls, { head: 0, pointerPuts: 0 });
    const mended = await resize(context, event, { checkPointers: true });
    expect(mended.written.pointers).toBe(1);
    expect(calls).toMatchObject({ head: presets.length + 1, pointerPuts: 1 });
    expect((await store.head({ bucket: 'library', key: 'small/b.jpg' }))?.redirectLocation).toBe(right);
  });
});
