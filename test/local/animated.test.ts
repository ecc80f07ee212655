/**
 * Animated originals end to end: the real state machine, handlers and emulators (runLocalMigration),
 * then an on-demand size; every stored asset decoded frame by frame.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config as defaultConfig } from '../../src/config';
import { serveDynamic } from '../../src/core/on-demand';
import { ORIGINAL } from '../../src/core/ports';
import type { PhotoScalerConfig } from '../../src/core/presets';
import { type LocalRunResult, runLocalMigration } from '../../src/local/migrate';
import { LOCAL_NAMES, type LocalStack, openLocalStack } from '../../src/local/stack';
import { BLUE, GREEN, RED, animatedImage, frameCentre, framesOf, near } from '../helpers/animated';
import { isLibraryContent, listKeys } from '../helpers/library';

const COLOURS = [RED, GREEN, BLUE];
const DELAY = [120, 240, 360];
// `auto` presets keep the animation; `large` is a JPEG: the first frame.
const config: PhotoScalerConfig = {
  ...defaultConfig,
  presets: {
    thumb: { width: 80, height: 80, fit: 'cover' },
    small: { width: 300, height: 200, fit: 'cover' },
    large: { width: 1024, height: 1024, fit: 'inside', format: 'jpeg' },
  },
};

let dir: string;
let stack: LocalStack;
let first: LocalRunResult;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-animated-'));
  await mkdir(join(dir, 'photos'), { recursive: true });
  await writeFile(join(dir, 'photos/spin.gif'), await animatedImage('gif', { width: 640, height: 480, colours: COLOURS, delay: DELAY, loop: 0 }));
  await writeFile(join(dir, 'photos/spin.webp'), await animatedImage('webp', { width: 640, height: 480, colours: COLOURS, delay: DELAY, loop: 4 }));
  await writeFile(join(dir, 'photos/still.gif'), await animatedImage('gif', { width: 640, height: 480, colours: [GREEN] }));
  stack = await openLocalStack(join(dir, 'data'), { config });
  first = await runLocalMigration({ photosDir: join(dir, 'photos'), dataDir: join(dir, 'data'), stack, config, timeScale: 0 });
}, 180_000);

afterAll(async () => {
  await stack?.close();
  await rm(dir, { recursive: true, force: true });
});

async function assetOf(key: string, preset: string) {
  const row = (await stack.context.catalog.rowsForKey(key)).find((r) => r.preset === preset)!;
  const body = (await stack.store.get({ bucket: LOCAL_NAMES.libraryBucket, key: row.assetKey })).body;
  return { row, body: Buffer.from(body) };
}

describe('photo-scaler run on animated originals', () => {
  it('succeeds: every photo resized, 3 presets each', () => {
    expect(first.status).toBe('SUCCEEDED');
    expect(first.summary).toMatchObject({ items: 3, failed: 0, resized: 3, assets: 3 * 4, pointers: 3 * 4, catalogRows: 3 * 4 });
  });

  it.each([
    ['spin.gif', 'gif', 0],
    ['spin.webp', 'webp', 4],
  ] as const)('%s: `auto` presets are animated %s (3 frames of the preset size, colours, loop, delays); the JPEG preset is the first frame', async (key, format, loop) => {
    const original = await assetOf(key, ORIGINAL);
    expect([original.row.width, original.row.height]).toEqual([640, 480]);
    for (const [preset, width, height] of [['thumb', 80, 80], ['small', 300, 200]] as const) {
      const { row, body } = await assetOf(key, preset);
      expect([row.contentType, row.width, row.height, row.assetKey.split('.').pop()]).toEqual([`image/${format}`, width, height, format]);
      expect(await framesOf(body)).toEqual({ format, pages: 3, width, height, loop, delay: DELAY });
      for (const [page, colour] of COLOURS.entries()) expect(await frameCentre(body, page), `${preset} frame ${page}`).toEqual(near(colour));
    }
    const large = await assetOf(key, 'large');
    expect(large.row).toMatchObject({ contentType: 'image/jpeg', width: 640, height: 480 });
    expect(await framesOf(large.body)).toMatchObject({ format: 'jpeg', pages: 1, width: 640, height: 480 });
    expect(await frameCentre(large.body, 0)).toEqual(near(RED));
  });

  it('a still GIF renders as before: JPEG presets', async () => {
    for (const preset of ['thumb', 'small', 'large']) {
      const { row, body } = await assetOf('still.gif', preset);
      expect(row.contentType).toBe('image/jpeg');
      expect(await framesOf(body)).toMatchObject({ format: 'jpeg', pages: 1 });
      expect(await frameCentre(body, 0)).toEqual(near(GREEN));
    }
  });

  it('an on-demand size of an animated GIF is animated, though a stored JPEG preset is large enough to serve as its source', async () => {
    const context = { ...stack.context, sourceBucket: LOCAL_NAMES.sourceBucket };
    const result = await serveDynamic(context, { size: '300x200-inside', key: 'spin.gif' });
    expect(result).toMatchObject({ status: 301, rendered: true, asset: { contentType: 'image/gif' } });
    const body = Buffer.from((result as { asset: { body: Uint8Array } }).asset.body);
    expect(await framesOf(body)).toEqual({ format: 'gif', pages: 3, width: 267, height: 200, loop: 0, delay: DELAY });
    for (const [page, colour] of COLOURS.entries()) expect(await frameCentre(body, page)).toEqual(near(colour));
  });

  it('writes nothing new when run again', async () => {
    const before = (await listKeys(stack.s3, LOCAL_NAMES.libraryBucket)).filter(isLibraryContent);
    const again = await runLocalMigration({ photosDir: join(dir, 'photos'), dataDir: join(dir, 'data'), stack, config, timeScale: 0.001 });
    expect(again.summary).toMatchObject({ items: 3, assets: 0, pointers: 0, catalogRows: 0, failed: 0, unchanged: 3 });
    expect((await listKeys(stack.s3, LOCAL_NAMES.libraryBucket)).filter(isLibraryContent)).toEqual(before);
  });
});
