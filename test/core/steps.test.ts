/** Dedupe → Resize → RecordFailure on in-memory ports: real images, real bytes, real rows. */
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { beforeEach, describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import type { StepContext } from '../../src/core/context';
import { CONTENT_BUSY_PATIENCE, dedupe } from '../../src/core/dedupe';
import { ContentBusy, PhotoError } from '../../src/core/errors';
import { encodeInventoryKey } from '../../src/core/inventory/keys';
import type { ItemEvent } from '../../src/core/item';
import { assetKey } from '../../src/core/keys';
import { ASSET_CACHE_CONTROL } from '../../src/core/library';
import { validateConfig } from '../../src/core/presets';
import { recordFailure } from '../../src/core/record-failure';
import { resize } from '../../src/core/resize';
import { noiseJpeg } from '../helpers/images';
import { MemoryCatalog } from '../helpers/memory-catalog';
import { MemoryStore } from '../helpers/memory-store';

const presets = validateConfig(config);
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');

let store: MemoryStore;
let catalog: MemoryCatalog;
let context: StepContext;
let gets: number;

beforeEach(() => {
  store = new MemoryStore();
  catalog = new MemoryCatalog();
  gets = 0;
  const counted = Object.create(store) as MemoryStore;
  counted.get = (ref: Parameters<MemoryStore["get"]>[0]) => {
    gets++;
    return store.get(ref);
  };
  context = { store: counted, catalog, libraryBucket: 'library', config, presets, now: () => new Date('2026-01-02T03:04:05Z') };
});

async function source(key: string, body: Uint8Array): Promise<ItemEvent> {
  await store.put({ bucket: 'source', key }, body, { contentType: 'image/jpeg' });
  return { item: { bucket: 'source', key: encodeInventoryKey(key), size: String(body.byteLength), etag: md5(body) }, runId: 'run-1' };
}

async function process(event: ItemEvent) {
  const first = await dedupe(context, event);
  return first.status === 'needs-resize' ? resize(context, { ...event, outcome: first }) : first;
}

const libraryKeys = () => [...store.keys('library')].sort();

describe('a new photo', () => {
  it('is hashed, claimed, rendered once into content-addressed assets, pointed at and catalogued in one batch', async () => {
    const photo = await noiseJpeg(1200, 900);
    const event = await source('trips/a b+ü%.jpg', photo);
    const first = await dedupe(context, event);
    expect(first).toMatchObject({ key: 'trips/a b+ü%.jpg', status: 'needs-resize', sha256: sha(photo) });
    expect(catalog.claims.get(sha(photo))?.owner).toBe('trips/a b+ü%.jpg');

    const done = await resize(context, { ...event, outcome: first });
    expect(done).toMatchObject({ status: 'resized', written: { assets: 5, pointers: 5, catalogRows: 5 } });
    expect(catalog.writeRequests).toBe(1);
    expect(catalog.claims.size).toBe(0);

    const rows = await catalog.rowsForKey('trips/a b+ü%.jpg');
    expect(rows.map((row) => row.preset).sort()).toEqual(['large', 'medium', 'original', 'small', 'thumb']);
    for (const row of rows) {
      const asset = await store.get({ bucket: 'library', key: row.assetKey });
      expect(sha(asset.body)).toBe(row.sha256);
      expect(row.assetKey).toBe(assetKey(row.sha256, 'jpg'));
      expect(asset.body.byteLength).toBe(row.bytes);
      const meta = await sharp(asset.body).metadata();
      expect([meta.width, meta.height]).toEqual([row.width, row.height]);
      expect(row).toMatchObject({ sourceSha256: sha(photo), sourceEtag: md5(photo), sourceBucket: 'source', runId: 'run-1', updatedAt: '2026-01-02T03:04:05.000Z' });
      const head = await store.head({ bucket: 'library', key: row.assetKey });
      expect(head).toMatchObject({ contentType: 'image/jpeg', cacheControl: ASSET_CACHE_CONTROL });
      const pointer = await store.head({ bucket: 'library', key: row.logicalKey });
      expect(pointer).toMatchObject({ size: 0, redirectLocation: `/${row.assetKey}` });
      expect(pointer?.cacheControl).toMatch(/max-age=\d{1,4}\b/);
    }
    expect(rows.find((row) => row.preset === 'original')).toMatchObject({ logicalKey: 'trips/a b+ü%.jpg', width: 1200, height: 900, bytes: photo.byteLength });
    expect(rows.find((row) => row.preset === 'small')).toMatchObject({ logicalKey: 'small/trips/a b+ü%.jpg', width: 300, height: 200 });
  });

  it('is not read or written again when the catalog already has it (unchanged rerun)', async () => {
    const event = await source('a.jpg', await noiseJpeg(400, 300));
    await process(event);
    const before = libraryKeys();
    const writes = catalog.writeRequests;
    gets = 0;
    expect(await process(event)).toMatchObject({ status: 'unchanged', written: { assets: 0, pointers: 0, catalogRows: 0 } });
    expect(gets).toBe(0);
    expect(libraryKeys()).toEqual(before);
    expect(catalog.writeRequests).toBe(writes);
  });
});

describe('the same key in another bucket', () => {
  it('is another photo: never "unchanged" because of the first bucket\'s rows (bucket and key match, not key alone)', async () => {
    const photo = await noiseJpeg(400, 300);
    const event = await source('a.jpg', photo);
    await process(event);
    await store.put({ bucket: 'elsewhere', key: 'a.jpg' }, photo, { contentType: 'image/jpeg' });
    const other: ItemEvent = { ...event, item: { ...event.item, bucket: 'elsewhere' } };
    const outcome = await process(other);
    expect(outcome.status).not.toBe('unchanged');
    expect((await catalog.rowsForKey('a.jpg')).map((row) => row.sourceBucket)).toEqual(Array(5).fill('elsewhere'));
  });
});

describe('the same bytes under another key', () => {
  it('reuse the first key’s assets: pointers and rows only, no render', async () => {
    const photo = await noiseJpeg(500, 400, 7);
    await process(await source('first.jpg', photo));
    const assetsBefore = libraryKeys().filter((key) => key.startsWith('assets/'));
    const outcome = await process(await source('copies/second.jpg', photo));
    expect(outcome).toMatchObject({ status: 'duplicate', duplicateOf: 'first.jpg', written: { assets: 0, pointers: 5, catalogRows: 5 } });
    expect(libraryKeys().filter((key) => key.startsWith('assets/'))).toEqual(assetsBefore);
    const first = await catalog.rowsForKey('first.jpg');
    const second = await catalog.rowsForKey('copies/second.jpg');
    for (const row of second) {
      expect(row.assetKey).toBe(first.find((other) => other.preset === row.preset)!.assetKey);
      expect((await store.head({ bucket: 'library', key: row.logicalKey }))?.redirectLocation).toBe(`/${row.assetKey}`);
    }
    expect(second.find((row) => row.preset === 'thumb')!.logicalKey).toBe('thumb/copies/second.jpg');
    const uses = await catalog.keysForHash(sha(photo));
    expect(uses.map((use) => use.sourceKey).sort()).toEqual(['copies/second.jpg', 'first.jpg']);
  });

  it('wait (ContentBusy) while the first is still being rendered', async () => {
    const photo = await noiseJpeg(300, 300, 9);
    expect((await dedupe(context, await source('one.jpg', photo))).status).toBe('needs-resize');
    await expect(dedupe(context, await source('two.jpg', photo))).rejects.toThrow(ContentBusy);
  });

  it('stop waiting after a few retries and render the content themselves (same bytes, same assets)', async () => {
    const photo = await noiseJpeg(300, 300, 10);
    await dedupe(context, await source('one.jpg', photo));
    const twin = await source('two.jpg', photo);
    expect(await dedupe(context, { ...twin, retryCount: CONTENT_BUSY_PATIENCE })).toMatchObject({ status: 'needs-resize', sha256: sha(photo) });
  });
});

describe('bad photos', () => {
  it('a truncated JPEG fails in Resize with PhotoError and leaves nothing in the library', async () => {
    const photo = await noiseJpeg(600, 400, 3);
    const event = await source('broken.jpg', photo.subarray(0, photo.length / 3));
    const first = await dedupe(context, event);
    await expect(resize(context, { ...event, outcome: first })).rejects.toThrow(PhotoError);
    expect(libraryKeys()).toEqual([]);
  });

  it.each([
    ['empty.jpg', new Uint8Array(0), /empty file/],
    ['notes.jpg', Buffer.from('these are my notes, not a photo'), /not an image/],
  ])('%s is refused by Dedupe before any write', async (key, body, reason) => {
    await expect(dedupe(context, await source(key, body))).rejects.toThrow(reason);
    expect(libraryKeys()).toEqual([]);
  });

  it('a key that collides with the library layout is refused', async () => {
    await expect(dedupe(context, await source('thumb/x.jpg', await noiseJpeg(10, 10)))).rejects.toThrow(/prefix the library uses/);
  });

  it('RecordFailure writes one failure row with the Lambda error message, once', async () => {
    const event = await source('bad.jpg', Buffer.from('x'));
    const cause = JSON.stringify({ errorType: 'PhotoError', errorMessage: 'cannot decode: VipsJpeg: premature end', trace: [] });
    const failed = { ...event, error: { Error: 'PhotoError', Cause: cause } };
    expect(await recordFailure(context, failed)).toMatchObject({ key: 'bad.jpg', status: 'failed', errorType: 'PhotoError', error: 'cannot decode: VipsJpeg: premature end', written: { catalogRows: 1 } });
    expect(await recordFailure(context, failed)).toMatchObject({ written: { catalogRows: 0 } });
    expect(await catalog.failureFor('bad.jpg')).toMatchObject({ error: 'cannot decode: VipsJpeg: premature end', runId: 'run-1' });
  });

  it('RecordFailure reads the reason of a PhotoError that crossed Lambda and Step Functions, and keeps the message without its mark', async () => {
    const event = await source('empty.jpg', new Uint8Array(0));
    const thrown = (await dedupe(context, event).catch((error: unknown) => error)) as PhotoError;
    expect(thrown).toMatchObject({ name: 'PhotoError', reason: 'empty', detail: 'empty file (0 bytes)' });
    // What the Node.js runtime reports (name, message, stack: nothing else) becomes the Catch's Cause.
    const cause = JSON.stringify({ errorType: thrown.name, errorMessage: thrown.message, trace: thrown.stack!.split('\n') });
    expect(JSON.parse(cause)).not.toHaveProperty('reason');
    const failed = { ...event, error: { Error: 'PhotoError', Cause: cause } };
    expect(await recordFailure(context, failed)).toMatchObject({ status: 'failed', errorType: 'PhotoError', error: 'empty file (0 bytes)', reason: 'empty', written: { catalogRows: 1 } });
    expect(await catalog.failureFor('empty.jpg')).toMatchObject({ errorType: 'PhotoError', error: 'empty file (0 bytes)', reason: 'empty' });
    // A timeout of the same photo later is another failure: the row is rewritten with its reason.
    const timedOut = { ...event, error: { Error: 'States.Timeout', Cause: 'the task dedupe did not finish within 25 s' } };
    expect(await recordFailure(context, timedOut)).toMatchObject({ reason: 'timeout', written: { catalogRows: 1 } });
    expect(await catalog.failureFor('empty.jpg')).toMatchObject({ errorType: 'States.Timeout', reason: 'timeout' });
  });

  it('a photo that succeeds later is no longer listed as failed', async () => {
    const event = await source('later.jpg', await noiseJpeg(200, 200, 5));
    await recordFailure(context, { ...event, error: { Error: 'TransientError', Cause: 'SlowDown' } });
    await process(event);
    expect(await catalog.failureFor('later.jpg')).toBeUndefined();
  });
});

describe('keys whose derived keys S3 would refuse', () => {
  it('a source key under 1,024 bytes whose longest derived key (dynamic/<size>/<key>) is over: refused before any write, with the limit named', async () => {
    const { derivedPrefixOf } = await import('../../src/core/source');
    const prefix = derivedPrefixOf(context);
    expect(prefix).toBe(Buffer.byteLength('dynamic/1600x1200-inside/'));
    const fits = `a/${'k'.repeat(1024 - prefix - 2 - 4)}.jpg`;
    const over = `a/${'k'.repeat(1024 - prefix - 2 - 4 + 1)}.jpg`;
    expect(Buffer.byteLength(over)).toBeLessThan(1024);
    const body = await noiseJpeg(400, 300, 3);
    const putsBefore = store.puts;
    await expect(dedupe(context, await source(over, body))).rejects.toThrow(new PhotoError('key-refused', `key of ${Buffer.byteLength(over)} bytes is too long for its derived keys: the longest, with its ${prefix}-byte prefix, would exceed S3's 1024 bytes (at most ${1024 - prefix} bytes)`));
    expect(store.puts - putsBefore).toBe(1); // the original's own upload by source(); nothing by the step
    const outcome = await process(await source(fits, body));
    expect(outcome.status).toBe('resized');
  });
});
