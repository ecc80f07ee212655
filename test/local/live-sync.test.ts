/**
 * Operating on AWS, exercised on the emulators: live sync of photos created, overwritten and deleted
 * in the source bucket (the sync handler called with real-shaped S3 events), and auto-start of a run
 * when an inventory report's manifest.checksum arrives (the start-run handler, the local starter).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import { encodeInventoryKey } from '../../src/core/inventory/keys';
import { readInventoryReport } from '../../src/core/inventory/read';
import { ORIGINAL } from '../../src/core/ports';
import type { S3Event } from '../../src/core/s3-events';
import { SYNC_RUN_ID } from '../../src/core/sync';
import { validateConfig } from '../../src/core/presets';
import { verifyRun } from '../../src/core/verify';
import { makeStartRunHandler } from '../../src/handlers/start-run';
import { makeSyncHandler } from '../../src/handlers/sync';
import { INVENTORY } from '../../src/core/layout';
import { writeInventoryReport } from '../../src/local/migrate';
import { localExecutionArn } from '../../src/local/asl';
import { EXECUTIONS_DIR, LocalRunStarter } from '../../src/local/run-starter';
import { LOCAL_NAMES, type LocalStack, openLocalStack } from '../../src/local/stack';
import { noiseJpeg } from '../helpers/images';
import { isLibraryContent, listKeys } from '../helpers/library';

const presets = validateConfig(config);
const rowsPerPhoto = presets.length + 1;
const source = LOCAL_NAMES.sourceBucket;
const library = LOCAL_NAMES.libraryBucket;

let dir: string;
let stack: LocalStack;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-ops-'));
  stack = await openLocalStack(join(dir, 'data'));
}, 60_000);
afterAll(async () => {
  await stack?.close();
  await rm(dir, { recursive: true, force: true });
});

/** What S3 sends a Lambda: keys URL-encoded form style, one record per object. */
function s3Event(bucket: string, eventName: string, key: string, object: { size?: number; etag?: string } = {}): S3Event {
  return {
    Records: [
      {
        eventName,
        eventTime: new Date().toISOString(),
        s3: { bucket: { name: bucket }, object: { key: encodeInventoryKey(key), size: object.size, eTag: object.etag, sequencer: Date.now().toString(16) } },
      },
    ],
  };
}

async function putPhoto(key: string, body: Buffer): Promise<S3Event> {
  await stack.store.put({ bucket: source, key }, body, { contentType: 'image/jpeg' });
  const head = (await stack.store.head({ bucket: source, key }))!;
  return s3Event(source, 'ObjectCreated:Put', key, { size: head.size, etag: head.etag });
}

async function deletePhoto(key: string): Promise<S3Event> {
  await stack.store.delete({ bucket: source, key });
  return s3Event(source, 'ObjectRemoved:Delete', key);
}

const libraryContent = async () => (await listKeys(stack.s3, library)).filter(isLibraryContent);
const exists = async (key: string) => Boolean(await stack.store.head({ bucket: library, key }));

