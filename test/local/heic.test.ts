/**
 * HEIC originals through the local stack (the real state machine, handlers, s3rver and dynalite): a
 * batch run renders them like any photo, the on-demand path renders their sizes, and a HEIC over the
 * pixel limit or truncated is a per-photo failure with its reason. The HEIC files are made here by
 * heif-enc (a missing heif-enc fails this file; CI installs it).
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { config } from '../../src/config';
import { encodeKeyPath } from '../../src/core/cdn';
import { ORIGINAL } from '../../src/core/ports';
import { runLocalMigration } from '../../src/local/migrate';
import { type LocalServer, startLocalServer } from '../../src/local/serve';
import { LOCAL_NAMES, type LocalStack, openLocalStack } from '../../src/local/stack';
import { cornerPhoto, encodeHeic, requireHeifEnc, withRotation } from '../helpers/heic';
import { pixelAt } from '../helpers/images';

/** Pixel decodes heic-decode is asked for, by image size (the container read is not one). */
const decodes = vi.hoisted(() => ({ sizes: [] as string[] }));
vi.mock('heic-decode', async (importOriginal) => {
  const { countingDecoder } = await import('../helpers/heic');
  return countingDecoder(await importOriginal<typeof import('heic-decode')>(), (image) => decodes.sizes.push(`${image.width}x${image.height}`));
});

/** Below the large HEIC's 1600x1200, above the others'. */
const MAX_PIXELS = 1_500_000;
const RED = [expect.closeTo(255, -1.5), expect.closeTo(0, -1.5), expect.closeTo(0, -1.5)];

let dir: string;
let stack: LocalStack;
let server: LocalServer;
let photos: Record<string, Buffer>;

beforeAll(async () => {
  await requireHeifEnc();
  const landscape = await encodeHeic(await cornerPhoto(1200, 900));
  const large = await encodeHeic(await cornerPhoto(1600, 1200));
  photos = {
    'iphone/landscape.heic': landscape,
    // A portrait as an iPhone stores it: landscape pixels, irot 90° clockwise, Exif Orientation 6 too.
    'iphone/portrait.heic': withRotation(await encodeHeic(await cornerPhoto(1200, 900, { orientation: 6 })), 3),
    'iphone/too-large.heic': large,
    'iphone/truncated.heic': landscape.subarray(0, Math.floor(landscape.length / 2)),
  };
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-heic-'));
  for (const [name, body] of Object.entries(photos)) {
    await mkdir(join(dir, 'photos', 'iphone'), { recursive: true });
    await writeFile(join(dir, 'photos', name), body);
  }
  stack = await openLocalStack(join(dir, 'data'), { config: { ...config, limits: { ...config.limits, maxInputPixels: MAX_PIXELS } } });
  server = await startLocalServer(stack, { signingSecret: '' });
}, 180_000);

afterAll(async () => {
  await server?.close();
  await stack?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('HEIC originals on the local stack', () => {
  it('on demand, before any batch run: a size of a HEIC is rendered (upright), one over the pixel limit is a 413', async () => {
    for (const name of ['iphone/portrait.heic', 'iphone/too-large.heic', 'iphone/truncated.heic']) {
      await stack.store.put({ bucket: LOCAL_NAMES.sourceBucket, key: `fresh/${name}` }, photos[name]!, {});
    }
    decodes.sizes.length = 0;
    const portrait = await fetch(`${server.cdn.url}/dynamic/800x600-inside/${encodeKeyPath('fresh/iphone/portrait.heic')}`);
    expect(portrait.status).toBe(200);
    const body = Buffer.from(await portrait.arrayBuffer());
    expect(await sharp(body).metadata()).toMatchObject({ format: 'jpeg', width: 450, height: 600, space: 'srgb' });
    expect(await pixelAt(body, 440, 5)).toEqual(RED);
    const tooLarge = await fetch(`${server.cdn.url}/dynamic/640x480/${encodeKeyPath('fresh/iphone/too-large.heic')}`);
    expect(tooLarge.status).toBe(413);
    expect(await tooLarge.text()).toMatch(/too large: 1600x1200/);
    const truncated = await fetch(`${server.cdn.url}/dynamic/640x480/${encodeKeyPath('fresh/iphone/truncated.heic')}`);
    expect(truncated.status).toBe(422);
    // The portrait was decoded once; the large one never.
    expect(decodes.sizes.filter((size) => size === '1600x1200')).toEqual([]);
    expect(decodes.sizes).toContain('900x1200');
  }, 60_000);

  it('a batch run renders every preset of each HEIC (DONE) as sRGB JPEG, upright, and records the large and truncated ones FAILED', async () => {
    decodes.sizes.length = 0;
    const result = await runLocalMigration({ photosDir: join(dir, 'photos'), dataDir: join(dir, 'data'), stack, timeScale: 0 });
    expect(Object.fromEntries(result.summary.failures.map((failure) => [failure.key, failure.reason]))).toEqual({ 'iphone/too-large.heic': 'too-large', 'iphone/truncated.heic': 'corrupt' });
    expect(result.summary.failures.find((failure) => failure.key === 'iphone/too-large.heic')?.error).toBe(`too large: 1600x1200 is 1920000 pixels, limit is ${MAX_PIXELS}`);
    expect(decodes.sizes.filter((size) => size === '1600x1200')).toEqual([]);
    const expected: Record<string, Record<string, string>> = {
      'iphone/landscape.heic': { thumb: '80x80', small: '300x200', medium: '600x400', large: '1024x768' },
      'iphone/portrait.heic': { thumb: '80x80', small: '300x200', medium: '600x400', large: '768x1024' },
    };
    for (const [key, sizes] of Object.entries(expected)) {
      const rows = await stack.context.catalog.rowsForKey(key);
      expect(rows.map((row) => row.preset).sort(), key).toEqual(['large', 'medium', 'original', 'small', 'thumb']);
      const original = rows.find((row) => row.preset === ORIGINAL)!;
      expect(original.assetKey).toMatch(/\.heic$/);
      for (const row of rows.filter((r) => r.preset !== ORIGINAL)) {
        const asset = await stack.store.get({ bucket: LOCAL_NAMES.libraryBucket, key: row.assetKey });
        const meta = await sharp(asset.body).metadata();
        expect(meta, `${key} ${row.preset}`).toMatchObject({ format: 'jpeg', space: 'srgb' });
        expect(`${meta.width}x${meta.height}`, `${key} ${row.preset}`).toBe(sizes[row.preset]);
        expect(`${row.width}x${row.height}`).toBe(sizes[row.preset]);
      }
      // The red corner: top left of the landscape; the portrait's stored top left, turned 90° clockwise, top right.
      const large = await stack.store.get({ bucket: LOCAL_NAMES.libraryBucket, key: rows.find((row) => row.preset === 'large')!.assetKey });
      const [width] = sizes.large!.split('x').map(Number);
      expect(await pixelAt(large.body, key.includes('portrait') ? width! - 10 : 10, 10), key).toEqual(RED);
    }
  }, 180_000);
});
