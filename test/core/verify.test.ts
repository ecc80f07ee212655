/** verifyRun on in-memory ports: DONE, FAILED, and items whose catalog rows are of another bucket. */
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import type { StepContext } from '../../src/core/context';
import { dedupe } from '../../src/core/dedupe';
import type { InventoryRow } from '../../src/core/inventory/data-files';
import { encodeInventoryKey } from '../../src/core/inventory/keys';
import { validateConfig } from '../../src/core/presets';
import { putAsset } from '../../src/core/library';
import { recordFailure } from '../../src/core/record-failure';
import { repairRun } from '../../src/core/repair';
import { resize } from '../../src/core/resize';
import { TransientError } from '../../src/core/errors';
import { verifyRun } from '../../src/core/verify';
import { BLUE, GREEN, RED, animatedImage } from '../helpers/animated';
import { noiseJpeg } from '../helpers/images';
import { MemoryCatalog } from '../helpers/memory-catalog';
import { MemoryStore } from '../helpers/memory-store';

const presets = validateConfig(config);
const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');

describe('verifyRun', () => {
  it('says DONE and FAILED for the run\'s own bucket, and a discrepancy for a report of another bucket with the same keys', async () => {
    const store = new MemoryStore();
    const catalog = new MemoryCatalog();
    const context: StepContext = { store, catalog, libraryBucket: 'library', config, presets };
    const photo = await noiseJpeg(300, 200);
    await store.put({ bucket: 'photos', key: 'a.jpg' }, photo, {});
    const item = { bucket: 'photos', key: encodeInventoryKey('a.jpg'), size: photo.byteLength, etag: md5(photo) };
    const outcome = await dedupe(context, { item, runId: 'r' });
    await resize(context, { item, runId: 'r', outcome });
    await recordFailure(context, { item: { bucket: 'photos', key: 'bad.jpg', etag: 'e' }, runId: 'r', error: { Error: 'PhotoError', Cause: 'cannot decode' } });

    const rows = (bucket: string): InventoryRow[] => [
      { Bucket: bucket, Key: 'a.jpg', Size: String(photo.byteLength), ETag: md5(photo) },
      { Bucket: bucket, Key: 'bad.jpg', Size: '1', ETag: 'e' },
    ];
    const verify = { store, catalog, libraryBucket: 'library', presets };
    expect(await verifyRun(verify, rows('photos'))).toMatchObject({ items: 2, done: 1, failed: 1, incomplete: 0, discrepancies: [] });
    const other = await verifyRun(verify, rows('someone-else'));
    expect(other).toMatchObject({ items: 2, done: 0, failed: 0, incomplete: 2 });
    expect(other.discrepancies).toEqual([
      { key: 'a.jpg', problem: 'the catalog rows are of s3://photos/a.jpg, the inventory\'s item of s3://someone-else/a.jpg' },
      { key: 'bad.jpg', problem: 'the failure row is of s3://photos/bad.jpg, the inventory\'s item of s3://someone-else/bad.jpg' },
    ]);
  });

  // A TransientError is what an AWS call throws once the SDK's own retries are spent (src/aws/transient.ts).
  // ProvisionedThroughputExceededException: "The AWS SDKs for DynamoDB automatically retry requests that
  // receive this exception. Your request is eventually successful, unless your retry queue is too large
  // to finish" (DynamoDB API Reference, ProvisionedThroughputExceededException; Developer Guide, "Error
  // retries and exponential backoff"). CI met one in test/local/robustness.test.ts's audit of a run with
  // 15 % throttling injected: one item "could not be checked" and the test failed.
  it('checks an item again after the pass when its check met a TransientError, counting its assets once; what fails twice is "could not be checked"', async () => {
    const store = new MemoryStore();
    const catalog = new MemoryCatalog();
    const context: StepContext = { store, catalog, libraryBucket: 'library', config, presets };
    const rows: InventoryRow[] = [];
    for (const name of ['a.jpg', 'b.jpg', 'c.jpg']) {
      const photo = await noiseJpeg(300, 200, name.charCodeAt(0));
      await store.put({ bucket: 'photos', key: name }, photo, {});
      const item = { bucket: 'photos', key: encodeInventoryKey(name), size: photo.byteLength, etag: md5(photo) };
      await resize(context, { item, runId: 'r', outcome: await dedupe(context, { item, runId: 'r' }) });
      rows.push({ Bucket: 'photos', Key: name, Size: String(photo.byteLength), ETag: md5(photo) });
    }
    const clean = await verifyRun({ store, catalog, libraryBucket: 'library', presets }, rows);
    expect(clean).toMatchObject({ items: 3, done: 3, incomplete: 0, discrepancies: [] });

    // b.jpg: its first check dies after some of its HEADs (counted by then); c.jpg: every check dies.
    const heads = new Map<string, number>();
    const flaky = {
      ...store,
      get: store.get.bind(store),
      openRead: store.openRead.bind(store),
      put: store.put.bind(store),
      delete: store.delete.bind(store),
      list: store.list.bind(store),
      head: async (ref: { bucket: string; key: string }) => {
        const n = (heads.get(ref.key) ?? 0) + 1;
        heads.set(ref.key, n);
        if (ref.key === 'medium/b.jpg' && n === 1) throw new TransientError('HeadObject library medium/b.jpg: SlowDown: Please reduce your request rate.');
        if (ref.key === 'medium/c.jpg') throw new TransientError('HeadObject library medium/c.jpg: SlowDown: Please reduce your request rate.');
        return store.head(ref);
      },
    };
    const report = await verifyRun({ store: flaky, catalog, libraryBucket: 'library', presets }, rows, { secondPassDelayMs: 0 });
    expect(heads.get('medium/b.jpg')).toBe(2);
    expect(heads.get('medium/c.jpg')).toBe(2); // once in the pass, once after it: never more
    expect(report).toMatchObject({ items: 3, done: 2, failed: 0, incomplete: 1, unfinishedKeys: ['c.jpg'], damagedKeys: [] });
    expect(report.discrepancies).toEqual([{ key: 'c.jpg', problem: 'could not be checked: TransientError: HeadObject library medium/c.jpg: SlowDown: Please reduce your request rate.' }]);
    // a.jpg and b.jpg each counted once, as in the clean audit; c.jpg's partial checks are not counted.
    expect(report.assetsChecked).toBe((clean.assetsChecked * 2) / 3);
    expect(report.pointersChecked).toBe((clean.pointersChecked * 2) / 3);
  });

  it('does not check again an item whose check threw something else than a TransientError', async () => {
    const catalog = new MemoryCatalog();
    let queries = 0;
    catalog.rowsForKey = async () => {
      queries++;
      throw Object.assign(new Error('User is not authorized to perform: dynamodb:Query'), { name: 'AccessDeniedException' });
    };
    const report = await verifyRun({ store: new MemoryStore(), catalog, libraryBucket: 'library', presets }, [{ Bucket: 'photos', Key: 'a.jpg' }], { secondPassDelayMs: 0 });
    expect(queries).toBe(1);
    expect(report).toMatchObject({ items: 1, incomplete: 1, unfinishedKeys: ['a.jpg'] });
    expect(report.discrepancies).toEqual([{ key: 'a.jpg', problem: 'could not be checked: AccessDeniedException: User is not authorized to perform: dynamodb:Query' }]);
  });
});

