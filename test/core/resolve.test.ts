/**
 * The resolver core on in-memory ports, after the batch steps stored a real photo: which logical URL
 * is what, what a new on-demand size is rendered from, and what is read to answer.
 */
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { beforeEach, describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import { dedupe } from '../../src/core/dedupe';
import { encodeInventoryKey } from '../../src/core/inventory/keys';
import { INTERMEDIATE_FACTOR, type OnDemandContext, STATUS_OF_REASON } from '../../src/core/on-demand';
import type { ObjectRef } from '../../src/core/ports';
import { type PhotoScalerConfig, validateConfig } from '../../src/core/presets';
import { resize } from '../../src/core/resize';
import { classify, resolveLogical } from '../../src/core/resolve';
import { BROWSER_ACCEPT } from '../helpers/accept';
import { BLUE, GREEN, RED, animatedImage, framesOf } from '../helpers/animated';
import { alphaPng, noiseJpeg } from '../helpers/images';
import { MemoryCatalog } from '../helpers/memory-catalog';
import { MemoryStore } from '../helpers/memory-store';

const presets = validateConfig(config);
const names = presets.map((p) => p.name);
let store: MemoryStore;
let catalog: MemoryCatalog;
let context: OnDemandContext;
let reads: string[];
let original: Buffer;

beforeEach(async () => {
  store = new MemoryStore();
  catalog = new MemoryCatalog();
  reads = [];
  context = { store: readsNoted(store, reads), catalog, libraryBucket: 'library', sourceBucket: 'source', config, presets };
  original = await noiseJpeg(2400, 1600, 7);
  await store.put({ bucket: 'source', key: 'trips/a b.jpg' }, original, { contentType: 'image/jpeg' });
  const event = { item: { bucket: 'source', key: encodeInventoryKey('trips/a b.jpg'), size: String(original.length), etag: 'e1' }, runId: 'run-1' };
  const first = await dedupe(context, event);
  if (first.status === 'needs-resize') await resize(context, { ...event, outcome: first });
  reads.length = 0;
});

/** The store, its streamed reads noted in `reads` (`bucket/key`). */
function readsNoted(store: MemoryStore, reads: string[]): MemoryStore {
  const noted = Object.create(store) as MemoryStore;
  noted.openRead = (ref: ObjectRef) => {
    reads.push(`${ref.bucket}/${ref.key}`);
    return store.openRead(ref);
  };
  return noted;
}

async function bytesOf(resolution: Awaited<ReturnType<typeof resolveLogical>>): Promise<Buffer> {
  if (resolution.status !== 200 || !resolution.body) throw new Error(`answered ${resolution.status}`);
  const chunks: Uint8Array[] = [];
  for await (const chunk of resolution.body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe('logical URLs', () => {
  it('tells an original, a crop and a dynamic size apart; the library\'s own prefixes are no logical URL', () => {
    expect(classify('trips/a.jpg', names)).toEqual({ kind: 'original', logicalKey: 'trips/a.jpg' });
    expect(classify('small/trips/a.jpg', names)).toEqual({ kind: 'crop', logicalKey: 'small/trips/a.jpg' });
    expect(classify('dynamic/300x200/trips/a.jpg', names)).toEqual({ kind: 'dynamic', logicalKey: 'dynamic/300x200/trips/a.jpg', size: '300x200', key: 'trips/a.jpg' });
    for (const key of ['assets/aa/bb/cc/x.jpg', 'runs/exec/manifest.json', 'inventory/x', 'dynamic/300x200', '']) expect(classify(key, names), key).toBeUndefined();
    // A key without a slash is an original, whatever its name.
    expect(classify('small', names)).toEqual({ kind: 'original', logicalKey: 'small' });
  });

  it('answers 400 to a path whose escapes are malformed (keyOfUrlPath)', async () => {
    expect(await resolveLogical(context, { path: '/small/bad%E0%A4%A.jpg' })).toMatchObject({ status: 400 });
  });
});

describe('a new on-demand size', () => {
  it(`is rendered from a stored whole-frame preset at least ${INTERMEDIATE_FACTOR}x its size (a fraction of the original's bytes), and answered from memory`, async () => {
    const large = (await catalog.rowsForKey('trips/a b.jpg')).find((r) => r.preset === 'large')!;
    const resolution = await resolveLogical(context, { path: '/dynamic/300x200/trips/a%20b.jpg' });
    const bytes = await bytesOf(resolution);
    const meta = await sharp(bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 300, 200]);
    expect(reads).toEqual([`library/${large.assetKey}`]);
    expect(resolution).toMatchObject({ status: 200, rendered: true, headers: { ETag: `"${createHash('sha256').update(bytes).digest('hex')}"` } });
    // The row records the original it comes from, not the intermediate.
    const original = (await catalog.rowsForKey('trips/a b.jpg')).find((r) => r.preset === 'original')!;
    expect((await catalog.rowsForKey('trips/a b.jpg')).find((r) => r.preset === 'dynamic/300x200')).toMatchObject({ sourceSha256: original.sha256, width: 300, height: 200 });
  });

  it('is rendered from the original when no stored preset is large enough', async () => {
    const original = (await catalog.rowsForKey('trips/a b.jpg')).find((r) => r.preset === 'original')!;
    const bytes = await bytesOf(await resolveLogical(context, { path: '/dynamic/1280x720/trips/a%20b.jpg' }));
    expect(reads).toEqual([`library/${original.assetKey}`]);
    expect((await sharp(bytes).metadata()).width).toBe(1280);
  });

  it('is rendered from the source bucket when the batch has not stored the photo', async () => {
    await store.put({ bucket: 'source', key: 'new/b.jpg' }, await noiseJpeg(800, 600, 8), { contentType: 'image/jpeg' });
    await bytesOf(await resolveLogical(context, { path: '/dynamic/150x150/new/b.jpg' }));
    expect(reads).toEqual(['source/new/b.jpg']);
  });

  it('is refused with the status of the photo\'s reason (STATUS_OF_REASON), which the refusal names; a refused size has none', async () => {
    const jpeg = await noiseJpeg(400, 300, 9);
    await store.put({ bucket: 'source', key: 'new/corrupt.jpg' }, jpeg.subarray(0, jpeg.length / 2), { contentType: 'image/jpeg' });
    await store.put({ bucket: 'source', key: 'new/notes.jpg' }, Buffer.from('my notes'), { contentType: 'image/jpeg' });
    await store.put({ bucket: 'source', key: 'new/empty.jpg' }, new Uint8Array(0), { contentType: 'image/jpeg' });
    const answers = [];
    for (const path of ['/dynamic/150x150/new/corrupt.jpg', '/dynamic/150x150/new/notes.jpg', '/dynamic/150x150/new/empty.jpg', '/dynamic/150x150/no/such.jpg', '/dynamic/150x150/a%07b.jpg', '/dynamic/151x150/new/notes.jpg']) {
      const resolution = await resolveLogical(context, { path });
      answers.push([path.split('/').slice(3).join('/'), resolution.status, 'reason' in resolution ? resolution.reason : undefined]);
    }
    expect(answers).toEqual([
      ['new/corrupt.jpg', STATUS_OF_REASON.corrupt, 'corrupt'],
      ['new/notes.jpg', STATUS_OF_REASON['not-an-image'], 'not-an-image'],
      ['new/empty.jpg', STATUS_OF_REASON['not-an-image'], 'not-an-image'],
      ['no/such.jpg', 404, 'gone'],
      ['a%07b.jpg', 400, 'key-refused'],
      ['new/notes.jpg', 400, undefined],
    ]);
    expect(Object.entries(STATUS_OF_REASON)).toEqual([
      ['not-an-image', 422], ['corrupt', 422], ['unsupported', 422], ['empty', 422], ['render-failed', 422], ['too-large', 413], ['gone', 404], ['key-refused', 400],
    ]);
    const tooLarge = await resolveLogical({ ...context, config: { ...config, limits: { ...config.limits, maxInputBytes: 1000 } } }, { path: '/dynamic/150x150/new/b.jpg' });
    expect(tooLarge).toMatchObject({ status: 404, reason: 'gone' });
    await store.put({ bucket: 'source', key: 'new/b.jpg' }, jpeg, { contentType: 'image/jpeg' });
    expect(await resolveLogical({ ...context, config: { ...config, limits: { ...config.limits, maxInputBytes: 1000 } } }, { path: '/dynamic/150x150/new/b.jpg' })).toMatchObject({ status: 413, reason: 'too-large', error: expect.stringMatching(/^too large: /) });
  });

  it('once made, is read back through its pointer like any image', async () => {
    const first = await bytesOf(await resolveLogical(context, { path: '/dynamic/150x150/trips/a%20b.jpg' }));
    reads.length = 0;
    const again = await resolveLogical(context, { path: '/dynamic/150x150/trips/a%20b.jpg' });
    expect((await bytesOf(again)).equals(first)).toBe(true);
    expect(again).toMatchObject({ status: 200, rendered: false });
    expect(reads).toHaveLength(1);
    expect(reads[0]).toMatch(/^library\/assets\//);
  });
});

describe('negotiation in the resolver core', () => {
  const chrome = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';

  it('the edge function\'s choice (x-photo-format) wins over the raw Accept; a 304 and a HEAD carry Vary: Accept too', async () => {
    const variantConfig = { ...config, presets: { small: { width: 300, height: 200, fit: 'cover' as const, formats: ['webp' as const] } } };
    const variantContext: OnDemandContext = { ...context, config: variantConfig, presets: validateConfig(variantConfig) };
    const event = { item: { bucket: 'source', key: encodeInventoryKey('trips/a b.jpg'), size: String(original.length), etag: 'e2' }, runId: 'run-2' };
    const first = await dedupe(variantContext, event);
    if (first.status === 'needs-resize') await resize(variantContext, { ...event, outcome: first });
    const path = '/small/trips/a%20b.jpg';

    const byHeader = await resolveLogical(variantContext, { path, accept: chrome, format: 'orig' });
    expect([byHeader.status, byHeader.headers['Content-Type'], byHeader.headers.Vary]).toEqual([200, 'image/jpeg', 'Accept']);
    const byAccept = await resolveLogical(variantContext, { path, accept: chrome });
    expect([byAccept.status, byAccept.headers['Content-Type'], byAccept.headers.Vary]).toEqual([200, 'image/webp', 'Accept']);
    expect((await sharp(await bytesOf(byAccept)).metadata()).format).toBe('webp');
    // A header that is no choice formatChoice makes: computed from Accept instead.
    expect((await resolveLogical(variantContext, { path, accept: chrome, format: 'gif' })).headers['Content-Type']).toBe('image/webp');

    const etag = byAccept.headers.ETag!;
    const notModified = await resolveLogical(variantContext, { path, accept: chrome, ifNoneMatch: etag });
    expect([notModified.status, notModified.headers.Vary]).toEqual([304, 'Accept']);
    const head = await resolveLogical(variantContext, { path, format: 'webp', headOnly: true });
    expect([head.status, head.headers['Content-Type'], head.headers.Vary]).toEqual([200, 'image/webp', 'Accept']);
    // A preset without variants in the default config: no Vary.
    expect((await resolveLogical(context, { path, accept: chrome })).headers.Vary).toBeUndefined();
  });
});

describe('negotiation among stored variants (issue 18 review)', () => {
  // `small`: a primary AVIF with a WebP variant; `medium` (auto) and `large` (auto, inside) with both.
  const variantConfig: PhotoScalerConfig = {
    ...config,
    presets: {
      ...config.presets,
      small: { ...config.presets.small!, format: 'avif', formats: ['webp'] },
      medium: { ...config.presets.medium!, formats: ['webp', 'avif'] },
      large: { ...config.presets.large!, formats: ['webp', 'avif'] },
    },
    onDemand: { ...config.onDemand, formats: ['avif'] },
  };
  const variantPresets = validateConfig(variantConfig);
  let v: OnDemandContext;
  let vStore: MemoryStore;
  let vReads: string[];

  beforeEach(async () => {
    vStore = new MemoryStore();
    vReads = [];
    v = { store: readsNoted(vStore, vReads), catalog: new MemoryCatalog(), libraryBucket: 'library', sourceBucket: 'source', config: variantConfig, presets: variantPresets };
    const photos: Array<[string, Buffer]> = [
      ['trips/a.jpg', await noiseJpeg(2400, 1600, 7)],
      ['anim/spin.gif', await animatedImage('gif', { width: 640, height: 480, colours: [RED, GREEN, BLUE], delay: [100, 100, 100] })],
    ];
    for (const [key, bytes] of photos) {
      await vStore.put({ bucket: 'source', key }, bytes, { contentType: key.endsWith('.gif') ? 'image/gif' : 'image/jpeg' });
      const event = { item: { bucket: 'source', key: encodeInventoryKey(key), size: String(bytes.length), etag: `e-${key}` }, runId: 'run-1' };
      const first = await dedupe(v, event);
      if (first.status !== 'needs-resize') throw new Error(`${key}: ${first.status}`);
      await resize(v, { ...event, outcome: first });
    }
    vReads.length = 0;
  });

  const served = async (path: string, accept: string) => framesOf(await bytesOf(await resolveLogical(v, { path, accept })));

  it('a new on-demand size is cut from the primary `large` JPEG, never from its AVIF or WebP variant (fewer bytes, but the AVIF decodes ~8x slower)', async () => {
    const large = (await v.catalog.rowsForKey('trips/a.jpg')).find((r) => r.preset === 'large')!;
    expect(large.assetKey).toMatch(/\.jpg$/);
    await bytesOf(await resolveLogical(v, { path: '/dynamic/300x200/trips/a.jpg', accept: BROWSER_ACCEPT.curl }));
    expect(vReads).toEqual([`library/${large.assetKey}`]);
  });

  it('a primary AVIF preset with a WebP variant: Chrome and Firefox get the AVIF primary, Safari 16 the WebP, curl the primary', async () => {
    const formats: Record<string, string | undefined> = {};
    for (const client of ['chrome', 'firefox', 'safari16', 'curl'] as const) formats[client] = (await served('/small/trips/a.jpg', BROWSER_ACCEPT[client])).format;
    expect(formats).toEqual({ chrome: 'heif', firefox: 'heif', safari16: 'webp', curl: 'heif' });
  });

  it('an animated original keeps its animation for every browser: its AVIF variant is an animated WebP (libvips writes one AVIF frame), curl gets the GIF', async () => {
    const avifRow = (await v.catalog.rowsForKey('anim/spin.gif')).find((r) => r.preset === 'medium.avif')!;
    expect([avifRow.contentType, avifRow.assetKey.split('.').pop()]).toEqual(['image/webp', 'webp']);
    for (const client of ['chrome', 'safari', 'firefox', 'safari16'] as const) expect(await served('/medium/anim/spin.gif', BROWSER_ACCEPT[client]), client).toMatchObject({ format: 'webp', pages: 3, width: 600, height: 400 });
    expect(await served('/medium/anim/spin.gif', BROWSER_ACCEPT.curl)).toMatchObject({ format: 'gif', pages: 3 });
    // The same frames at the WebP variant's settings: one asset for both.
    expect(avifRow.assetKey).toBe((await v.catalog.rowsForKey('anim/spin.gif')).find((r) => r.preset === 'medium.webp')!.assetKey);
    // An on-demand size asked for in AVIF (onDemand.formats: avif) is animated too.
    expect(await served('/dynamic/150x150/anim/spin.gif', BROWSER_ACCEPT.chrome)).toMatchObject({ format: 'webp', pages: 3, width: 150, height: 150 });
    // A still's AVIF variant is an AVIF.
    expect(await served('/medium/trips/a.jpg', BROWSER_ACCEPT.chrome)).toMatchObject({ format: 'heif', pages: 1 });
  });

  it('a still primary has still variants: a JPEG `thumb` with WebP and AVIF variants of an animated GIF is one frame for every client, and only one frame is decoded', async () => {
    const stillConfig: PhotoScalerConfig = { ...config, presets: { thumb: { width: 80, height: 80, fit: 'cover', format: 'jpeg', formats: ['webp', 'avif'] } }, limits: { ...config.limits, maxInputPixels: 640 * 480 * 2 } };
    const memory = new MemoryStore();
    const still = { store: memory, catalog: new MemoryCatalog(), libraryBucket: 'library', sourceBucket: 'source', config: stillConfig, presets: validateConfig(stillConfig) };
    const gif = await animatedImage('gif', { width: 640, height: 480, colours: [RED, GREEN, BLUE] });
    await memory.put({ bucket: 'source', key: 'spin.gif' }, gif, {});
    const event = { item: { bucket: 'source', key: 'spin.gif', size: String(gif.length), etag: 'e' }, runId: 'run-1' };
    const first = await dedupe(still, event);
    // Three frames would be over the limit: a still primary's variants decode only the first.
    expect(await resize(still, { ...event, outcome: first })).toMatchObject({ status: 'resized' });
    for (const client of ['chrome', 'safari16', 'curl'] as const) {
      expect(await framesOf(await bytesOf(await resolveLogical(still, { path: '/thumb/spin.gif', accept: BROWSER_ACCEPT[client] }))), client).toMatchObject({ pages: 1 });
    }
  });

  it('an on-demand size whose asset is gone is made again (the same asset), not answered 404', async () => {
    const made = await resolveLogical(v, { path: '/dynamic/150x150/trips/a.jpg', accept: BROWSER_ACCEPT.chrome });
    expect(made).toMatchObject({ status: 200, rendered: true, logicalKey: 'dynamic/150x150.avif/trips/a.jpg' });
    await vStore.delete({ bucket: 'library', key: (made as { assetKey: string }).assetKey });
    const again = await resolveLogical(v, { path: '/dynamic/150x150/trips/a.jpg', accept: BROWSER_ACCEPT.chrome });
    expect(again).toMatchObject({ status: 200, rendered: true, assetKey: (made as { assetKey: string }).assetKey });
    expect((await framesOf(await bytesOf(again))).format).toBe('heif');
  });

  it('a variant whose pointer names a missing asset is passed over for the next choice, not answered 404', async () => {
    const rows = await v.catalog.rowsForKey('trips/a.jpg');
    await vStore.delete({ bucket: 'library', key: rows.find((r) => r.preset === 'medium.avif')!.assetKey });
    expect((await served('/medium/trips/a.jpg', BROWSER_ACCEPT.chrome)).format).toBe('webp');
    await vStore.delete({ bucket: 'library', key: rows.find((r) => r.preset === 'medium.webp')!.assetKey });
    expect((await served('/medium/trips/a.jpg', BROWSER_ACCEPT.chrome)).format).toBe('jpeg');
    // Asked by its own URL, the damaged variant is still a 404 that names the fault.
    expect(await resolveLogical(v, { path: '/medium.avif/trips/a.jpg', accept: BROWSER_ACCEPT.chrome })).toMatchObject({ status: 404, error: expect.stringContaining('missing asset') });
  });
});

describe('what a new on-demand size is cut from: only a rendition that is the whole original, smaller (second review)', () => {
  /** `photos` stored by the batch steps under `batchConfig`; the resolver then runs with `serveConfig`. */
  async function library(batchConfig: PhotoScalerConfig, photos: Record<string, Buffer>, serveConfig = batchConfig) {
    const memory = new MemoryStore();
    const rows = new MemoryCatalog();
    const read: string[] = [];
    const counted = readsNoted(memory, read);
    const batch = { store: memory, catalog: rows, libraryBucket: 'library', sourceBucket: 'source', config: batchConfig, presets: validateConfig(batchConfig) };
    for (const [key, bytes] of Object.entries(photos)) {
      await memory.put({ bucket: 'source', key }, bytes, {});
      const event = { item: { bucket: 'source', key: encodeInventoryKey(key), size: String(bytes.length), etag: `e-${key}` }, runId: 'run-1' };
      const first = await dedupe(batch, event);
      if (first.status !== 'needs-resize') throw new Error(`${key}: ${first.status}`);
      await resize(batch, { ...event, outcome: first });
    }
    const serving: OnDemandContext = { ...batch, store: counted, config: serveConfig, presets: validateConfig(serveConfig) };
    const made = async (path: string) => {
      const bytes = await bytesOf(await resolveLogical(serving, { path }));
      const meta = await sharp(bytes).metadata();
      return { format: meta.format, width: meta.width, height: meta.height, hasAlpha: meta.hasAlpha };
    };
    return { rows, read, made };
  }
  const withLarge = (large: PhotoScalerConfig['presets'][string]): PhotoScalerConfig => ({ ...config, presets: { ...config.presets, large } });

  it('not one that enlarged the photo: a `1600x1200-inside` of a 1000x750 photo stays 1000x750 beside a 4000x4000 preset that enlarges', async () => {
    const { rows, made } = await library(withLarge({ width: 4000, height: 4000, fit: 'inside', withoutEnlargement: false }), { 'a.jpg': await noiseJpeg(1000, 750, 3) });
    expect((await rows.rowsForKey('a.jpg')).find((r) => r.preset === 'large')).toMatchObject({ width: 4000, height: 3000 });
    expect(await made('/dynamic/1600x1200-inside/a.jpg')).toMatchObject({ format: 'jpeg', width: 1000, height: 750 });
  });

  it('not one flattened onto white: a transparent PNG\'s size beside a `large` of format jpeg keeps its alpha', async () => {
    const { read, made } = await library(withLarge({ ...config.presets.large!, format: 'jpeg' }), { 'logo.png': await alphaPng(2400, 1600) });
    expect(await made('/dynamic/300x200/logo.png')).toEqual({ format: 'png', width: 300, height: 200, hasAlpha: true });
    expect(read.at(-1)).toMatch(/\.png$/);
  });

  it('but a `large` of format jpeg serves a JPEG original (the same type: nothing lost)', async () => {
    const { rows, read, made } = await library(withLarge({ ...config.presets.large!, format: 'jpeg' }), { 'c.jpg': await noiseJpeg(2400, 1600, 5) });
    expect(await made('/dynamic/300x200/c.jpg')).toMatchObject({ format: 'jpeg', width: 300, height: 200 });
    expect(read).toEqual([`library/${(await rows.rowsForKey('c.jpg')).find((r) => r.preset === 'large')!.assetKey}`]);
  });

  it('not a row of an earlier definition of the preset: after `large` went from a 1000x400 cover to 1024 inside, `300x200-inside` is the whole frame', async () => {
    const photo = await noiseJpeg(2400, 1600, 4);
    const { rows, made } = await library(withLarge({ width: 1000, height: 400, fit: 'cover' }), { 'b.jpg': photo }, config);
    expect((await rows.rowsForKey('b.jpg')).find((r) => r.preset === 'large')).toMatchObject({ width: 1000, height: 400 });
    expect(await made('/dynamic/300x200-inside/b.jpg')).toMatchObject({ width: 300, height: 200 });
  });
});
