/** Live sync of one key on in-memory ports, with real images: the bucket's current state decides. */
import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import type { CdnCache } from '../../src/core/cdn';
import type { StepContext } from '../../src/core/context';
import { ContentBusy, PhotoError, TransientError } from '../../src/core/errors';
import { validateConfig } from '../../src/core/presets';
import { isRetryable, removeKey, repointed, SYNC_RUN_ID, syncObject } from '../../src/core/sync';
import { noiseJpeg } from '../helpers/images';
import { MemoryCatalog } from '../helpers/memory-catalog';
import { MemoryStore } from '../helpers/memory-store';

const presets = validateConfig(config);
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const SOURCE = 'source';
const LIBRARY = 'library';

/** A CDN that records what it was told to forget, or refuses. */
class RecordingCdn implements CdnCache {
  invalidated: string[][] = [];
  refuse?: Error;
  async invalidate(logicalKeys: readonly string[]): Promise<void> {
    if (this.refuse) throw this.refuse;
    this.invalidated.push([...logicalKeys]);
  }
}

let store: MemoryStore;
let catalog: MemoryCatalog;
let cdn: RecordingCdn;
let context: StepContext;

beforeEach(() => {
  store = new MemoryStore();
  catalog = new MemoryCatalog();
  cdn = new RecordingCdn();
  context = { store, catalog, libraryBucket: LIBRARY, config, presets, cdn, now: () => new Date('2026-01-02T03:04:05Z') };
});

const put = (key: string, body: Uint8Array) => store.put({ bucket: SOURCE, key }, body, { contentType: 'image/jpeg' });
const sync = (key: string) => syncObject(context, { bucket: SOURCE, key }, SYNC_RUN_ID);
const assets = () => store.keys(LIBRARY).filter((key) => key.startsWith('assets/')).sort();
const pointers = () => store.keys(LIBRARY).filter((key) => !key.startsWith('assets/')).sort();

describe('syncObject of a key that exists', () => {
  it('runs the migration\'s own steps: assets, pointers and catalog rows as a run writes them', async () => {
    const photo = await noiseJpeg(1200, 900, 1);
    await put('trips/a b+ü%.jpg', photo);
    const outcome = await sync('trips/a b+ü%.jpg');
    expect(outcome).toMatchObject({ key: 'trips/a b+ü%.jpg', status: 'resized', written: { assets: 5, pointers: 5, catalogRows: 5 } });
    const rows = await catalog.rowsForKey('trips/a b+ü%.jpg');
    expect(rows.map((row) => row.preset).sort()).toEqual(['large', 'medium', 'original', 'small', 'thumb']);
    expect(rows.every((row) => row.runId === SYNC_RUN_ID)).toBe(true);
    expect(rows.find((row) => row.preset === 'original')!.sha256).toBe(sha(photo));
    for (const row of rows) {
      expect((await store.head({ bucket: LIBRARY, key: row.logicalKey }))?.redirectLocation).toBe(`/${row.assetKey}`);
      expect(sha((await store.get({ bucket: LIBRARY, key: row.assetKey })).body)).toBe(row.sha256);
    }
    // A new key answered nothing before: no invalidation is paid for it.
    expect(cdn.invalidated).toEqual([]);
    // Synced again, nothing changes.
    expect(await sync('trips/a b+ü%.jpg')).toMatchObject({ status: 'unchanged' });
    expect(cdn.invalidated).toEqual([]);
  });

  it('an overwrite re-points the key, deletes the old assets nobody uses, and has the CDN forget both', async () => {
    await put('a.jpg', await noiseJpeg(800, 600, 1));
    await sync('a.jpg');
    const before = await catalog.rowsForKey('a.jpg');
    const oldAssets = assets();
    const replacement = await noiseJpeg(800, 600, 2);
    await put('a.jpg', replacement);
    const outcome = await sync('a.jpg');
    expect(outcome).toMatchObject({ status: 'resized', pruned: { deleted: oldAssets.length, kept: 0 } });
    const after = await catalog.rowsForKey('a.jpg');
    expect(after.find((row) => row.preset === 'original')!.sha256).toBe(sha(replacement));
    expect(assets()).toEqual([...new Set(after.map((row) => row.assetKey))].sort());
    expect(assets().some((key) => oldAssets.includes(key))).toBe(false);
    expect(cdn.invalidated).toHaveLength(1);
    expect([...cdn.invalidated[0]!].sort()).toEqual([...before.map((row) => row.logicalKey), ...oldAssets].sort());
    expect(outcome).toMatchObject({ invalidated: before.length + oldAssets.length });
  });

  it('an overwrite keeps the old assets another key still uses', async () => {
    const shared = await noiseJpeg(800, 600, 3);
    await put('a.jpg', shared);
    await put('copy.jpg', shared);
    await sync('a.jpg');
    expect(await sync('copy.jpg')).toMatchObject({ status: 'duplicate' });
    const sharedAssets = assets();
    await put('a.jpg', await noiseJpeg(800, 600, 4));
    const outcome = await sync('a.jpg');
    expect(outcome).toMatchObject({ status: 'resized', pruned: { deleted: 0, kept: sharedAssets.length } });
    for (const key of sharedAssets) expect(assets()).toContain(key);
    // The copy still shows the old content.
    for (const row of await catalog.rowsForKey('copy.jpg')) expect((await store.head({ bucket: LIBRARY, key: row.logicalKey }))?.redirectLocation).toBe(`/${row.assetKey}`);
  });

  it('records a photo that is not an image FAILED, as the state machine\'s RecordFailure does', async () => {
    await put('notes.jpg', Buffer.from('not an image at all'));
    const outcome = await sync('notes.jpg');
    expect(outcome).toMatchObject({ key: 'notes.jpg', status: 'failed', errorType: PhotoError.name });
    expect(await catalog.failureFor('notes.jpg')).toMatchObject({ sourceKey: 'notes.jpg', errorType: PhotoError.name, runId: SYNC_RUN_ID });
    expect(store.keys(LIBRARY)).toEqual([]);
  });

  it('a CDN that cannot be told is reported, and the library is right all the same', async () => {
    await put('a.jpg', await noiseJpeg(640, 480, 5));
    await sync('a.jpg');
    await put('a.jpg', await noiseJpeg(640, 480, 6));
    cdn.refuse = new TransientError('CloudFront throttled');
    const outcome = await sync('a.jpg');
    expect(outcome).toMatchObject({ status: 'resized', invalidationError: 'TransientError: CloudFront throttled' });
    expect(assets()).toEqual([...new Set((await catalog.rowsForKey('a.jpg')).map((row) => row.assetKey))].sort());
  });

  it('throws what a later attempt can cure, instead of recording it FAILED', async () => {
    await put('a.jpg', await noiseJpeg(640, 480, 7));
    const failing = Object.create(store) as MemoryStore;
    failing.openRead = async () => {
      throw new TransientError('SlowDown');
    };
    await expect(syncObject({ ...context, store: failing }, { bucket: SOURCE, key: 'a.jpg' }, SYNC_RUN_ID)).rejects.toThrow(TransientError);
    expect(await catalog.failureFor('a.jpg')).toBeUndefined();
    expect(isRetryable(new TransientError('x'))).toBe(true);
    expect(isRetryable(new ContentBusy('x'))).toBe(true);
    expect(isRetryable(new PhotoError('corrupt', 'x'))).toBe(false);
  });
});

