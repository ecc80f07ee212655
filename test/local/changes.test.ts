/**
 * Right after a change: a photo replaced or removed between two local runs, an on-demand size asked
 * of a photo the batch recorded FAILED. The library serves what the folder holds now, verify says
 * what is stale, and no failure is ever erased by anything but the photo's own batch outcome.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, unlink, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import { encodeKeyPath } from '../../src/core/cdn';
import { readInventoryReport } from '../../src/core/inventory/read';
import { sha256Hex } from '../../src/core/library';
import { pruneLibrary } from '../../src/core/prune';
import { repairRun } from '../../src/core/repair';
import { verifyRun } from '../../src/core/verify';
import { readLastRun, runLocalMigration } from '../../src/local/migrate';
import { type LocalServer, startLocalServer } from '../../src/local/serve';
import { LOCAL_NAMES, type LocalStack, openLocalStack } from '../../src/local/stack';
import { noiseJpeg, pixelAt, twoToneJpeg } from '../helpers/images';

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
  await writeFile(join(photosDir(), 'gone.jpg'), await noiseJpeg(500, 400, 3));
  await writeFile(join(photosDir(), 'twin.jpg'), await noiseJpeg(500, 400, 3));
  await writeFile(join(photosDir(), 'solo.jpg'), await noiseJpeg(500, 400, 4));
  stack = await openLocalStack(join(dir, 'data'), { config });
  server = await startLocalServer(stack, { signingSecret: '' });
  const first = await run();
  expect(first.summary).toMatchObject({ items: 6, failed: 1 });
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

const libraryHas = async (key: string) => (await stack.store.head({ bucket: LOCAL_NAMES.libraryBucket, key })) !== undefined;
const assetsOf = async (key: string) => (await stack.context.catalog.rowsForKey(key)).map((row) => row.assetKey);

describe('a photo removed from the folder', () => {
  it('leaves the library at the next run through live sync\'s removal: source object, pointers, rows, its own assets — an asset another key uses stays', async () => {
    const soloAssets = await assetsOf('solo.jpg');
    const goneAssets = await assetsOf('gone.jpg');
    expect(soloAssets).toHaveLength(5);
    await unlink(join(photosDir(), 'solo.jpg'));
    await unlink(join(photosDir(), 'gone.jpg'));

    const result = await run();
    expect(result.removed).toEqual(['gone.jpg', 'solo.jpg']);
    expect(result.summary.items).toBe(4);
    for (const key of ['gone.jpg', 'solo.jpg']) {
      expect(await stack.store.head({ bucket: LOCAL_NAMES.sourceBucket, key }), key).toBeUndefined();
      expect(await stack.context.catalog.rowsForKey(key)).toEqual([]);
      for (const logical of [key, `thumb/${key}`, `small/${key}`, `medium/${key}`, `large/${key}`]) expect(await libraryHas(logical), logical).toBe(false);
    }
    for (const asset of soloAssets) expect(await libraryHas(asset), asset).toBe(false);
    // twin.jpg has the same bytes as gone.jpg: every asset they shared stays, and twin is served.
    for (const asset of goneAssets) expect(await libraryHas(asset), asset).toBe(true);
    expect((await viaWebsite('small/twin.jpg')).status).toBe(200);
    expect((await viaWebsite('small/solo.jpg')).status).toBe(404);
    expect((await verifyRun(verifyContext(), await items(), { deep: true })).discrepancies).toEqual([]);
  }, 120_000);

  it('a rerun with nothing removed removes nothing', async () => {
    const result = await run();
    expect(result.removed).toBeUndefined();
    expect(result.notMirrored).toBeUndefined();
  }, 60_000);
});

describe('prune', () => {
  it('finds the assets no row references (the replaced photo\'s old crops), takes none younger than the grace period, deletes them only when applied', async () => {
    const young = await pruneLibrary(stack.context, { graceMs: 3_600_000 });
    expect(young).toMatchObject({ orphans: 0, deleted: 0, referenced: 0 });
    expect(young.tooNew).toBe(young.assets);

    const dry = await pruneLibrary(stack.context, { graceMs: 0 });
    // replaced.jpg's red original, its 4 crops and its old 100x100 on-demand size.
    expect(dry.orphans).toBe(6);
    expect(dry).toMatchObject({ applied: false, deleted: 0, tooNew: 0, assets: dry.referenced + dry.orphans });
    for (const key of dry.orphanKeys) {
      expect(await libraryHas(key), key).toBe(true);
      expect(await stack.context.catalog.keysForHash(key.split('/').pop()!.split('.')[0]!)).toEqual([]);
    }
    const applied = await pruneLibrary(stack.context, { graceMs: 0, apply: true });
    expect(applied).toMatchObject({ applied: true, orphans: 6, deleted: 6 });
    for (const key of dry.orphanKeys) expect(await libraryHas(key), key).toBe(false);
    expect((await verifyRun(verifyContext(), await items(), { deep: true })).discrepancies).toEqual([]);
    expect(await pruneLibrary(stack.context, { graceMs: 0 })).toMatchObject({ orphans: 0 });
  }, 120_000);
});

describe('another folder on the same data dir', () => {
  it('adds its photos and removes nothing: the data dir mirrors the folder of its first run, and says so', async () => {
    const other = join(dir, 'other-photos');
    await mkdir(other, { recursive: true });
    await writeFile(join(other, 'elsewhere.jpg'), await noiseJpeg(300, 200, 9));
    const result = await runLocalMigration({ photosDir: other, dataDir: stack.dataDir, stack, timeScale: 0.001 });
    expect(result.summary).toMatchObject({ items: 1, failed: 0 });
    expect(result.removed).toBeUndefined();
    expect(result.notMirrored).toMatch(/^4 photos of the library are not in .*other-photos: the data dir mirrors .*\/photos, so nothing was removed$/);
    expect(await libraryHas('small/keep.jpg')).toBe(true);
  }, 60_000);
});

describe('photo-scaler prune (CLI)', () => {
  it('is a dry run unless --apply, prints one JSON object, and refuses a malformed --grace before opening anything', async () => {
    await server.close();
    await stack.close();
    const bin = join(import.meta.dirname, '../../scripts/photo-scaler.mjs');
    const cli = async (...args: string[]) => {
      try {
        const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], { timeout: 60_000 });
        return { code: 0, stdout, stderr };
      } catch (error) {
        const e = error as { code?: number; stdout?: string; stderr?: string };
        return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
      }
    };
    const bad = await cli('prune', '--data-dir', join(dir, 'data'), '--grace', 'soon');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--grace soon: use a number with s, m, h or d/);
    // Make an orphan: a stray asset nobody references (as a killed run might leave).
    const data = join(dir, 'data');
    stack = await openLocalStack(data, { config });
    const stray = await noiseJpeg(64, 64, 11);
    const { putAsset } = await import('../../src/core/library');
    const asset = await putAsset(stack.context, stray, 'jpg', 'image/jpeg');
    await stack.close();

    const dry = await cli('prune', '--data-dir', data, '--grace', '0', '--json');
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ applied: false, orphans: 1, deleted: 0, orphanKeys: [asset.key] });
    const applied = await cli('prune', '--data-dir', data, '--grace', '0', '--apply');
    expect(applied.stdout).toMatch(/1 orphans .*\n {2}assets\/.*\ndeleted 1 orphans\n$/);
    stack = await openLocalStack(data, { config });
    expect(await libraryHas(asset.key)).toBe(false);
    server = await startLocalServer(stack, { signingSecret: '' });
  }, 120_000);
});