describe('live sync of the source bucket', () => {
  const sync = (event: S3Event) => makeSyncHandler(() => stack.context, stack.telemetry)(event);
  const key = 'uploads/café 2026/a+b 100%.jpg';

  it('processes a new upload with an encoded key: decodable crops at their sizes, behind pointers, in the catalog', async () => {
    const [outcome] = await sync(await putPhoto(key, await noiseJpeg(900, 600, 1)));
    expect(outcome).toMatchObject({ key, status: 'resized' });
    const rows = await stack.context.catalog.rowsForKey(key);
    expect(rows.map((row) => row.preset).sort()).toEqual([...presets.map((p) => p.name), ORIGINAL].sort());
    for (const row of rows) {
      expect(row.runId).toBe(SYNC_RUN_ID);
      const pointer = (await stack.store.head({ bucket: library, key: row.logicalKey }))!;
      expect(pointer.size).toBe(0);
      expect(pointer.redirectLocation).toBe(`/${row.assetKey}`);
      const asset = (await stack.store.get({ bucket: library, key: row.assetKey })).body;
      const meta = await sharp(asset).metadata();
      expect([meta.width, meta.height]).toEqual([row.width, row.height]);
    }
    const thumb = rows.find((row) => row.preset === 'thumb')!;
    expect([thumb.width, thumb.height]).toEqual([80, 80]);
  });

  it('does nothing new when the same event arrives twice', async () => {
    const before = await libraryContent();
    const rows = await stack.context.catalog.rowsForKey(key);
    const head = (await stack.store.head({ bucket: source, key }))!;
    const [outcome] = await sync(s3Event(source, 'ObjectCreated:Put', key, { size: head.size, etag: head.etag }));
    expect(outcome).toMatchObject({ status: 'unchanged' });
    expect(await libraryContent()).toEqual(before);
    expect(await stack.context.catalog.rowsForKey(key)).toEqual(rows);
  });

  it('an overwrite replaces the crops and deletes the old assets nobody else uses', async () => {
    const old = await stack.context.catalog.rowsForKey(key);
    const [outcome] = await sync(await putPhoto(key, await noiseJpeg(700, 700, 2)));
    expect(outcome).toMatchObject({ status: 'resized', pruned: { deleted: rowsPerPhoto, kept: 0 } });
    const rows = await stack.context.catalog.rowsForKey(key);
    expect(rows).toHaveLength(rowsPerPhoto);
    for (const row of old) expect(await exists(row.assetKey)).toBe(false);
    for (const row of rows) {
      expect(await exists(row.assetKey)).toBe(true);
      expect((await stack.store.head({ bucket: library, key: row.logicalKey }))!.redirectLocation).toBe(`/${row.assetKey}`);
    }
  });

  it('a delete removes pointers and rows but keeps the assets a duplicate still uses; the last delete removes them', async () => {
    const copy = 'uploads/copy.jpg';
    const [dup] = await sync(await putPhoto(copy, (await stack.store.get({ bucket: source, key })).body as Buffer));
    expect(dup).toMatchObject({ status: 'duplicate' });
    const rows = await stack.context.catalog.rowsForKey(key);

    const [removed] = await sync(await deletePhoto(key));
    // Its logical URLs are invalidated in the CDN (locally: the log `serve`'s CDN view applies).
    expect(removed).toEqual({ key, status: 'removed', deleted: { pointers: rowsPerPhoto, catalogRows: rowsPerPhoto, assets: 0 }, keptAssets: rowsPerPhoto, invalidated: rowsPerPhoto });
    expect(await stack.context.catalog.rowsForKey(key)).toEqual([]);
    for (const row of rows) {
      expect(await exists(row.logicalKey)).toBe(false);
      expect(await exists(row.assetKey)).toBe(true);
    }
    const copyRows = await stack.context.catalog.rowsForKey(copy);
    for (const row of copyRows) expect((await stack.store.head({ bucket: library, key: row.logicalKey }))!.redirectLocation).toBe(`/${row.assetKey}`);

    const [last] = await sync(await deletePhoto(copy));
    expect(last).toMatchObject({ status: 'removed', deleted: { assets: rowsPerPhoto } });
    for (const row of rows) expect(await exists(row.assetKey)).toBe(false);
  });

  it('the bucket decides, not the event: a "created" event for a key deleted since removes it', async () => {
    const late = 'uploads/late.jpg';
    const created = await putPhoto(late, await noiseJpeg(400, 300, 3));
    await sync(created);
    await stack.store.delete({ bucket: source, key: late });
    const [outcome] = await sync(created);
    expect(outcome).toMatchObject({ key: late, status: 'removed' });
    expect(await stack.context.catalog.rowsForKey(late)).toEqual([]);
  });

  it('records a corrupt upload FAILED with its reason; deleting it clears the failure', async () => {
    const bad = 'uploads/broken.jpg';
    const [outcome] = await sync(await putPhoto(bad, (await noiseJpeg(600, 400, 4)).subarray(0, 3000)));
    expect(outcome).toMatchObject({ key: bad, status: 'failed' });
    expect((await stack.context.catalog.failureFor(bad))?.error).toMatch(/cannot decode/);
    await sync(await deletePhoto(bad));
    expect(await stack.context.catalog.failureFor(bad)).toBeUndefined();
  });
});

