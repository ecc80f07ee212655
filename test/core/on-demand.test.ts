/**
 * The on-demand core (src/core/on-demand.ts serveDynamic) on in-memory ports, every store and catalog
 * call logged in order: how few calls a new size takes, that a size already made is never rendered
 * again, that each half-written state a crash can leave is completed by the next request, and how
 * an explicit variant's suffix is spelled.
 */
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { beforeEach, describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import { type OnDemandContext, serveDynamic, splitVariantSize } from '../../src/core/on-demand';
import { validateConfig } from '../../src/core/presets';
import { resolveLogical } from '../../src/core/resolve';
import { makeOnDemandHandler } from '../../src/handlers/on-demand';
import { RenderGate } from '../../src/core/render-gate';
import { noiseJpeg } from '../helpers/images';
import { MemoryCatalog } from '../helpers/memory-catalog';
import { MemoryStore } from '../helpers/memory-store';

const CONFIG = { ...config, onDemand: { ...config.onDemand, formats: ['webp' as const] } };
const KEY = 'trips/a b.jpg';
let store: MemoryStore;
let catalog: MemoryCatalog;
let context: OnDemandContext;
let calls: string[];
let original: Buffer;

/** The object with each method call logged as `<name>.<method> <first argument>`. */
function logged<T extends object>(target: T, name: string): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const first = args[0] as { key?: string; bucket?: string } | string | unknown[];
        const what = typeof first === 'string' ? first : Array.isArray(first) ? first.map((row) => (row as { logicalKey: string }).logicalKey).join(',') : `${first?.bucket}/${first?.key}`;
        calls.push(`${name}.${String(property)} ${what}`);
        return value.apply(object, args);
      };
    },
  });
}

beforeEach(async () => {
  store = new MemoryStore();
  catalog = new MemoryCatalog();
  calls = [];
  context = { store: logged(store, 'store'), catalog: logged(catalog, 'catalog'), libraryBucket: 'library', sourceBucket: 'source', config: CONFIG, presets: validateConfig(CONFIG), renderGate: new RenderGate(1) };
  original = await noiseJpeg(1200, 800, 11);
  await store.put({ bucket: 'source', key: KEY }, original, { contentType: 'image/jpeg' });
});

const pointerOf = async (logicalKey: string) => (await store.head({ bucket: 'library', key: logicalKey }))?.redirectLocation;
const rowOf = async (logicalKey: string) => (await catalog.rowsForKey(KEY)).find((row) => row.logicalKey === logicalKey);

describe('a new size (the API path: nothing known about the pointer)', () => {
  it('takes 5 calls in 4 round trips — rows, one GET, the asset, then pointer and row — with no HEAD; the row records the original\'s sha-256', async () => {
    const answer = await serveDynamic(context, { size: '300x200', key: KEY });
    expect(answer).toMatchObject({ status: 301, logicalKey: `dynamic/300x200/${KEY}`, rendered: true });
    const asset = (await rowOf(`dynamic/300x200/${KEY}`))!.assetKey;
    expect(calls).toEqual([
      `catalog.rowsForKey ${KEY}`,
      `store.openRead source/${KEY}`,
      `store.put library/${asset}`,
      `store.put library/dynamic/300x200/${KEY}`,
      `catalog.putRows dynamic/300x200/${KEY}`,
    ]);
    // Hashed chunk by chunk as it was read (64 KiB chunks here): the same digest as the whole file's.
    expect(store.streamed).toBeGreaterThan(1);
    expect((await rowOf(`dynamic/300x200/${KEY}`))!.sourceSha256).toBe(createHash('sha256').update(original).digest('hex'));
    expect(await pointerOf(`dynamic/300x200/${KEY}`)).toBe(`/${asset}`);
    const meta = await sharp((await store.get({ bucket: 'library', key: asset })).body).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 300, 200]);
  });

  it('an original that comes in one piece (the local S3\'s whole-file answer) is hashed beside the render: the same sha-256 in the row', async () => {
    store.chunkBytes = original.byteLength;
    await serveDynamic(context, { size: '300x200', key: KEY });
    expect(store.streamed).toBe(1);
    expect((await rowOf(`dynamic/300x200/${KEY}`))!.sourceSha256).toBe(createHash('sha256').update(original).digest('hex'));
  });

  it('asked again: its row is there, so its pointer is read (one HEAD) and answered — no read of the original, no render, no write', async () => {
    await serveDynamic(context, { size: '300x200', key: KEY });
    calls = [];
    const puts = store.puts;
    const again = await serveDynamic(context, { size: '300x200', key: KEY });
    expect(again).toEqual({ status: 301, logicalKey: `dynamic/300x200/${KEY}`, rendered: false });
    expect(calls).toEqual([`catalog.rowsForKey ${KEY}`, `store.head library/dynamic/300x200/${KEY}`]);
    expect(store.puts).toBe(puts);
  });

  it('a crash left the pointer without its row: the next request renders again into the same asset and writes the row', async () => {
    await serveDynamic(context, { size: '300x200', key: KEY });
    const before = (await rowOf(`dynamic/300x200/${KEY}`))!;
    await catalog.deleteRows(KEY, ['dynamic/300x200']);
    const again = await serveDynamic(context, { size: '300x200', key: KEY });
    expect(again).toMatchObject({ status: 301, rendered: true });
    expect(await rowOf(`dynamic/300x200/${KEY}`)).toMatchObject({ assetKey: before.assetKey, sha256: before.sha256 });
    expect(await pointerOf(`dynamic/300x200/${KEY}`)).toBe(`/${before.assetKey}`);
  });

  it('a crash left the row without its pointer: its HEAD finds none, the size is rendered and the pointer written', async () => {
    await serveDynamic(context, { size: '300x200', key: KEY });
    const row = (await rowOf(`dynamic/300x200/${KEY}`))!;
    await store.delete({ bucket: 'library', key: `dynamic/300x200/${KEY}` });
    calls = [];
    const again = await serveDynamic(context, { size: '300x200', key: KEY });
    expect(again).toMatchObject({ status: 301, rendered: true });
    expect(calls.slice(0, 3)).toEqual([`catalog.rowsForKey ${KEY}`, `store.head library/dynamic/300x200/${KEY}`, `store.openRead source/${KEY}`]);
    expect(await pointerOf(`dynamic/300x200/${KEY}`)).toBe(`/${row.assetKey}`);
  });

  it('another size\'s row does not stand for this one: 640x480 is rendered though 300x200 exists', async () => {
    await serveDynamic(context, { size: '300x200', key: KEY });
    calls = [];
    expect(await serveDynamic(context, { size: '640x480', key: KEY })).toMatchObject({ status: 301, rendered: true });
    expect(calls.some((call) => call.startsWith('store.head'))).toBe(false);
    expect((await rowOf(`dynamic/640x480/${KEY}`))!).toMatchObject({ width: 640, height: 480 });
  });
});

