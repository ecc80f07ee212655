/**
 * Fetch against a real HTTP origin on 127.0.0.1 (test/helpers/origin.ts) that misbehaves on purpose,
 * into an in-memory source bucket. No request leaves 127.0.0.0/8: every URL names 127.0.0.x, and the
 * lookup throws if it is ever asked.
 */
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FetchError } from '../../../src/core/errors';
import { DEFAULT_FETCH_OPTIONS, type FetchContext, FETCH_METADATA, fetchSource, retryAfterMs } from '../../../src/core/fetch/fetch';
import { parseAllowHost } from '../../../src/core/fetch/url-check';
import { decodeInventoryKey } from '../../../src/core/inventory/keys';
import { noiseJpeg } from '../../helpers/images';
import { MemoryStore, MemoryUploads } from '../../helpers/memory-store';
import { type Origin, startOrigin } from '../../helpers/origin';

const SAS = '?sv=2022-11-02&sp=r&sig=SECRET-SAS-TOKEN%3D';
let origin: Origin;
let photo: Buffer;
let big: Buffer;

beforeAll(async () => {
  photo = await noiseJpeg(320, 240, 7);
  // Over one part (the tests use 5 MiB parts): goes through a multipart upload.
  big = await sharp({ create: { width: 2600, height: 2600, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 60 } } }).jpeg({ quality: 100 }).toBuffer();
  origin = await startOrigin({ photos: { 'a.jpg': photo, 'big.jpg': big }, failFirst: 2, slowMs: 1_500 });
});
afterAll(() => origin?.close());

function context(overrides: Partial<FetchContext['options']> = {}) {
  const store = new MemoryStore();
  const uploads = new MemoryUploads(store);
  const sleeps: number[] = [];
  const ctx: FetchContext = {
    store,
    uploads,
    sourceBucket: 'source',
    maxInputBytes: 20 * 1024 * 1024,
    presetNames: ['thumb'],
    derivedPrefixBytes: 20,
    options: {
      ...DEFAULT_FETCH_OPTIONS,
      allowlist: [parseAllowHost(origin.host)],
      lookup: async () => {
        throw new Error('no DNS lookup in these tests');
      },
      connectTimeoutMs: 1_000,
      readTimeoutMs: 400,
      partBytes: 5 * 1024 * 1024,
      // Waits are recorded, then cut short: Retry-After is asserted, not slept.
      sleep: async (ms) => void sleeps.push(ms),
      ...overrides,
    },
  };
  return { ctx, store, uploads, sleeps };
}

const sha = (body: Uint8Array) => createHash('sha256').update(body).digest('hex');
const md5 = (body: Uint8Array) => createHash('md5').update(body).digest('hex');

async function failure(promise: Promise<unknown>): Promise<FetchError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(FetchError);
  expect((error as Error).message).not.toContain('SECRET');
  return error as FetchError;
}

