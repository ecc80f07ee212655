/**
 * Resize's pointers (src/core/resize.ts, library.ts putPointers): the key's catalog rows, read beside
 * the original, say which pointers need reading first. A pointer no row names with its asset — all of a
 * photo's first run — is written without a HEAD; one a row names is read and written only if it points
 * elsewhere, because a row does not prove its pointer (an attempt for other content may have re-pointed
 * it and died before writing its rows).
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
const calls = { head: 0, pointerPuts: 0, rowReads: 0 };

beforeEach(() => {
  store = new MemoryStore();
  const catalog = new MemoryCatalog();
  Object.assign(calls, { head: 0, pointerPuts: 0, rowReads: 0 });
  const rowsForKey = catalog.rowsForKey.bind(catalog);
  catalog.rowsForKey = async (key) => (calls.rowReads++, rowsForKey(key));
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
  it('writes a new photo\'s pointers without reading them first, and a photo rendered again reads each and writes none', async () => {
    const event = await photoEvent('a.jpg', 1);
    expect(event.outcome.recordedRows).toBe(0);
    Object.assign(calls, { head: 0, pointerPuts: 0, rowReads: 0 });
    const first = await resize(context, event);
    expect(first.written).toMatchObject({ pointers: presets.length + 1, catalogRows: presets.length + 1 });
    // Dedupe found no rows: Resize reads none before its writes, once after them (stale on-demand sizes).
    expect(calls).toMatchObject({ head: 0, pointerPuts: presets.length + 1, rowReads: 1 });
    for (const preset of ['original', ...presets.map((p) => p.name)]) {
      const key = preset === 'original' ? 'a.jpg' : `${preset}/a.jpg`;
      expect((await store.head({ bucket: 'library', key }))?.redirectLocation, key).toMatch(/^\/assets\//);
    }
    Object.assign(calls, { head: 0, pointerPuts: 0, rowReads: 0 });
    // A redrive, a retry after its answer was lost — the same event, but the original is stored already:
    // the rows are read after all (then once more after the write, for stale on-demand sizes).
    const again = await resize(context, event);
    expect(again.written.pointers).toBe(0);
    expect(calls).toMatchObject({ head: presets.length + 1, pointerPuts: 0, rowReads: 2 });
  });

  it('a first run drops an on-demand size made meanwhile from other content — another run of the key wrote its rows after Dedupe looked — and keeps one of its own', async () => {
    const sizeRow = (key: string, sha: string, etag: string) => ({
      sourceKey: key, preset: 'dynamic/300x200', logicalKey: `dynamic/300x200/${key}`, assetKey: 'assets/aa/bb/cc/x.jpg', sha256: 'x'.repeat(64),
      sourceSha256: sha, width: 300, height: 200, bytes: 1, contentType: 'image/jpeg', sourceBucket: 'photos', sourceEtag: etag, spec: 's', runId: 'on-demand', updatedAt: '2026-12-04T00:00:00.000Z',
    });
    // An on-demand size made meanwhile from the content Dedupe hashed: it is of this content, kept.
    const event = await photoEvent('c.jpg', 3);
    await context.catalog.putRows([sizeRow('c.jpg', event.outcome.sha256!, event.item.etag)]);
    await resize(context, event);
    expect((await context.catalog.rowsForKey('c.jpg')).map((row) => row.preset)).toContain('dynamic/300x200');

    // Dedupe of A finds no rows; then another run of the key (content Z, an upload just before) writes its
    // rows, and a request makes a size from Z; then A's Resize — its first run, the content Dedupe hashed.
    const mine = await photoEvent('d.jpg', 4);
    expect(mine.outcome.recordedRows).toBe(0);
    const other = await noiseJpeg(640, 480, 5);
    await store.put({ bucket: 'photos', key: 'd.jpg' }, other, {});
    const otherItem = { ...mine.item, size: other.byteLength, etag: createHash('md5').update(other).digest('hex') };
    const otherRun = await resize(context, { item: otherItem, runId: 'r0', outcome: { ...mine.outcome, sha256: undefined } });
    await context.catalog.putRows([sizeRow('d.jpg', otherRun.sha256!, otherItem.etag)]);
    await store.put({ bucket: 'library', key: 'dynamic/300x200/d.jpg' }, new Uint8Array(0), { redirectLocation: '/assets/aa/bb/cc/x.jpg' });
    await store.put({ bucket: 'photos', key: 'd.jpg' }, await noiseJpeg(640, 480, 4), {}); // A again
    Object.assign(calls, { rowReads: 0 });
    const outcome = await resize(context, mine);
    expect(outcome.sha256).toBe(mine.outcome.sha256);
    expect(calls.rowReads).toBe(1);
    expect((await context.catalog.rowsForKey('d.jpg')).map((row) => row.preset)).not.toContain('dynamic/300x200');
    expect(await store.head({ bucket: 'library', key: 'dynamic/300x200/d.jpg' })).toBeUndefined();
  });

  it('mends pointers its rows name but another attempt re-pointed (other content, died before its rows), and one changed by hand', async () => {
    const a = await photoEvent('b.jpg', 2);
    await resize(context, a);
    const pointerOf = async (key: string) => (await store.head({ bucket: 'library', key }))?.redirectLocation;
    const right = await pointerOf('small/b.jpg');
    // Other content under the same key: its Resize writes assets and pointers, then dies before its rows.
    const other = await noiseJpeg(640, 480, 99);
    await store.put({ bucket: 'photos', key: 'b.jpg' }, other, {});
    const dying: StepContext = { ...context, catalog: Object.assign(Object.create(Object.getPrototypeOf(context.catalog)), context.catalog, { putRows: async () => Promise.reject(new Error('throttled past every retry')) }) };
    await expect(resize(dying, { ...a, item: { ...a.item, size: other.byteLength, etag: createHash('md5').update(other).digest('hex') } })).rejects.toThrow(/throttled/);
    expect(await pointerOf('small/b.jpg')).not.toBe(right);
    // The first content back (a re-upload with another ETag): its rows name these assets, its pointers do not.
    const again = await photoEvent('b.jpg', 2);
    expect((await resize(context, again)).written.pointers).toBe(presets.length + 1);
    expect(await pointerOf('small/b.jpg')).toBe(right);
    // And one re-pointed by hand: read, found wrong, written (what repair relies on).
    await store.put({ bucket: 'library', key: 'thumb/b.jpg' }, new Uint8Array(0), { redirectLocation: '/assets/elsewhere.jpg' });
    Object.assign(calls, { head: 0, pointerPuts: 0 });
    expect((await resize(context, again)).written.pointers).toBe(1);
    expect(calls).toMatchObject({ head: presets.length + 1, pointerPuts: 1 });
    expect(await pointerOf('thumb/b.jpg')).toMatch(/^\/assets\/(?!elsewhere)/);
  });
});
