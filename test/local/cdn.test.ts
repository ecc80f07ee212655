/**
 * `serve`'s CDN view over real HTTP on 127.0.0.1, as CloudFront serves the library on AWS: every
 * logical URL answers 200 with the image's bytes (never a 3xx), a new on-demand size is rendered on
 * its first request, the cache key ignores stray query strings, a crowd of identical first requests
 * renders once, and live sync's invalidations reach the cache.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import { encodeKeyPath, invalidationPaths } from '../../src/core/cdn';
import { signRequest } from '../../src/core/on-demand';
import { SYNC_RUN_ID, syncObject } from '../../src/core/sync';
import { type LocalServer, REPORT_PATH } from '../../src/local/serve';
import { cdnInvalidationLog, LOCAL_NAMES, type LocalStack } from '../../src/local/stack';
import { noiseJpeg, twoToneJpeg } from '../helpers/images';
import { isLibraryContent, listKeys, servedLibrary } from '../helpers/library';

let stack: LocalStack;
let server: LocalServer;
const SECRET = 'a-signing-secret-of-at-least-32-bytes-for-tests';
const KEYS = { spaces: 'trips/beach day+1 100%.jpg', unicode: 'städte/Zürich ✓.jpg', plain: 'landscapes/dawn.jpg' };
const SIZES: Record<string, [number, number]> = { [KEYS.spaces]: [1600, 1200], [KEYS.unicode]: [1200, 900], [KEYS.plain]: [1000, 800] };

let library: Awaited<ReturnType<typeof servedLibrary>> | undefined;

beforeAll(async () => {
  const photos: Record<string, Buffer> = {};
  for (const [key, [width, height]] of Object.entries(SIZES)) photos[key] = await twoToneJpeg(width, height);
  library = await servedLibrary('cdn', photos, { signingSecret: SECRET });
  ({ stack, server } = library);
}, 120_000);

afterAll(() => library?.close());

const url = (logicalKey: string, query = '') => `${server.cdn.url}/${encodeKeyPath(logicalKey)}${query}`;
const signed = (size: string, key: string) => url(`dynamic/${size}/${key}`, `?sig=${signRequest(SECRET, size, key)}`);

/** A GET that never follows a redirect: a 3xx anywhere fails the test. */
async function get(target: string, init: RequestInit = {}) {
  const response = await fetch(target, { ...init, redirect: 'manual' });
  const body = Buffer.from(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, body };
}

/** A GET of a path sent exactly as given (fetch would resolve `..` and `%2E%2E` segments first). */
function rawStatus(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(server.cdn.url);
    request({ host: hostname, port, path, method: 'GET' }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    })
      .on('error', reject)
      .end();
  });
}

async function dimensions(bytes: Buffer): Promise<[string | undefined, number | undefined, number | undefined]> {
  const meta = await sharp(bytes).metadata();
  return [meta.format, meta.width, meta.height];
}