describe('an explicit variant\'s suffix', () => {
  it('is read in any case and named in lower case: `300x200.WEBP` is the size `300x200.webp`', () => {
    for (const text of ['300x200.webp', '300x200.WEBP', '300x200.Webp']) expect(splitVariantSize(text), text).toEqual({ size: '300x200', format: 'webp' });
    expect(splitVariantSize('300x200.AVIF')).toEqual({ size: '300x200', format: 'avif' });
    // Not a variant format: the whole segment is the size (refused as malformed by parseSize).
    expect(splitVariantSize('300x200.JPG')).toEqual({ size: '300x200.JPG' });
    expect(splitVariantSize('.webp')).toEqual({ size: '.webp' });
  });

  const WEBSITE = 'http://library.s3-website-us-east-1.amazonaws.com';
  const handler = () => makeOnDemandHandler(() => ({ context, websiteUrl: WEBSITE }), { sink: () => undefined });

  it('the API (website mode) makes `300x200.WEBP` as `300x200.webp` and answers 301 to that canonical URL: one asset, pointer and row, no second render', async () => {
    const upper = await handler()({ rawPath: '/dynamic/300x200.WEBP/trips/a%20b.jpg' });
    expect([upper.statusCode, upper.headers.Location]).toEqual([301, `${WEBSITE}/dynamic/300x200.webp/trips/a%20b.jpg`]);
    const row = (await rowOf(`dynamic/300x200.webp/${KEY}`))!;
    expect(row).toMatchObject({ preset: 'dynamic/300x200.webp', contentType: 'image/webp', width: 300, height: 200 });
    expect(await pointerOf(`dynamic/300x200.webp/${KEY}`)).toBe(`/${row.assetKey}`);
    const puts = store.puts;
    for (const spelling of ['300x200.webp', '300x200.Webp']) {
      const again = await handler()({ rawPath: `/dynamic/${spelling}/trips/a%20b.jpg` });
      expect([again.statusCode, again.headers.Location], spelling).toEqual([301, `${WEBSITE}/dynamic/300x200.webp/trips/a%20b.jpg`]);
    }
    expect(store.puts).toBe(puts);
    expect((await catalog.rowsForKey(KEY)).filter((r) => r.preset.startsWith('dynamic/')).map((r) => r.logicalKey)).toEqual([`dynamic/300x200.webp/${KEY}`]);
    // A suffix that is no variant format, in any case, is a malformed size.
    const jpg = await handler()({ rawPath: '/dynamic/300x200.JPG/trips/a%20b.jpg' });
    expect([jpg.statusCode, JSON.parse(jpg.body).error]).toEqual([400, 'malformed size "300x200.JPG": use WxH or WxH-inside']);
  });

  it('the CDN resolver refuses `300x200.WEBP` with a 404 naming the canonical spelling (another URL would be a cache entry no invalidation reaches), writing nothing', async () => {
    const refused = await resolveLogical(context, { path: '/dynamic/300x200.WEBP/trips/a%20b.jpg' });
    expect(refused).toMatchObject({ status: 404, error: 'not the canonical spelling of this size: 300x200.webp' });
    expect(store.puts).toBe(1);
    const served = await resolveLogical(context, { path: '/dynamic/300x200.webp/trips/a%20b.jpg' });
    expect(served).toMatchObject({ status: 200, rendered: true, headers: { 'Content-Type': 'image/webp' } });
  });
});