describe('verifyRun --deep and repair: a variant follows its primary\'s animation', () => {
  it('flags an AVIF variant of an animated GIF that is one frame (stored before variants followed their primary); repair renders it again as an animated WebP, and the audit after is clean', async () => {
    const animatedConfig = { ...config, presets: { medium: { ...config.presets.medium!, formats: ['avif' as const] } } };
    const variantPresets = validateConfig(animatedConfig);
    const store = new MemoryStore();
    const catalog = new MemoryCatalog();
    const context: StepContext = { store, catalog, libraryBucket: 'library', config: animatedConfig, presets: variantPresets };
    const gif = await animatedImage('gif', { width: 640, height: 480, colours: [RED, GREEN, BLUE] });
    await store.put({ bucket: 'photos', key: 'spin.gif' }, gif, {});
    const item = { bucket: 'photos', key: 'spin.gif', size: gif.byteLength, etag: md5(gif) };
    await resize(context, { item, runId: 'r', outcome: await dedupe(context, { item, runId: 'r' }) });
    const items: InventoryRow[] = [{ Bucket: 'photos', Key: 'spin.gif', Size: String(gif.byteLength), ETag: md5(gif) }];
    const verify = { store, catalog, libraryBucket: 'library', presets: variantPresets };
    expect((await verifyRun(verify, items, { deep: true })).discrepancies).toEqual([]);

    // What the earlier rule stored: the first frame as AVIF, its pointer and row naming it.
    const row = (await catalog.rowsForKey('spin.gif')).find((r) => r.preset === 'medium.avif')!;
    const still = await sharp(gif).resize(600, 400).avif({ quality: 55, effort: 2 }).toBuffer();
    const asset = await putAsset(context, still, 'avif', 'image/avif');
    await store.put({ bucket: 'library', key: row.logicalKey }, new Uint8Array(0), { redirectLocation: `/${asset.key}` });
    await catalog.putRows([{ ...row, assetKey: asset.key, sha256: asset.sha256, bytes: still.byteLength, contentType: 'image/avif' }]);

    const audit = await verifyRun(verify, items, { deep: true });
    expect(audit.damagedKeys).toEqual(['spin.gif']);
    expect(audit.discrepancies).toEqual([{ key: 'spin.gif', problem: 'medium.avif: a still image/avif of an animation its primary medium keeps (an animated WebP is made now)' }]);
    const repaired = await repairRun(context, items, 'repair');
    expect([repaired.repaired, repaired.after.discrepancies]).toEqual([['spin.gif'], []]);
    const now = (await catalog.rowsForKey('spin.gif')).find((r) => r.preset === 'medium.avif')!;
    expect([now.contentType, (await sharp((await store.get({ bucket: 'library', key: now.assetKey })).body).metadata()).pages]).toEqual(['image/webp', 3]);
  });

  it('passes a fresh library whose GIF primary and WebP variants hold different frame counts (each encoder merges near-identical frames by its own rule)', async () => {
    const animatedConfig = { ...config, presets: { medium: { ...config.presets.medium!, formats: ['webp' as const, 'avif' as const] } } };
    const variantPresets = validateConfig(animatedConfig);
    const store = new MemoryStore();
    const catalog = new MemoryCatalog();
    const context: StepContext = { store, catalog, libraryBucket: 'library', config: animatedConfig, presets: variantPresets };
    // Grey; the same grey with +10 red on alternate pixels; green.
    const width = 1200;
    const height = 800;
    const frame = width * height * 3;
    const pixels = Buffer.alloc(frame * 3, 128);
    for (let i = 0; i < width * height; i++) if ((i + Math.floor(i / width)) % 2 === 0) pixels[frame + i * 3] = 138;
    for (let i = 0; i < width * height; i++) pixels.set([0, 200, 0], 2 * frame + i * 3);
    const gif = await sharp(pixels, { raw: { width, height: height * 3, channels: 3, pageHeight: height } }).gif({ loop: 0 }).toBuffer();
    await store.put({ bucket: 'photos', key: 'near.gif' }, gif, {});
    const item = { bucket: 'photos', key: 'near.gif', size: gif.byteLength, etag: md5(gif) };
    await resize(context, { item, runId: 'r', outcome: await dedupe(context, { item, runId: 'r' }) });
    const pages = async (preset: string) => {
      const row = (await catalog.rowsForKey('near.gif')).find((r) => r.preset === preset)!;
      return (await sharp((await store.get({ bucket: 'library', key: row.assetKey })).body).metadata()).pages;
    };
    // The case this test is for: the encoders disagree (else it proves nothing).
    expect(await pages('medium')).not.toBe(await pages('medium.webp'));
    const items: InventoryRow[] = [{ Bucket: 'photos', Key: 'near.gif', Size: String(gif.byteLength), ETag: md5(gif) }];
    expect((await verifyRun({ store, catalog, libraryBucket: 'library', presets: variantPresets }, items, { deep: true })).discrepancies).toEqual([]);
  });
});
