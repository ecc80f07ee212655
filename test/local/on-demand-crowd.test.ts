/**
 * A crowd on new sizes, over real HTTP on 127.0.0.1 (`serve`): 50 identical first requests render the
 * photo once and all get the same answer (the image, or the same 4xx), and 50 distinct sizes at once
 * render no more than the configured number at a time. Renders are counted from outside the on-demand
 * core, by the reads and writes it makes through the object store: a render reads its source once and
 * ends with its pointer's write.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import type { ObjectRef, ObjectStore, PutOptions } from '../../src/core/ports';
import { type LocalServer, startLocalServer } from '../../src/local/serve';
import { LOCAL_NAMES, type LocalStack, openLocalStack } from '../../src/local/stack';
import { noiseJpeg } from '../helpers/images';

const RENDERS_AT_ONCE = 2;
const CROWD = 50;
/** 50 distinct allowed sizes, 60x40 … 109x40, beside one for the identical crowds. */
const DISTINCT = Array.from({ length: CROWD }, (_, i) => `${60 + i}x40`);

const SLOW_KEY = 'crowd/broken.jpg';

let dir: string;
let stack: LocalStack;
let server: LocalServer;

/** What the renders did through the store: source reads and pointer writes by key, and renders under way. */
const seen = { sourceReads: new Map<string, number>(), pointerWrites: new Map<string, number>(), assetWrites: 0, running: 0, maxRunning: 0 };

function counting(store: ObjectStore): ObjectStore {
  const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  return {
    get: (ref) => store.get(ref),
    head: (ref) => store.head(ref),
    delete: (ref) => store.delete(ref),
    list: (bucket, prefix) => store.list(bucket, prefix),
    openRead: async (ref: ObjectRef) => {
      if (ref.bucket === LOCAL_NAMES.sourceBucket) {
        bump(seen.sourceReads, ref.key);
        seen.running++;
        seen.maxRunning = Math.max(seen.maxRunning, seen.running);
      }
      try {
        // A slow read of the undecodable one, so that its quick failure is still under way when the
        // last of the crowd arrives (a request that comes after a failure has settled tries again).
        if (ref.key === SLOW_KEY) await new Promise((resolve) => setTimeout(resolve, 1_000));
        return await store.openRead(ref);
      } catch (error) {
        if (ref.bucket === LOCAL_NAMES.sourceBucket) seen.running--;
        throw error;
      }
    },
    put: async (ref: ObjectRef, body: Uint8Array, options: PutOptions) => {
      const written = await store.put(ref, body, options);
      if (ref.key.startsWith('assets/')) seen.assetWrites++;
      if (options.redirectLocation && ref.key.startsWith('dynamic/')) {
        bump(seen.pointerWrites, ref.key);
        seen.running--;
      }
      return written;
    },
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-crowd-'));
  stack = await openLocalStack(join(dir, 'data'), { config: { ...config, onDemand: { ...config.onDemand, sizes: ['100x100', ...DISTINCT] } } });
  await stack.store.put({ bucket: LOCAL_NAMES.sourceBucket, key: 'crowd/one.jpg' }, await noiseJpeg(640, 480, 11), { contentType: 'image/jpeg' });
  const good = await noiseJpeg(640, 480, 12);
  await stack.store.put({ bucket: LOCAL_NAMES.sourceBucket, key: 'crowd/broken.jpg' }, good.subarray(0, good.length / 2), { contentType: 'image/jpeg' });
  // Only the renderers see the counting store; the website and the CDN view read as usual.
  server = await startLocalServer({ ...stack, context: { ...stack.context, store: counting(stack.context.store) } }, { signingSecret: '', renderConcurrency: RENDERS_AT_ONCE });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function crowd(url: string, count = CROWD) {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const response = await fetch(url);
      return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
    }),
  );
}

describe('a crowd on one new size', () => {
  it('50 identical first requests (website → 307 → API, which has no CDN in front): all 200 with the same bytes, one render', async () => {
    const answers = await crowd(`${server.website.url}/dynamic/100x100/crowd/one.jpg`);
    expect(answers.map((a) => a.status)).toEqual(Array(CROWD).fill(200));
    expect(new Set(answers.map((a) => sha(a.body))).size).toBe(1);
    const meta = await sharp(answers[0]!.body).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 100, 100]);
    expect(seen.sourceReads.get('crowd/one.jpg')).toBe(1);
    expect(seen.pointerWrites.get('dynamic/100x100/crowd/one.jpg')).toBe(1);
    expect(seen.assetWrites).toBe(1);
  });

  it('50 identical first requests to the API for an undecodable original: all the same 422, one attempt', async () => {
    const answers = await crowd(`${server.api.url}/dynamic/100x100/crowd/broken.jpg`);
    expect(answers.map((a) => a.status)).toEqual(Array(CROWD).fill(422));
    expect(new Set(answers.map((a) => a.body.toString('utf8'))).size).toBe(1);
    expect(JSON.parse(answers[0]!.body.toString('utf8')).error).toMatch(/cannot decode/);
    expect(seen.sourceReads.get('crowd/broken.jpg')).toBe(1);
    expect(seen.pointerWrites.has('dynamic/100x100/crowd/broken.jpg')).toBe(false);
  });

  it(`50 distinct new sizes at once through the CDN view: all 200 at their sizes, never more than ${RENDERS_AT_ONCE} renders under way`, async () => {
    const readsBefore = seen.sourceReads.get('crowd/one.jpg') ?? 0;
    // A failed render writes no pointer: count afresh.
    seen.running = 0;
    seen.maxRunning = 0;
    const answers = await Promise.all(
      DISTINCT.map(async (size) => {
        const response = await fetch(`${server.cdn.url}/dynamic/${size}/crowd/one.jpg`, { redirect: 'manual' });
        const meta = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
        return [response.status, meta.width, meta.height];
      }),
    );
    expect(answers).toEqual(DISTINCT.map((size) => [200, ...size.split('x').map(Number)]));
    expect((seen.sourceReads.get('crowd/one.jpg') ?? 0) - readsBefore).toBe(CROWD);
    expect(seen.maxRunning).toBeLessThanOrEqual(RENDERS_AT_ONCE);
    expect(seen.maxRunning).toBe(RENDERS_AT_ONCE);
  });
});