describe('the CDN view answers every logical URL with 200 and the image', () => {
  it('the original, a preset and a new on-demand size, for keys with spaces, +, % and non-ASCII; never a 3xx', async () => {
    for (const key of Object.values(KEYS)) {
      const original = await get(url(key));
      expect(original.status, key).toBe(200);
      expect(await dimensions(original.body)).toEqual(['jpeg', ...SIZES[key]!]);

      const small = await get(url(`small/${key}`));
      expect(small.status).toBe(200);
      expect(await dimensions(small.body)).toEqual(['jpeg', 300, 200]);

      const fresh = await get(signed('150x150', key));
      expect(fresh.status).toBe(200);
      expect(fresh.headers.get('x-cache')).toBe('Miss from cloudfront');
      expect(await dimensions(fresh.body)).toEqual(['jpeg', 150, 150]);
      const again = await get(signed('150x150', key));
      expect([again.status, again.headers.get('x-cache')]).toEqual([200, 'Hit from cloudfront']);
      expect(again.body.equals(fresh.body)).toBe(true);
    }
    // The new size is stored like any on-demand size: a pointer, an asset and a row.
    const rows = await stack.context.catalog.rowsForKey(KEYS.unicode);
    expect(rows.find((row) => row.preset === 'dynamic/150x150')).toMatchObject({ logicalKey: `dynamic/150x150/${KEYS.unicode}`, width: 150, height: 150 });
  });

  it('carries the asset\'s Content-Type, an ETag that is the sha-256 of the bytes, and Cache-Control for its kind', async () => {
    const small = await get(url(`small/${KEYS.plain}`));
    expect(small.headers.get('content-type')).toBe('image/jpeg');
    expect(small.headers.get('etag')).toBe(`"${createHash('sha256').update(small.body).digest('hex')}"`);
    expect(small.headers.get('cache-control')).toBe(`public, max-age=${config.delivery!.browserSeconds}, s-maxage=${config.delivery!.cdnSeconds}`);

    const row = (await stack.context.catalog.rowsForKey(KEYS.plain)).find((r) => r.preset === 'small')!;
    const asset = await get(`${server.cdn.url}/${row.assetKey}`);
    expect(asset.status).toBe(200);
    expect(asset.body.equals(small.body)).toBe(true);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');

    const notModified = await fetch(url(`small/${KEYS.plain}`), { headers: { 'If-None-Match': small.headers.get('etag')! } });
    expect(notModified.status).toBe(304);
    const head = await fetch(url(`medium/${KEYS.plain}`), { method: 'HEAD' });
    expect([head.status, head.headers.get('content-type'), (await head.arrayBuffer()).byteLength]).toEqual([200, 'image/jpeg', 0]);
  });

  it('answers 404 for unknown keys and for what is not a logical URL (runs/, a missing asset is 403 as S3 behind OAC answers), 4xx for refused requests', async () => {
    const libraryBefore = await listKeys(stack.s3, LOCAL_NAMES.libraryBucket);
    expect((await get(url('nobody/here.jpg'))).status).toBe(404);
    expect((await get(url('small/nobody/here.jpg'))).status).toBe(404);
    const runResults = (await listKeys(stack.s3, LOCAL_NAMES.libraryBucket, 'runs/'))[0]!;
    expect(runResults).toBeDefined();
    expect((await get(`${server.cdn.url}/${runResults}`)).status).toBe(404);
    expect((await get(`${server.cdn.url}/assets/00/00/00/${'0'.repeat(64)}.jpg`)).status).toBe(403);
    // Under /assets/ only assets: no way out of the prefix, no pointer served as an asset.
    expect(await rawStatus(`/assets/../small/${encodeKeyPath(KEYS.plain)}`)).toBe(403);
    expect(await rawStatus(`/assets/%2E%2E/%2E%2E/${LOCAL_NAMES.sourceBucket}/${encodeKeyPath(KEYS.plain)}`)).toBe(403);
    expect(await rawStatus(`/small/../../${LOCAL_NAMES.sourceBucket}/${encodeKeyPath(KEYS.plain)}`)).toBe(400);

    const refusedSize = await get(signed('123x45', KEYS.plain));
    expect(refusedSize.status).toBe(400);
    expect(JSON.parse(refusedSize.body.toString()).error).toMatch(/size 123x45 is not allowed/);
    expect((await get(url(`dynamic/300x200/${KEYS.plain}`))).status).toBe(403);
    expect((await get(url(`dynamic/300x200/${KEYS.plain}`, `?sig=${'0'.repeat(64)}`))).status).toBe(403);
    expect((await get(`${server.cdn.url}/small/%E0%A4%A.jpg`)).status).toBe(400);
    expect(await rawStatus('/landscapes/%2E%2E/%2E%2E/etc/passwd')).toBe(400);
    expect((await fetch(url(KEYS.plain), { method: 'POST', body: 'x' })).status).toBe(403);
    // Nothing was made for any of them.
    expect(await listKeys(stack.s3, LOCAL_NAMES.libraryBucket)).toEqual(libraryBefore);
    expect((await stack.context.catalog.rowsForKey(KEYS.plain)).map((row) => row.preset)).not.toContain('dynamic/300x200');
  });

  it('serves the report of the last run', async () => {
    const page = await get(`${server.cdn.url}${REPORT_PATH}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.body.toString()).toContain(`${server.cdn.url}/small/`);
  });
});

describe('the CDN view caches as CloudFront does', () => {
  it('ignores query strings other than the signature: random ones cannot bypass the cache and bill the origin', async () => {
    const first = await get(url(`large/${KEYS.plain}`, '?v=1'));
    expect(first.status).toBe(200);
    const origin = server.cdn.originRequests().resolver;
    for (const query of ['?v=2', '?utm=x&y=z', '', `?${'a'.repeat(200)}=1`]) {
      const again = await get(url(`large/${KEYS.plain}`, query));
      expect([again.status, again.headers.get('x-cache')]).toEqual([200, 'Hit from cloudfront']);
    }
    expect(server.cdn.originRequests().resolver).toBe(origin);
  });

  it('one cache entry per logical URL: every spelling of it is rewritten to the canonical one first, as the viewer-request function does', async () => {
    const canonical = url(`medium/${KEYS.spaces}`);
    expect(canonical).toContain('/medium/trips/beach%20day+1%20100%25.jpg');
    const first = await get(canonical);
    expect(first.status).toBe(200);
    const origin = server.cdn.originRequests().resolver;
    const path = new URL(canonical).pathname;
    for (const spelling of [path.replace('+', '%2B'), `/${path}`, path.replace('/medium/', '/%6Dedium/'), path.replace('%20day', '%20d%61y')]) {
      const { hostname, port } = new URL(server.cdn.url);
      const answer = await new Promise<{ status: number; cache: string | undefined }>((resolve, reject) => {
        request({ host: hostname, port, path: spelling, method: 'GET' }, (response) => {
          response.resume();
          response.on('end', () => resolve({ status: response.statusCode ?? 0, cache: response.headers['x-cache'] as string | undefined }));
        })
          .on('error', reject)
          .end();
      });
      expect(answer, spelling).toEqual({ status: 200, cache: 'Hit from cloudfront' });
    }
    expect(server.cdn.originRequests().resolver).toBe(origin);
  });

  it('a viewer\'s validator never reaches the origin, and no 304 is cached for the next viewer', async () => {
    const target = url(`thumb/${KEYS.unicode}`);
    const conditional = await fetch(target, { headers: { 'If-None-Match': '"anything"' } });
    expect(conditional.status).toBe(200);
    const plain = await get(target);
    expect([plain.status, plain.headers.get('x-cache')]).toEqual([200, 'Hit from cloudfront']);
    expect(plain.body.byteLength).toBeGreaterThan(0);
  });

  it('a viewer that goes away mid-download leaves the URL working for the next one', async () => {
    const target = url(KEYS.spaces);
    const { hostname, port, pathname } = new URL(target);
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: hostname, port, path: pathname, method: 'GET' }, (response) => {
        response.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => resolve());
      req.on('timeout', () => reject(new Error('no first byte')));
      req.end();
    });
    const again = await get(target, { signal: AbortSignal.timeout(10_000) });
    expect(again.status).toBe(200);
    expect(await dimensions(again.body)).toEqual(['jpeg', ...SIZES[KEYS.spaces]!]);
  });

  it('20 identical first requests for a new size: all 200 with the same bytes, one origin request, one asset, one row', async () => {
    const before = new Set((await listKeys(stack.s3, LOCAL_NAMES.libraryBucket)).filter(isLibraryContent));
    const origin = server.cdn.originRequests().resolver;
    const answers = await Promise.all(Array.from({ length: 20 }, () => get(signed('1280x720', KEYS.spaces))));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(new Set(answers.map((a) => createHash('sha256').update(a.body).digest('hex'))).size).toBe(1);
    expect(await dimensions(answers[0]!.body)).toEqual(['jpeg', 1280, 720]);
    expect(server.cdn.originRequests().resolver).toBe(origin + 1);
    const added = (await listKeys(stack.s3, LOCAL_NAMES.libraryBucket)).filter((key) => isLibraryContent(key) && !before.has(key));
    expect(added.filter((key) => key.startsWith('assets/'))).toHaveLength(1);
    expect(added.filter((key) => !key.startsWith('assets/'))).toEqual([`dynamic/1280x720/${KEYS.spaces}`]);
    expect((await stack.context.catalog.rowsForKey(KEYS.spaces)).filter((row) => row.preset === 'dynamic/1280x720')).toHaveLength(1);
  });

  it('an overwritten photo: live sync re-points it, drops its on-demand sizes and invalidates its URLs; the next request gets the new image', async () => {
    const key = KEYS.plain;
    const before = await get(url(`small/${key}`));
    expect((await get(url(`small/${key}`))).headers.get('x-cache')).toBe('Hit from cloudfront');
    const oldSize = await get(signed('300x200', key));
    expect(oldSize.status).toBe(200);
    const oldAsset = (await stack.context.catalog.rowsForKey(key)).find((row) => row.preset === 'dynamic/300x200')!.assetKey;
    const replacement = await noiseJpeg(640, 960, 9);
    await stack.store.put({ bucket: LOCAL_NAMES.sourceBucket, key }, replacement, { contentType: 'image/jpeg' });

    const outcome = await syncObject(stack.context, { bucket: LOCAL_NAMES.sourceBucket, key }, SYNC_RUN_ID);
    expect(outcome.invalidated).toBeGreaterThan(0);
    const logged = (await readFile(cdnInvalidationLog(stack.dataDir), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as string[]);
    // The re-pointed URLs, the dropped size, and the assets nobody uses any more.
    expect(logged.at(-1)).toEqual(expect.arrayContaining([...invalidationPaths([key, `small/${key}`, `dynamic/300x200/${key}`]), `/${oldAsset}`]));
    expect((await stack.context.catalog.rowsForKey(key)).map((row) => row.preset)).not.toContain('dynamic/300x200');

    const after = await get(url(`small/${key}`));
    expect([after.status, after.headers.get('x-cache')]).toEqual([200, 'Miss from cloudfront']);
    expect(after.body.equals(before.body)).toBe(false);
    expect(await dimensions((await get(url(key))).body)).toEqual(['jpeg', 640, 960]);
    // The on-demand size is made anew, from the new photo.
    const newSize = await get(signed('300x200', key));
    expect(newSize.headers.get('x-cache')).toBe('Miss from cloudfront');
    expect(newSize.body.equals(oldSize.body)).toBe(false);
    expect((await get(`${server.cdn.url}/${oldAsset}`)).status).toBe(403);
  });
});
