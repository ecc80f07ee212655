/**
 * Right after a change: a photo replaced or removed between two local runs, an on-demand size asked
 * of a photo the batch recorded FAILED. The library serves what the folder holds now, verify says
 * what is stale, and no failure is ever erased by anything but the photo's own batch outcome.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import { encodeKeyPath } from '../../src/core/cdn';
import { readInventoryReport } from '../../src/core/inventory';
import { sha256Hex } from '../../src/core/library';
import { repairRun } from '../../src/core/repair';
import { verifyRun } from '../../src/core/verify';
import { readLastRun, runLocalMigration } from '../../src/local/migrate';
import { type LocalServer, startLocalServer } from '../../src/local/serve';
import { LOCAL_NAMES, type LocalStack, openLocalStack } from '../../src/local/stack';
import { pixelAt, twoToneJpeg } from '../helpers/images';

let dir: string;
let stack: LocalStack;
let server: LocalServer;
const photosDir = () => join(dir, 'photos');

const solidJpeg = (background: string) => sharp({ create: { width: 640, height: 480, channels: 3, background } }).jpeg({ quality: 90 }).toBuffer();
const run = () => runLocalMigration({ photosDir: photosDir(), dataDir: stack.dataDir, stack, timeScale: 0.001 });
const items = async () => readInventoryReport(stack.store, (await readLastRun(stack.dataDir)).manifest);
const verifyContext = () => ({ store: stack.store, catalog: stack.context.catalog, libraryBucket: LOCAL_NAMES.libraryBucket, presets: stack.context.presets });
/** Website mode, followed to the end (no CDN cache in the way): 404 → API renders → pointer → asset. */
const viaWebsite = async (logicalKey: string) => {
  const response = await fetch(`${server.website.url}/${encodeKeyPath(logicalKey)}`);
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-changes-'));
  await mkdir(photosDir(), { recursive: true });
  await writeFile(join(photosDir(), 'replaced.jpg'), await solidJpeg('#d01010'));
  await writeFile(join(photosDir(), 'keep.jpg'), await twoToneJpeg(640, 480));
  const bad = await twoToneJpeg(400, 300);
  await writeFile(join(photosDir(), 'later.jpg'), bad.subarray(0, bad.length / 3));
  stack = await openLocalStack(join(dir, 'data'), { config });
  server = await startLocalServer(stack, { signingSecret: '' });
  const first = await run();
  expect(first.summary).toMatchObject({ items: 3, failed: 1 });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await stack?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('an overwritten photo', () => {
  it('loses its on-demand sizes of the old content at the rerun: the same URL then answers a crop of the new photo, and verify is clean', async () => {
    const before = await viaWebsite('dynamic/100x100/replaced.jpg');
    expect(before.status).toBe(200);
    expect((await pixelAt(before.body, 50, 50))[0]).toBeGreaterThan(180);

    await writeFile(join(photosDir(), 'replaced.jpg'), await solidJpeg('#1010d0'));
    await run();
    // The stale size is gone from the library and the catalog, before anyone asks again.
    expect(await stack.store.head({ bucket: LOCAL_NAMES.libraryBucket, key: 'dynamic/100x100/replaced.jpg' })).toBeUndefined();
    expect((await stack.context.catalog.rowsForKey('replaced.jpg')).map((row) => row.preset)).not.toContain('dynamic/100x100');

    const after = await viaWebsite('dynamic/100x100/replaced.jpg');
    expect(after.status).toBe(200);
    expect(after.body.equals(before.body)).toBe(false);
    const [red, , blue] = await pixelAt(after.body, 50, 50);
    expect(blue).toBeGreaterThan(180);
    expect(red).toBeLessThan(60);
    const rows = await stack.context.catalog.rowsForKey('replaced.jpg');
    const original = rows.find((row) => row.preset === 'original')!;
    expect(rows.find((row) => row.preset === 'dynamic/100x100')).toMatchObject({ sourceSha256: original.sha256, sourceEtag: original.sourceEtag });
    expect((await verifyRun(verifyContext(), await items(), { deep: true })).discrepancies).toEqual([]);
  }, 120_000);

  it('verify flags a row made from the old content (an on-demand render that raced the rerun), and repair drops it', async () => {
    const rows = await stack.context.catalog.rowsForKey('replaced.jpg');
    const size = rows.find((row) => row.preset === 'dynamic/100x100')!;
    const oldSha = sha256Hex(await solidJpeg('#d01010'));
    await stack.context.catalog.putRows([{ ...size, preset: 'dynamic/150x150', logicalKey: 'dynamic/150x150/replaced.jpg', sourceSha256: oldSha }]);
    await stack.store.put({ bucket: LOCAL_NAMES.libraryBucket, key: 'dynamic/150x150/replaced.jpg' }, new Uint8Array(0), { redirectLocation: `/${size.assetKey}` });

    const found = await verifyRun(verifyContext(), await items(), { deep: true });
    expect(found.damagedKeys).toEqual(['replaced.jpg']);
    expect(found.discrepancies).toEqual([{ key: 'replaced.jpg', problem: expect.stringMatching(/^dynamic\/150x150: made from other content \(sha-256 [0-9a-f]{64}, ETag .*\) than the original now/) }]);

    const repaired = await repairRun(stack.context, await items(), 'repair');
    expect(repaired.repaired).toEqual(['replaced.jpg']);
    expect(repaired.after.discrepancies).toEqual([]);
    expect((await stack.context.catalog.rowsForKey('replaced.jpg')).map((row) => row.preset)).not.toContain('dynamic/150x150');
    expect(await stack.store.head({ bucket: LOCAL_NAMES.libraryBucket, key: 'dynamic/150x150/replaced.jpg' })).toBeUndefined();
  }, 120_000);
});

describe('a photo the batch recorded FAILED', () => {
  it('keeps its failure row when an on-demand size of it is made (from a good object uploaded since): verify still lists it FAILED', async () => {
    expect(await stack.context.catalog.failureFor('later.jpg')).toMatchObject({ errorType: 'PhotoError' });
    // Someone uploads a good photo at that key straight to the source bucket (no live sync locally).
    await stack.store.put({ bucket: LOCAL_NAMES.sourceBucket, key: 'later.jpg' }, await solidJpeg('#10a010'), { contentType: 'image/jpeg' });
    const sized = await viaWebsite('dynamic/100x100/later.jpg');
    expect(sized.status).toBe(200);
    expect(await stack.context.catalog.failureFor('later.jpg')).toMatchObject({ errorType: 'PhotoError' });
    const report = await verifyRun(verifyContext(), await items());
    expect(report.failedKeys).toContain('later.jpg');
    expect(report.discrepancies.filter((d) => d.key === 'later.jpg')).toEqual([]);
  }, 60_000);
});