describe('auto-start on a complete inventory report', () => {
  let starter: LocalRunStarter;
  const startRunHandler = () => makeStartRunHandler(() => ({ store: stack.store, starter, sourceBucket: source }), stack.telemetry);

  async function reportOf(keys: Record<string, Buffer>) {
    const objects = [];
    for (const [key, body] of Object.entries(keys)) {
      await stack.store.put({ bucket: source, key }, body, { contentType: 'image/jpeg' });
      const head = (await stack.store.head({ bucket: source, key }))!;
      objects.push({ key, size: head.size, etag: head.etag ?? '', lastModified: new Date() });
    }
    return writeInventoryReport(stack, INVENTORY, objects);
  }
  const checksumEvent = (manifestKey: string) => s3Event(LOCAL_NAMES.inventoryBucket, 'ObjectCreated:Put', manifestKey.replace(/manifest\.json$/, 'manifest.checksum'));

  beforeAll(() => {
    starter = new LocalRunStarter(stack, { timeScale: 0.001 });
  });

  it('starts one run per report, named after it; a duplicate event finds that run', async () => {
    const manifest = await reportOf({ 'batch/one.jpg': await noiseJpeg(500, 400, 11), 'batch/two words.jpg': await noiseJpeg(400, 500, 12) });
    const handler = startRunHandler();
    const [first] = await handler(checksumEvent(manifest.key));
    expect(first).toMatchObject({ alreadyStarted: false, manifest });
    const name = (first as { name: string }).name;
    expect(name).toMatch(/^inventory-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}Z-[0-9a-f]{16}$/);
    expect(starter.results.get(name)!.summary).toMatchObject({ items: 2, succeeded: 2, failed: 0 });
    // The ARN the starter reports is the one the execution ran as ($$.Execution.Id), built in one place.
    expect((first as { executionArn: string }).executionArn).toBe(starter.results.get(name)!.executionArn);
    expect(starter.results.get(name)!.executionArn).toBe(localExecutionArn(name));
    const report = verifyRun({ store: stack.store, catalog: stack.context.catalog, libraryBucket: library, presets }, await readInventoryReport(stack.store, manifest));
    expect(await report).toMatchObject({ items: 2, done: 2, discrepancies: [] });

    const [again] = await handler(checksumEvent(manifest.key));
    expect(again).toMatchObject({ alreadyStarted: true, name, executionArn: (first as { executionArn: string }).executionArn });
    expect(starter.results.size).toBe(1);
  });

  it('ignores other objects of the inventory bucket (data files, manifest.json itself)', async () => {
    const manifest = await reportOf({ 'batch/three.jpg': await noiseJpeg(300, 300, 13) });
    const outcomes = await startRunHandler()({
      Records: [...s3Event(LOCAL_NAMES.inventoryBucket, 'ObjectCreated:Put', manifest.key).Records!, ...s3Event(LOCAL_NAMES.inventoryBucket, 'ObjectCreated:Put', 'inventory/x/data/1.csv.gz').Records!],
    });
    expect(outcomes).toEqual([]);
  });

  it('refuses a report whose checksum does not match, before any write', async () => {
    const manifest = await reportOf({ 'batch/four.jpg': await noiseJpeg(300, 200, 14) });
    const checksumKey = manifest.key.replace(/manifest\.json$/, 'manifest.checksum');
    await stack.store.put({ bucket: LOCAL_NAMES.inventoryBucket, key: checksumKey }, Buffer.from('0123456789abcdef0123456789abcdef'), {});
    const before = await libraryContent();
    const runsBefore = await readdir(join(stack.dataDir, EXECUTIONS_DIR));
    const [outcome] = await startRunHandler()(checksumEvent(manifest.key));
    expect(outcome).toEqual({ manifest, refused: expect.stringMatching(/checksum/) });
    expect(await libraryContent()).toEqual(before);
    expect(await readdir(join(stack.dataDir, EXECUTIONS_DIR))).toEqual(runsBefore);
    expect(await stack.context.catalog.rowsForKey('batch/four.jpg')).toEqual([]);
  });

  it('refuses a versioned report (every object version listed), before any write', async () => {
    const manifest = await reportOf({ 'batch/five.jpg': await noiseJpeg(300, 200, 15) });
    const { createHash } = await import('node:crypto');
    const body = JSON.parse(Buffer.from((await stack.store.get(manifest)).body).toString('utf8'));
    const versioned = Buffer.from(JSON.stringify({ ...body, fileSchema: 'Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag' }));
    await stack.store.put(manifest, versioned, {});
    await stack.store.put({ bucket: LOCAL_NAMES.inventoryBucket, key: manifest.key.replace(/manifest\.json$/, 'manifest.checksum') }, Buffer.from(createHash('md5').update(versioned).digest('hex')), {});
    const before = await libraryContent();
    const [outcome] = await startRunHandler()(checksumEvent(manifest.key));
    expect(outcome).toEqual({ manifest, refused: expect.stringMatching(/lists every object version/) });
    expect(await libraryContent()).toEqual(before);
    expect(await stack.context.catalog.rowsForKey('batch/five.jpg')).toEqual([]);
  });
});