describe('syncObject of a key that is gone', () => {
  it('removes its pointers, rows and failure row; deletes the assets nobody else uses; the CDN forgets its URLs', async () => {
    const shared = await noiseJpeg(800, 600, 8);
    await put('a.jpg', shared);
    await put('copy.jpg', shared);
    await put('own.jpg', await noiseJpeg(800, 600, 9));
    await put('bad.jpg', Buffer.from('nope'));
    for (const key of ['a.jpg', 'copy.jpg', 'own.jpg', 'bad.jpg']) await sync(key);
    const ownRows = await catalog.rowsForKey('own.jpg');
    const ownAssets = [...new Set(ownRows.map((row) => row.assetKey))];

    // An event for a key deleted since: the bucket, not the event, decides.
    await store.delete({ bucket: SOURCE, key: 'own.jpg' });
    const removed = await sync('own.jpg');
    expect(removed).toMatchObject({ key: 'own.jpg', status: 'removed', deleted: { pointers: ownRows.length, catalogRows: ownRows.length, assets: ownAssets.length }, keptAssets: 0 });
    expect(await catalog.rowsForKey('own.jpg')).toEqual([]);
    for (const row of ownRows) expect(await store.head({ bucket: LIBRARY, key: row.logicalKey })).toBeUndefined();
    for (const key of ownAssets) expect(assets()).not.toContain(key);
    expect([...cdn.invalidated.at(-1)!].sort()).toEqual([...ownRows.map((row) => row.logicalKey), ...ownAssets].sort());

    // A duplicate's assets stay while the other key uses them.
    const copyRows = await catalog.rowsForKey('copy.jpg');
    await store.delete({ bucket: SOURCE, key: 'a.jpg' });
    expect(await sync('a.jpg')).toMatchObject({ status: 'removed', deleted: { assets: 0 }, keptAssets: new Set(copyRows.map((row) => row.assetKey)).size });
    for (const row of copyRows) expect(assets()).toContain(row.assetKey);

    // A failed key loses its failure row.
    await store.delete({ bucket: SOURCE, key: 'bad.jpg' });
    expect(await sync('bad.jpg')).toMatchObject({ status: 'removed', deleted: { pointers: 0, catalogRows: 1, assets: 0 } });
    expect(await catalog.failureFor('bad.jpg')).toBeUndefined();
  });

  it('a key the library never had is removed with nothing to do and nothing to invalidate', async () => {
    expect(await removeKey(context, 'never.jpg')).toEqual({ key: 'never.jpg', status: 'removed', deleted: { pointers: 0, catalogRows: 0, assets: 0 }, keptAssets: 0, deletedKeys: [] });
    expect(await sync('never.jpg')).toMatchObject({ status: 'removed' });
    expect(cdn.invalidated).toEqual([]);
  });
});

describe('repointed', () => {
  it('lists the logical keys that answered something else before, not new ones', async () => {
    const row = (logicalKey: string, assetKey: string) => ({ logicalKey, assetKey }) as Parameters<typeof repointed>[0][number];
    const before = [row('a.jpg', 'assets/1'), row('small/a.jpg', 'assets/2'), row('gone.jpg', 'assets/3')];
    const after = [row('a.jpg', 'assets/1'), row('small/a.jpg', 'assets/9'), row('new.jpg', 'assets/4')];
    expect(repointed(before, after)).toEqual(['small/a.jpg', 'gone.jpg']);
  });
});
