/**
 * Odd inputs on both paths: a batch run records each photo DONE or FAILED with a clear reason, and
 * the on-demand path (the API of website mode and the CDN view) answers every allowed size of every
 * one of them with a 2xx, 3xx or 4xx — never a 5xx, never a raw libvips message.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import { encodeKeyPath } from '../../src/core/cdn';
import { parseSize } from '../../src/core/presets';
import { runLocalMigration } from '../../src/local/migrate';
import { type LocalServer, startLocalServer } from '../../src/local/serve';
import { LOCAL_NAMES, type LocalStack, openLocalStack } from '../../src/local/stack';
import { twoToneJpeg } from '../helpers/images';

let dir: string;
let stack: LocalStack;
let server: LocalServer;

const solid = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: '#c03020' } }).png().toBuffer();

/** Photos of odd geometry or encoding, each valid: every preset of each can be rendered. */
async function oddPhotos(): Promise<Record<string, Buffer>> {
  return {
    'strip-100000x1.png': await solid(100_000, 1),
    'column-1x100000.png': await solid(1, 100_000),
    'dot-1x1.png': await solid(1, 1),
    'deep-16bit.png': await sharp({ create: { width: 300, height: 200, channels: 3, background: '#3366cc' } }).png().toColourspace('rgb16').toBuffer(),
    'cmyk.jpg': await sharp({ create: { width: 400, height: 300, channels: 3, background: '#3366cc' } }).toColourspace('cmyk').jpeg().toBuffer(),
    'grey-alpha.png': await sharp({ create: { width: 320, height: 240, channels: 4, background: { r: 90, g: 90, b: 90, alpha: 0.5 } } }).greyscale().png().toBuffer(),
    'animated.gif': await sharp({ create: { width: 64, height: 48, channels: 3, background: '#00aa00' } }).gif().toBuffer(),
  };
}

/** Bad photos: each is a per-photo failure (batch) or a 4xx (on demand). */
async function badPhotos(): Promise<Record<string, Buffer>> {
  const jpeg = await twoToneJpeg(640, 480);
  return {
    'truncated.jpg': jpeg.subarray(0, jpeg.length / 3),
    'text.jpg': Buffer.from('not an image at all, just text\n'),
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-odd-'));
  await mkdir(join(dir, 'photos'), { recursive: true });
  for (const [name, body] of Object.entries({ ...(await oddPhotos()), ...(await badPhotos()) })) await writeFile(join(dir, 'photos', name), body);
  stack = await openLocalStack(join(dir, 'data'), { config });
  server = await startLocalServer(stack, { signingSecret: '' });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await stack?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('odd geometry and encodings', () => {
  it('on demand, before any batch run: every allowed size of every odd photo is 200 at its size, of every bad one a 4xx with a reason — never a 5xx', async () => {
    const odd = await oddPhotos();
    const bad = await badPhotos();
    for (const [name, body] of Object.entries({ ...odd, ...bad })) {
      await stack.store.put({ bucket: LOCAL_NAMES.sourceBucket, key: `fresh/${name}` }, body, {});
    }
    const answers: string[] = [];
    for (const name of [...Object.keys(odd), ...Object.keys(bad)]) {
      await Promise.all(config.onDemand.sizes.map(async (size) => {
        // Through the CDN view: the resolver renders the miss and answers 200 with the bytes.
        const response = await fetch(`${server.cdn.url}/dynamic/${size}/${encodeKeyPath(`fresh/${name}`)}`);
        const body = Buffer.from(await response.arrayBuffer());
        answers.push(`${name} ${size} ${response.status}`);
        expect(response.status, `${name} ${size}: ${body.toString().slice(0, 200)}`).toBeLessThan(500);
        if (name in odd) {
          expect(response.status, `${name} ${size}`).toBe(200);
          const meta = await sharp(body).metadata();
          const wanted = parseSize(size)!;
          if (wanted.fit === 'cover') expect(`${meta.width}x${meta.height}`).toBe(`${wanted.width}x${wanted.height}`);
          else expect(meta.width! <= wanted.width && meta.height! <= wanted.height).toBe(true);
        } else {
          expect(response.status, `${name} ${size}`).toBe(422);
          expect(body.toString()).not.toMatch(/vips|affine|at .*\.ts:/);
        }
      }));
    }
    expect(answers).toHaveLength((Object.keys(odd).length + Object.keys(bad).length) * config.onDemand.sizes.length);
  }, 120_000);

  it('the API of website mode answers the strip\'s sizes with a redirect, never a 5xx', async () => {
    for (const size of config.onDemand.sizes) {
      const response = await fetch(`${server.api.url}/dynamic/${size}/${encodeKeyPath('fresh/column-1x100000.png')}`, { redirect: 'manual' });
      expect(response.status, size).toBeLessThan(400);
    }
  }, 60_000);

  it('a batch run renders every preset of each odd photo (DONE) and records each bad one FAILED with a reason', async () => {
    const result = await runLocalMigration({ photosDir: join(dir, 'photos'), dataDir: join(dir, 'data'), stack, timeScale: 0 });
    const odd = Object.keys(await oddPhotos());
    expect(result.summary.failures.map((failure) => failure.key).sort()).toEqual(['text.jpg', 'truncated.jpg']);
    for (const failure of result.summary.failures) expect(failure.error).toMatch(/^(cannot decode|not an image)/);
    expect(Object.fromEntries(result.summary.failures.map((failure) => [failure.key, failure.reason]))).toEqual({ 'text.jpg': 'not-an-image', 'truncated.jpg': 'corrupt' });
    expect(await stack.context.catalog.failureFor('truncated.jpg')).toMatchObject({ errorType: 'PhotoError', reason: 'corrupt' });
    for (const name of odd) {
      const rows = await stack.context.catalog.rowsForKey(name);
      expect(rows.map((row) => row.preset).sort(), name).toEqual(['large', 'medium', 'original', 'small', 'thumb']);
    }
    const strip = (await stack.context.catalog.rowsForKey('strip-100000x1.png')).find((row) => row.preset === 'thumb')!;
    expect(`${strip.width}x${strip.height}`).toBe('80x80');
  }, 120_000);
});
