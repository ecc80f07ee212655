/**
 * Variants (issue 18) through the batch path, end to end: the real state machine, handlers, s3rver and
 * dynalite, with a config whose `thumb` and `small` presets name `formats: ['webp', 'avif']`. Every
 * claim is checked on the stored bytes (decoded) and rows.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { humanSummary, jsonOf } from '../../src/cli/run';
import { config } from '../../src/config';
import { readInventoryReport } from '../../src/core/inventory/read';
import { ORIGINAL } from '../../src/core/ports';
import { type PhotoScalerConfig, validateConfig } from '../../src/core/presets';
import { pruneLibrary } from '../../src/core/prune';
import { repairRun } from '../../src/core/repair';
import { encodeInventoryKey } from '../../src/core/inventory/keys';
import type { S3Event } from '../../src/core/s3-events';
import { makeSyncHandler } from '../../src/handlers/sync';
import { verifyRun } from '../../src/core/verify';
import { buildReport } from '../../src/local/report';
import { renderReportHtml } from '../../src/local/report-html';
import { type LocalRunResult, runLocalMigration } from '../../src/local/migrate';
import { LOCAL_NAMES, type LocalStack, openLocalStack } from '../../src/local/stack';
import { startWebsite } from '../../src/local/website';
import { pixelAt, twoToneJpeg } from '../helpers/images';

const withFormats: PhotoScalerConfig = {
  ...config,
  presets: {
    ...config.presets,
    thumb: { ...config.presets.thumb!, formats: ['webp', 'avif'] },
    small: { ...config.presets.small!, formats: ['webp', 'avif'] },
  },
};
const presets = validateConfig(withFormats);
const VARIANTS = ['thumb.webp', 'thumb.avif', 'small.webp', 'small.avif'];
const SIZE: Record<string, [number, number]> = { thumb: [80, 80], small: [300, 200] };
const library = LOCAL_NAMES.libraryBucket;

let dir: string;
let photosDir: string;
let stack: LocalStack;
let first: LocalRunResult;

const PHOTOS = ['trips/landscape.jpg', 'trips/portrait.jpg', 'copies/landscape.jpg'];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-variants-'));
  photosDir = join(dir, 'photos');
  const landscape = await twoToneJpeg(1200, 800);
  const files: Record<string, Buffer> = {
    'trips/landscape.jpg': landscape,
    // Stored sideways with EXIF Orientation 6: upright it is 800x1200, red on the left.
    'trips/portrait.jpg': await twoToneJpeg(800, 1200, { orientation: 6 }),
    // The same bytes under another key: a duplicate, whose variants are reused.
    'copies/landscape.jpg': landscape,
    // Its first folder is a variant's name: it would collide with the thumb.webp crop of trap.jpg.
    'thumb.webp/trap.jpg': await twoToneJpeg(400, 300),
  };
  for (const [key, body] of Object.entries(files)) {
    await mkdir(join(photosDir, key, '..'), { recursive: true });
    await writeFile(join(photosDir, key), body);
  }
  stack = await openLocalStack(join(dir, 'data'), { config: withFormats });
  first = await runLocalMigration({ photosDir, dataDir: join(dir, 'data'), stack, config: withFormats });
}, 240_000);

afterAll(async () => {
  await stack?.close();
  await rm(dir, { recursive: true, force: true });
});

const head = (key: string) => stack.store.head({ bucket: library, key });
const items = async (result: LocalRunResult) => readInventoryReport(stack.store, result.manifest, { expectedSourceBucket: LOCAL_NAMES.sourceBucket });

describe('a run with formats: each variant its own asset, pointer and row', () => {
  it('counts variants: 2 distinct photos x (original + 4 crops + 4 variants) assets, 3 keys x 9 pointers and rows; run --json ends with variants', () => {
    expect(first.status).toBe('SUCCEEDED');
    expect(first.summary).toMatchObject({ items: 4, succeeded: 3, failed: 1, duplicates: 1, resized: 2 });
    expect(first.summary).toMatchObject({ assets: 2 * 9, pointers: 3 * 9, catalogRows: 3 * 9 + 1 });
    const json = jsonOf(first);
    expect(json).toMatchObject({ variants: 3 * 4 });
    expect(Object.keys(json).at(-1)).toBe('variants');
    expect(humanSummary(first, join(dir, 'data'))).toContain('  wrote 18 assets, 27 pointers, 28 catalog rows (12 of them variants: <preset>.<format>)\n');
  });

  it('refuses a source key whose first folder is a variant name, as one whose first folder is a preset name', () => {
    expect(first.summary.failures).toEqual([{ key: 'thumb.webp/trap.jpg', error: expect.stringMatching(/"thumb\.webp\/"/), reason: 'key-refused' }]);
  });

  it('every variant decodes as its format at its preset size, sRGB, upright; its row names its content type; its pointer redirects to it', async () => {
    const website = await startWebsite({ store: stack.store, bucket: library });
    try {
      for (const key of PHOTOS) {
        const rows = await stack.context.catalog.rowsForKey(key);
        expect(rows.map((row) => row.preset).sort(), key).toEqual([ORIGINAL, ...presets.map((p) => p.name)].sort());
        for (const name of VARIANTS) {
          const [preset, format] = name.split('.') as [string, 'webp' | 'avif'];
          const row = rows.find((r) => r.preset === name)!;
          const where = `${key} ${name}`;
          expect(row.logicalKey, where).toBe(`${name}/${key}`);
          expect(row.contentType, where).toBe(`image/${format}`);
          expect(row.assetKey, where).toMatch(new RegExp(`^assets/.*/${row.sha256}\\.${format}$`));
          expect(row.spec, where).toBe(presets.find((p) => p.name === name)!.spec);
          const body = (await stack.store.get({ bucket: library, key: row.assetKey })).body;
          const meta = await sharp(body).metadata();
          // libvips reports an AVIF as format heif, compression av1 (https://github.com/lovell/sharp/issues/2504).
          expect([meta.format, meta.width, meta.height, meta.space], where).toEqual([format === 'avif' ? 'heif' : 'webp', ...SIZE[preset]!, 'srgb']);
          if (format === 'avif') expect(meta.compression, where).toBe('av1');
          expect([row.width, row.height, row.bytes], where).toEqual([...SIZE[preset]!, body.byteLength]);
          expect(meta.orientation ?? 1, where).toBe(1);
          // Upright: red on the left, blue on the right (a sideways portrait would be red on top).
          const [w] = SIZE[preset]!;
          const [lr = 0, lg = 0, lb = 0] = await pixelAt(body, 5, 5);
          const [rr = 0, , rb = 0] = await pixelAt(body, w - 5, 5);
          expect([lr > 180, lg + lb < 150, rb > 180, rr < 80], where).toEqual([true, true, true, true]);
          // The pointer: 0 bytes, redirecting to the asset, which is served with the variant's type.
          const redirect = await fetch(`${website.url}/${encodeURI(row.logicalKey)}`, { redirect: 'manual' });
          expect([redirect.status, redirect.headers.get('location')], where).toEqual([301, `/${row.assetKey}`]);
          const served = await fetch(`${website.url}/${encodeURI(row.logicalKey)}`);
          expect(served.headers.get('content-type'), where).toBe(`image/${format}`);
          expect(Buffer.from(await served.arrayBuffer()).equals(body), where).toBe(true);
        }
      }
    } finally {
      await website.close();
    }
  });

  it('a duplicate photo reuses the variant assets of its twin (its own pointers and rows)', async () => {
    const twin = await stack.context.catalog.rowsForKey('trips/landscape.jpg');
    const copy = await stack.context.catalog.rowsForKey('copies/landscape.jpg');
    for (const name of VARIANTS) {
      expect(copy.find((r) => r.preset === name)!.assetKey, name).toBe(twin.find((r) => r.preset === name)!.assetKey);
      expect((await head(`${name}/copies/landscape.jpg`))?.redirectLocation, name).toBe(`/${twin.find((r) => r.preset === name)!.assetKey}`);
    }
  });

  it('the report lists each variant after its preset and counts them', async () => {
    const report = await buildReport(stack);
    expect(report.presets).toEqual(['thumb', 'thumb.webp', 'thumb.avif', 'small', 'small.webp', 'small.avif', 'medium', 'large']);
    const photo = report.photos.find((p) => p.key === 'trips/portrait.jpg')!;
    expect(photo.images.map((image) => image.preset)).toEqual([ORIGINAL, ...report.presets]);
    expect(report.catalog).toMatchObject({ crops: 3 * 8, variants: 3 * 4, distinctAssets: 2 * 9 });
    const html = renderReportHtml(report);
    expect(html).toContain('<b data-count="catalog-variants">12</b>');
    expect(html).toMatch(/data-preset="small\.avif" data-width="300" data-height="200">/);
  });

  it('a rerun writes nothing and run --json has no variants field; verify is clean; prune finds no orphan', async () => {
    const rerun = await runLocalMigration({ photosDir, dataDir: join(dir, 'data'), stack, config: withFormats });
    expect(rerun.summary).toMatchObject({ unchanged: 3, assets: 0, pointers: 0, catalogRows: 0 });
    expect(jsonOf(rerun)).not.toHaveProperty('variants');
    expect(humanSummary(rerun, join(dir, 'data'))).toContain('  wrote 0 assets, 0 pointers, 0 catalog rows\n');
    const report = await verifyRun(stack.context, await items(rerun), { deep: true });
    expect(report.discrepancies).toEqual([]);
    expect(report).toMatchObject({ done: 3, failed: 1, assetsChecked: 3 * 9, pointersChecked: 3 * 9 });
    const pruned = await pruneLibrary(stack.context, { graceMs: 0 });
    expect(pruned).toMatchObject({ assets: 2 * 9, referenced: 2 * 9, orphans: 0 });
  }, 120_000);
});

describe('verify and removal with variants', () => {
  it('verify flags a deleted variant pointer and a corrupted variant asset; --deep decodes variants and checks their format', async () => {
    const rows = await stack.context.catalog.rowsForKey('trips/portrait.jpg');
    const webp = rows.find((r) => r.preset === 'small.webp')!;
    const avif = rows.find((r) => r.preset === 'thumb.avif')!;
    const pointer = (await head(webp.logicalKey))!;
    const asset = (await stack.store.get({ bucket: library, key: avif.assetKey })).body;
    const run = await items(first);
    try {
      await stack.store.delete({ bucket: library, key: webp.logicalKey });
      // Same length, same metadata, the second half zeroed: only the bytes tell.
      const corrupt = Buffer.concat([asset.subarray(0, asset.byteLength >> 1), Buffer.alloc(asset.byteLength - (asset.byteLength >> 1))]);
      await stack.store.put({ bucket: library, key: avif.assetKey }, corrupt, { contentType: 'image/avif', metadata: { sha256: avif.sha256 } });
      const shallow = await verifyRun(stack.context, run);
      expect(shallow.discrepancies).toEqual([{ key: 'trips/portrait.jpg', problem: `small.webp: pointer ${webp.logicalKey} is missing` }]);
      const deep = await verifyRun(stack.context, run, { deep: true });
      expect(deep.damagedKeys).toEqual(['trips/portrait.jpg']);
      expect(deep.discrepancies.map((d) => d.problem)).toEqual([
        expect.stringMatching(/^small\.webp: pointer .* is missing$/),
        expect.stringMatching(/^thumb\.avif: asset bytes hash to [0-9a-f]{64}, the catalog says/),
        expect.stringMatching(/^thumb\.avif: asset does not decode as image\/avif: /),
      ]);
    } finally {
      await stack.store.put({ bucket: library, key: webp.logicalKey }, new Uint8Array(), { redirectLocation: pointer.redirectLocation });
      await stack.store.put({ bucket: library, key: avif.assetKey }, asset, { contentType: 'image/avif', metadata: { sha256: avif.sha256 } });
    }
    expect((await verifyRun(stack.context, run, { deep: true })).discrepancies).toEqual([]);
  });

  it('--deep flags a variant whose bytes are another format than its row says', async () => {
    const rows = await stack.context.catalog.rowsForKey('trips/landscape.jpg');
    const avif = rows.find((r) => r.preset === 'small.avif')!;
    const run = await items(first);
    try {
      await stack.context.catalog.putRows([{ ...avif, contentType: 'image/webp' }]);
      const deep = await verifyRun(stack.context, run, { deep: true });
      expect(deep.discrepancies).toEqual([{ key: 'trips/landscape.jpg', problem: 'small.avif: asset is image/avif, the catalog says image/webp' }]);
    } finally {
      await stack.context.catalog.putRows([avif]);
    }
  });

  it('repair renders a damaged variant again: a zeroed asset deleted and rewritten, a missing pointer put back', async () => {
    const rows = await stack.context.catalog.rowsForKey('trips/portrait.jpg');
    const webp = rows.find((r) => r.preset === 'thumb.webp')!;
    const avif = rows.find((r) => r.preset === 'small.avif')!;
    const asset = (await stack.store.get({ bucket: library, key: webp.assetKey })).body;
    await stack.store.put({ bucket: library, key: webp.assetKey }, Buffer.alloc(asset.byteLength), { contentType: 'image/webp', metadata: { sha256: webp.sha256 } });
    await stack.store.delete({ bucket: library, key: avif.logicalKey });
    const repaired = await repairRun(stack.context, await items(first), 'repair');
    expect(repaired.before.damagedKeys).toEqual(['trips/portrait.jpg']);
    expect([repaired.repaired, repaired.corruptAssetsDeleted, repaired.after.discrepancies]).toEqual([['trips/portrait.jpg'], 1, []]);
    expect(Buffer.from((await stack.store.get({ bucket: library, key: webp.assetKey })).body).equals(asset)).toBe(true);
    expect((await head(avif.logicalKey))?.redirectLocation).toBe(`/${avif.assetKey}`);
  }, 120_000);

  it('live sync: a new upload gets its variants, its deletion removes their pointers, rows and assets', async () => {
    const sync = makeSyncHandler(() => stack.context, stack.telemetry);
    const event = (eventName: string, key: string, object: { size?: number; etag?: string } = {}): S3Event => ({
      Records: [{ eventName, eventTime: new Date().toISOString(), s3: { bucket: { name: LOCAL_NAMES.sourceBucket }, object: { key: encodeInventoryKey(key), size: object.size, eTag: object.etag, sequencer: Date.now().toString(16) } } }],
    });
    const key = 'live/new photo.jpg';
    await stack.store.put({ bucket: LOCAL_NAMES.sourceBucket, key }, await twoToneJpeg(900, 600, { orientation: 3 }), { contentType: 'image/jpeg' });
    const object = (await stack.store.head({ bucket: LOCAL_NAMES.sourceBucket, key }))!;
    const [created] = await sync(event('ObjectCreated:Put', key, { size: object.size, etag: object.etag }));
    expect(created).toMatchObject({ key, status: 'resized', written: { variants: 4 } });
    const rows = await stack.context.catalog.rowsForKey(key);
    for (const name of VARIANTS) {
      const row = rows.find((r) => r.preset === name)!;
      expect((await head(`${name}/${key}`))?.redirectLocation, name).toBe(`/${row.assetKey}`);
      const body = (await stack.store.get({ bucket: library, key: row.assetKey })).body;
      const [r = 0, , b = 0] = await pixelAt(body, 2, 2);
      expect([r > 180, b < 80], `${name} upright`).toEqual([true, true]);
    }
    await stack.store.delete({ bucket: LOCAL_NAMES.sourceBucket, key });
    const [removed] = await sync(event('ObjectRemoved:Delete', key));
    expect(removed).toMatchObject({ key, status: 'removed', deleted: { pointers: 9, catalogRows: 9 } });
    // Content-addressed: a two-tone photo's centre crops may be byte for byte another photo's; those stay.
    expect(removed?.status === 'removed' && removed.deleted.assets + removed.keptAssets).toBe(9);
    expect(await stack.context.catalog.rowsForKey(key)).toEqual([]);
    for (const name of VARIANTS) {
      const row = rows.find((r) => r.preset === name)!;
      const stillUsed = (await stack.context.catalog.keysForHash(row.sha256)).length > 0;
      expect([await head(`${name}/${key}`), Boolean(await head(row.assetKey))], name).toEqual([undefined, stillUsed]);
    }
  }, 120_000);

  it('a photo gone from the folder loses its variant pointers and rows; variant assets no one else uses go, shared ones stay', async () => {
    const portrait = await stack.context.catalog.rowsForKey('trips/portrait.jpg');
    const landscape = await stack.context.catalog.rowsForKey('trips/landscape.jpg');
    await rm(join(photosDir, 'trips/portrait.jpg'));
    await rm(join(photosDir, 'copies/landscape.jpg'));
    const result = await runLocalMigration({ photosDir, dataDir: join(dir, 'data'), stack, config: withFormats });
    expect(result.removed?.sort()).toEqual(['copies/landscape.jpg', 'trips/portrait.jpg']);
    expect(await stack.context.catalog.rowsForKey('trips/portrait.jpg')).toEqual([]);
    expect(await stack.context.catalog.rowsForKey('copies/landscape.jpg')).toEqual([]);
    for (const name of VARIANTS) {
      expect(await head(`${name}/trips/portrait.jpg`), name).toBeUndefined();
      expect(await head(`${name}/copies/landscape.jpg`), name).toBeUndefined();
      expect(await head(portrait.find((r) => r.preset === name)!.assetKey), name).toBeUndefined();
      expect(await head(landscape.find((r) => r.preset === name)!.assetKey), name).toBeDefined();
      expect(await head(`${name}/trips/landscape.jpg`), name).toBeDefined();
    }
    expect((await verifyRun(stack.context, await items(result), { deep: true })).discrepancies).toEqual([]);
  }, 120_000);
});