describe('fetchSource', () => {
  it('copies a photo into the source bucket with its checksums recorded; a rerun keeps it (0 requests)', async () => {
    const { ctx, store } = context();
    const url = origin.url(`/photo/a.jpg${SAS}`);
    const before = origin.total();
    const item = await fetchSource(ctx, { key: 'trip/a b.jpg', url, sha256: sha(photo), 'content-type': 'image/jpeg' });
    expect(item).toMatchObject({ bucket: 'source', size: String(photo.byteLength), copied: { bytes: photo.byteLength, attempts: 1 } });
    expect(decodeInventoryKey(item.key)).toBe('trip/a b.jpg');
    const stored = await store.get({ bucket: 'source', key: 'trip/a b.jpg' });
    expect(Buffer.from(stored.body).equals(photo)).toBe(true);
    expect(item.etag).toBe(md5(photo));
    const head = await store.head({ bucket: 'source', key: 'trip/a b.jpg' });
    expect(head?.metadata).toMatchObject({ [FETCH_METADATA.sha256]: sha(photo), [FETCH_METADATA.md5]: md5(photo) });
    expect(head?.contentType).toBe('image/jpeg');
    expect(JSON.stringify(head)).not.toContain('SECRET');
    expect(origin.total() - before).toBe(1);

    const again = await fetchSource(ctx, { key: 'trip/a b.jpg', url, sha256: sha(photo) });
    expect(again.copied).toMatchObject({ bytes: 0, kept: true });
    expect(again.etag).toBe(item.etag);
    expect(origin.total() - before).toBe(1);
  });

  it('without a checksum, a rerun keeps what was fetched from the same URL (whatever its SAS), not from another', async () => {
    const { ctx } = context();
    await fetchSource(ctx, { key: 'k.jpg', url: origin.url(`/photo/a.jpg${SAS}`) });
    const before = origin.total();
    expect((await fetchSource(ctx, { key: 'k.jpg', url: origin.url('/photo/a.jpg?sig=ANOTHER-SAS') })).copied.kept).toBe(true);
    expect(origin.total()).toBe(before);
    expect((await fetchSource(ctx, { key: 'k.jpg', url: origin.url('/redirect/a.jpg') })).copied.kept).toBeUndefined();
  });

  it('retries 429 honouring Retry-After, and 503s, then copies', async () => {
    const { ctx, sleeps } = context();
    const item = await fetchSource(ctx, { key: 't.jpg', url: origin.url(`/throttled/a.jpg${SAS}`) });
    expect(item.copied.attempts).toBe(3);
    expect(sleeps).toEqual([1000, 1000]);
    const { ctx: ctx2 } = context();
    expect((await fetchSource(ctx2, { key: 'u.jpg', url: origin.url('/unavailable/a.jpg') })).copied.attempts).toBe(3);
  });

  it('bounds Retry-After and reads it as seconds or an HTTP date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(new Date(Date.UTC(2030, 0, 1, 0, 0, 10)).toUTCString(), Date.UTC(2030, 0, 1))).toBe(10_000);
    expect(retryAfterMs('soon')).toBeUndefined();
  });

  it('a 503 that lasts is http-5xx after the retries; a 404 is http-4xx at once', async () => {
    const { ctx } = context();
    const before = origin.requests.get('/down/a.jpg') ?? 0;
    expect((await failure(fetchSource(ctx, { key: 'd.jpg', url: origin.url(`/down/a.jpg${SAS}`) }))).reason).toBe('http-5xx');
    expect((origin.requests.get('/down/a.jpg') ?? 0) - before).toBe(DEFAULT_FETCH_OPTIONS.attempts);
    expect((await failure(fetchSource(ctx, { key: 'm.jpg', url: origin.url(`/missing/a.jpg${SAS}`) }))).reason).toBe('http-4xx');
  });

  it('a reset mid-body is retried; a body always shorter than its Content-Length fails truncated, nothing stored', async () => {
    const { ctx, store } = context();
    expect((await fetchSource(ctx, { key: 'r.jpg', url: origin.url('/reset/a.jpg') })).copied.attempts).toBe(3);
    const error = await failure(fetchSource(ctx, { key: 's.jpg', url: origin.url(`/short/a.jpg${SAS}`) }));
    expect(error.reason).toBe('truncated');
    expect(error.message).toMatch(/closed after \d+ of \d+ bytes/);
    expect(await store.head({ bucket: 'source', key: 's.jpg' })).toBeUndefined();
  });

  it('a slow origin and a stalled body time out (unreachable, truncated)', async () => {
    const { ctx, store } = context({ attempts: 2 });
    const slow = await failure(fetchSource(ctx, { key: 'slow.jpg', url: origin.url(`/slow/a.jpg${SAS}`) }));
    expect(slow.reason).toBe('unreachable');
    expect(slow.message).toMatch(/no byte for 400 ms/);
    const stall = await failure(fetchSource(ctx, { key: 'stall.jpg', url: origin.url('/stall/a.jpg') }));
    expect(stall.reason).toBe('truncated');
    expect(await store.head({ bucket: 'source', key: 'stall.jpg' })).toBeUndefined();
  });

  it('follows a redirect on the allowlist; refuses one off it before any packet', async () => {
    const { ctx } = context();
    expect((await fetchSource(ctx, { key: 'h.jpg', url: origin.url('/redirect/a.jpg') })).copied.bytes).toBe(photo.byteLength);
    const error = await failure(fetchSource(ctx, { key: 'off.jpg', url: origin.url(`/redirect-off/a.jpg${SAS}`) }));
    expect(error.reason).toBe('host-refused');
    expect(error.message).toContain('127.0.0.3');
    expect(error.message).not.toContain('SECRET-REDIRECT');
  });

  it('refuses a loopback address not on the allowlist: nothing reaches 127.0.0.2', async () => {
    const { ctx } = context();
    const error = await failure(fetchSource(ctx, { key: 'x.jpg', url: `http://127.0.0.2:${origin.port}/photo/a.jpg${SAS}` }));
    expect(error.reason).toBe('host-refused');
    expect(origin.guardConnections()).toBe(0);
  });

  it('a wrong checksum or size stores nothing: small (one PUT) or big (a multipart upload aborted)', async () => {
    const { ctx, store, uploads } = context();
    const wrong = 'f'.repeat(64);
    expect((await failure(fetchSource(ctx, { key: 'w.jpg', url: origin.url(`/photo/a.jpg${SAS}`), sha256: wrong }))).reason).toBe('checksum');
    expect((await failure(fetchSource(ctx, { key: 'w.jpg', url: origin.url('/photo/a.jpg'), md5: 'e'.repeat(32) }))).reason).toBe('checksum');
    expect((await failure(fetchSource(ctx, { key: 'w.jpg', url: origin.url('/photo/a.jpg'), size: String(photo.byteLength + 1) }))).reason).toBe('checksum');
    expect((await failure(fetchSource(ctx, { key: 'wb.jpg', url: origin.url('/photo/big.jpg'), sha256: wrong }))).reason).toBe('checksum');
    expect(uploads.aborted).toBe(1);
    expect(uploads.completed).toBe(0);
    expect(store.keys('source')).toEqual([]);
  });

  it('a big original goes up in parts of at most one part size, then is kept on a rerun', async () => {
    const { ctx, store, uploads } = context();
    expect(big.byteLength).toBeGreaterThan(ctx.options.partBytes);
    const item = await fetchSource(ctx, { key: 'big.jpg', url: origin.url('/photo/big.jpg'), sha256: sha(big) });
    expect(uploads.completed).toBe(1);
    expect(Math.max(...uploads.parts)).toBeLessThan(ctx.options.partBytes + 256 * 1024);
    expect(Buffer.from((await store.get({ bucket: 'source', key: 'big.jpg' })).body).equals(big)).toBe(true);
    expect(item.copied.bytes).toBe(big.byteLength);
    expect((await fetchSource(ctx, { key: 'big.jpg', url: origin.url('/photo/big.jpg'), sha256: sha(big) })).copied.kept).toBe(true);
  });

  it('refuses too large (by the row, by Content-Length), a bad row and a bad key', async () => {
    const { ctx } = context();
    expect((await failure(fetchSource({ ...ctx, maxInputBytes: 1000 }, { key: 'l.jpg', url: origin.url('/photo/a.jpg') }))).reason).toBe('too-large');
    expect((await failure(fetchSource(ctx, { key: 'l.jpg', url: origin.url('/photo/a.jpg'), size: String(21 * 1024 * 1024) }))).reason).toBe('too-large');
    expect((await failure(fetchSource(ctx, { key: 'l.jpg', url: 'gopher://x' }))).reason).toBe('bad-source');
    await expect(fetchSource(ctx, { key: 'thumb/a.jpg', url: origin.url('/photo/a.jpg') })).rejects.toMatchObject({ name: 'PhotoError', reason: 'key-refused' });
  });
});
