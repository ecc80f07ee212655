/**
 * Format negotiation on `serve`'s CDN view over real HTTP (issue 18): a preset with variants answers
 * each browser with the best format its image `Accept` allows (bodies decoded: format and size),
 * `Vary: Accept`; the cache holds one entry per normalised choice, never per raw header; a missing
 * variant falls back; explicit variant URLs are served as named (and redirect on the website like any
 * pointer); an on-demand size is rendered once, in the one format the client takes.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import { encodeKeyPath } from '../../src/core/cdn';
import { signRequest } from '../../src/core/on-demand';
import { SYNC_RUN_ID, syncObject } from '../../src/core/sync';
import type { PhotoScalerConfig } from '../../src/core/presets';
import type { LocalServer } from '../../src/local/serve';
import { LOCAL_NAMES, type LocalStack } from '../../src/local/stack';
import { BROWSER_ACCEPT } from '../helpers/accept';
import { noiseJpeg, twoToneJpeg } from '../helpers/images';
import { isLibraryContent, listKeys, servedLibrary } from '../helpers/library';

let stack: LocalStack;
let server: LocalServer;
const SECRET = 'a-signing-secret-of-at-least-32-bytes-for-tests';
const KEYS = ['trips/beach day.jpg', 'trips/fallback.jpg', 'trips/cache.jpg', 'trips/dynamic.jpg', 'trips/sync.jpg', 'trips/website.jpg'] as const;

const CONFIG: PhotoScalerConfig = {
  ...config,
  presets: {
    thumb: { width: 80, height: 80, fit: 'cover' },
    small: { width: 300, height: 200, fit: 'cover', formats: ['webp', 'avif'] },
    medium: { width: 600, height: 400, fit: 'cover', formats: ['webp'] },
  },
  onDemand: { ...config.onDemand, formats: ['webp'] },
};

let library: Awaited<ReturnType<typeof servedLibrary>> | undefined;

beforeAll(async () => {
  const photo = await twoToneJpeg(900, 600);
  library = await servedLibrary('negotiate', Object.fromEntries(KEYS.map((key) => [key, photo])), { signingSecret: SECRET, config: CONFIG });
  ({ stack, server } = library);
}, 120_000);

afterAll(() => library?.close());

const url = (logicalKey: string, query = '') => `${server.cdn.url}/${encodeKeyPath(logicalKey)}${query}`;

async function get(target: string, accept?: string) {
  const response = await fetch(target, { redirect: 'manual', headers: accept === undefined ? {} : { Accept: accept } });
  const body = Buffer.from(await response.arrayBuffer());
  const meta = response.status === 200 ? await sharp(body).metadata() : undefined;
  return { status: response.status, headers: response.headers, body, image: meta ? [meta.format, meta.width, meta.height] : undefined };
}

describe('a preset with variants answers each client with the best format its Accept allows', () => {
  it('Chrome, Safari, Firefox get AVIF; Safari 16 WebP; curl\'s */* the JPEG; with Vary: Accept and the chosen Content-Type', async () => {
    const key = KEYS[0];
    const expected: [string, string, string][] = [
      ['chrome', 'heif', 'image/avif'],
      ['safari', 'heif', 'image/avif'],
      ['firefox', 'heif', 'image/avif'],
      ['safari16', 'webp', 'image/webp'],
      ['curl', 'jpeg', 'image/jpeg'],
    ];
    for (const [client, format, contentType] of expected) {
      const answer = await get(url(`small/${key}`), BROWSER_ACCEPT[client as keyof typeof BROWSER_ACCEPT]);
      expect(answer.status, client).toBe(200);
      expect(answer.image, client).toEqual([format, 300, 200]);
      expect(answer.headers.get('content-type'), client).toBe(contentType);
      expect(answer.headers.get('vary'), client).toBe('Accept');
      expect(answer.headers.get('cache-control'), client).toBe(`public, max-age=${config.delivery!.browserSeconds}, s-maxage=${config.delivery!.cdnSeconds}`);
    }
    // No Accept at all: the primary.
    expect((await get(url(`small/${key}`))).image).toEqual(['jpeg', 300, 200]);
    // A preset with WebP only: Chrome takes its second choice.
    expect((await get(url(`medium/${key}`), BROWSER_ACCEPT.chrome)).image).toEqual(['webp', 600, 400]);
    // A preset without variants, and the original: no negotiation, no Vary.
    const thumb = await get(url(`thumb/${key}`), BROWSER_ACCEPT.chrome);
    expect([thumb.image, thumb.headers.get('vary')]).toEqual([['jpeg', 80, 80], null]);
    const original = await get(url(key), BROWSER_ACCEPT.chrome);
    expect([original.image, original.headers.get('vary')]).toEqual([['jpeg', 900, 600], null]);
  });

  it('two raw Accept strings that normalise the same are one cache entry; another choice is its own', async () => {
    const target = url(`small/${KEYS[2]}`);
    const path = new URL(target).pathname;
    const before = server.cdn.originRequests().resolver;
    const chrome = await get(target, BROWSER_ACCEPT.chrome);
    const firefox = await get(target, BROWSER_ACCEPT.firefox);
    expect([chrome.headers.get('x-cache'), firefox.headers.get('x-cache')]).toEqual(['Miss from cloudfront', 'Hit from cloudfront']);
    expect(firefox.body.equals(chrome.body)).toBe(true);
    expect(server.cdn.originRequests().resolver).toBe(before + 1);
    const curl = await get(target, BROWSER_ACCEPT.curl);
    expect([curl.headers.get('x-cache'), curl.image]).toEqual(['Miss from cloudfront', ['jpeg', 300, 200]]);
    expect((await get(target, 'image/png, */*;q=0.1')).headers.get('x-cache')).toBe('Hit from cloudfront');
    expect(server.cdn.originRequests().resolver).toBe(before + 2);
    expect(server.cdn.cacheKeys().filter((key) => key.startsWith(`${path}\u0000`)).sort()).toEqual([`${path}\u0000avif,webp`, `${path}\u0000orig`]);
    // An invalidation of the URL drops every choice of it.
    server.cdn.invalidate([path]);
    expect(server.cdn.cacheKeys().filter((key) => key.startsWith(path))).toEqual([]);
  });

  it('a missing variant pointer falls back to the next choice, finally the primary', async () => {
    const key = KEYS[1];
    await stack.store.delete({ bucket: LOCAL_NAMES.libraryBucket, key: `small.avif/${key}` });
    const webp = await get(url(`small/${key}`), BROWSER_ACCEPT.chrome);
    expect([webp.status, webp.image, webp.headers.get('vary')]).toEqual([200, ['webp', 300, 200], 'Accept']);
    await stack.store.delete({ bucket: LOCAL_NAMES.libraryBucket, key: `small.webp/${key}` });
    server.cdn.invalidate([`/small/${encodeKeyPath(key)}`]);
    const jpeg = await get(url(`small/${key}`), BROWSER_ACCEPT.safari);
    expect([jpeg.status, jpeg.image, jpeg.headers.get('content-type')]).toEqual([200, ['jpeg', 300, 200], 'image/jpeg']);
  });

  it('explicit variant URLs are served as named, whatever the Accept; on the website they redirect like any pointer', async () => {
    const key = KEYS[0];
    for (const [variant, format] of [['small.webp', 'webp'], ['small.avif', 'heif'], ['medium.webp', 'webp']] as const) {
      const answer = await get(url(`${variant}/${key}`), BROWSER_ACCEPT.curl);
      expect([answer.status, answer.image?.[0], answer.headers.get('vary')], variant).toEqual([200, format, null]);
    }
    expect((await get(url(`medium.avif/${key}`), BROWSER_ACCEPT.chrome)).status).toBe(404);
    const row = (await stack.context.catalog.rowsForKey(key)).find((r) => r.preset === 'small.webp')!;
    expect(row).toMatchObject({ logicalKey: `small.webp/${key}`, contentType: 'image/webp', width: 300, height: 200 });
    const redirect = await fetch(`${server.website.url}/small.webp/${encodeKeyPath(key)}`, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')?.replace(/^https?:\/\/[^/]+/, '')]).toEqual([301, `/${row.assetKey}`]);
  });
});

describe('on-demand sizes follow the same rule', () => {
  const signed = (size: string, key: string) => url(`dynamic/${size}/${key}`, `?sig=${signRequest(SECRET, size, key)}`);

  it('Chrome\'s first request renders only the WebP variant (onDemand.formats: webp), stored beside the primary\'s key; curl then gets the JPEG', async () => {
    const key = KEYS[3];
    const before = new Set((await listKeys(stack.s3, LOCAL_NAMES.libraryBucket)).filter(isLibraryContent));
    const added = async () => (await listKeys(stack.s3, LOCAL_NAMES.libraryBucket)).filter((k) => isLibraryContent(k) && !before.has(k));

    const chrome = await get(signed('150x150', key), BROWSER_ACCEPT.chrome);
    expect([chrome.status, chrome.image, chrome.headers.get('vary'), chrome.headers.get('content-type')]).toEqual([200, ['webp', 150, 150], 'Accept', 'image/webp']);
    const written = await added();
    expect(written.filter((k) => !k.startsWith('assets/'))).toEqual([`dynamic/150x150.webp/${key}`]);
    expect(written.filter((k) => k.startsWith('assets/'))).toHaveLength(1);
    expect(written.find((k) => k.startsWith('assets/'))).toMatch(/\.webp$/);
    const rows = (await stack.context.catalog.rowsForKey(key)).filter((row) => row.preset.startsWith('dynamic/'));
    expect(rows.map((row) => [row.preset, row.logicalKey, row.contentType])).toEqual([['dynamic/150x150.webp', `dynamic/150x150.webp/${key}`, 'image/webp']]);

    // Safari 16's choice (`webp`) is another cache entry, but the same stored variant: nothing is rendered.
    const safari16 = await get(signed('150x150', key), BROWSER_ACCEPT.safari16);
    expect([safari16.headers.get('x-cache'), safari16.body.equals(chrome.body)]).toEqual(['Miss from cloudfront', true]);
    expect(await added()).toHaveLength(2);

    const curl = await get(signed('150x150', key), BROWSER_ACCEPT.curl);
    expect([curl.status, curl.image, curl.headers.get('vary')]).toEqual([200, ['jpeg', 150, 150], 'Accept']);
    expect((await added()).filter((k) => !k.startsWith('assets/')).sort()).toEqual([`dynamic/150x150.webp/${key}`, `dynamic/150x150/${key}`]);
    expect((await stack.context.catalog.rowsForKey(key)).filter((row) => row.preset.startsWith('dynamic/')).map((row) => row.preset).sort()).toEqual(['dynamic/150x150', 'dynamic/150x150.webp']);
  });

  it('the explicit URL of an on-demand variant serves it; a format not listed in onDemand.formats is refused and nothing is made', async () => {
    const key = KEYS[3];
    const explicit = await get(url(`dynamic/150x150.webp/${key}`, `?sig=${signRequest(SECRET, '150x150', key)}`), BROWSER_ACCEPT.curl);
    expect([explicit.status, explicit.image, explicit.headers.get('vary')]).toEqual([200, ['webp', 150, 150], null]);
    const newSize = await get(url(`dynamic/300x200.webp/${key}`, `?sig=${signRequest(SECRET, '300x200', key)}`), BROWSER_ACCEPT.curl);
    expect([newSize.status, newSize.image]).toEqual([200, ['webp', 300, 200]]);
    // Website mode: a miss goes through the routing rule to the API, which makes the named variant; then it redirects like any pointer.
    const viaWebsite = await fetch(`${server.website.url}/dynamic/640x480.webp/${encodeKeyPath(key)}?sig=${signRequest(SECRET, '640x480', key)}`);
    const websiteBytes = Buffer.from(await viaWebsite.arrayBuffer());
    expect([viaWebsite.status, (await sharp(websiteBytes).metadata()).format]).toEqual([200, 'webp']);
    expect(await stack.store.head({ bucket: LOCAL_NAMES.libraryBucket, key: `dynamic/640x480/${key}` })).toBeUndefined();
    const before = await listKeys(stack.s3, LOCAL_NAMES.libraryBucket);
    expect((await get(url(`dynamic/300x200.avif/${key}`, `?sig=${signRequest(SECRET, '300x200', key)}`), BROWSER_ACCEPT.chrome)).status).toBe(404);
    expect(await listKeys(stack.s3, LOCAL_NAMES.libraryBucket)).toEqual(before);
  });

  it('an overwritten photo: live sync drops the size\'s variant and invalidates the URL it was negotiated at; Chrome then gets the new image', async () => {
    const key = KEYS[4];
    const before = await get(signed('100x100', key), BROWSER_ACCEPT.chrome);
    expect([before.status, before.image]).toEqual([200, ['webp', 100, 100]]);
    expect((await get(signed('100x100', key), BROWSER_ACCEPT.firefox)).headers.get('x-cache')).toBe('Hit from cloudfront');
    // Only the variant was made: its key is what sync drops.
    expect((await stack.context.catalog.rowsForKey(key)).filter((row) => row.preset.startsWith('dynamic/')).map((row) => row.logicalKey)).toEqual([`dynamic/100x100.webp/${key}`]);

    await stack.store.put({ bucket: LOCAL_NAMES.sourceBucket, key }, await noiseJpeg(640, 480, 3), { contentType: 'image/jpeg' });
    const outcome = await syncObject(stack.context, { bucket: LOCAL_NAMES.sourceBucket, key }, SYNC_RUN_ID);
    expect(outcome.invalidated).toBeGreaterThan(0);

    const after = await get(signed('100x100', key), BROWSER_ACCEPT.chrome);
    expect([after.status, after.headers.get('x-cache'), after.image]).toEqual([200, 'Miss from cloudfront', ['webp', 100, 100]]);
    expect(after.body.equals(before.body)).toBe(false);
  });

  it('an unsigned request for a size already made: Chrome gets the encoding that exists rather than a 403 for the one it would prefer', async () => {
    const key = KEYS[1];
    const made = await get(signed('640x480-inside', key), BROWSER_ACCEPT.curl);
    expect([made.status, made.image]).toEqual([200, ['jpeg', 640, 427]]);
    const unsigned = await get(url(`dynamic/640x480-inside/${key}`), BROWSER_ACCEPT.chrome);
    expect([unsigned.status, unsigned.image, unsigned.headers.get('vary')]).toEqual([200, ['jpeg', 640, 427], 'Accept']);
    expect(await stack.store.head({ bucket: LOCAL_NAMES.libraryBucket, key: `dynamic/640x480-inside.webp/${key}` })).toBeUndefined();
    // Nothing made yet, unsigned: refused as before (and not cached).
    const fresh = await get(url(`dynamic/800x600-inside/${key}`), BROWSER_ACCEPT.chrome);
    expect([fresh.status, fresh.headers.get('cache-control')]).toEqual([403, 'no-store']);
  });
});

// An S3 website cannot vary on Accept: a routing rule's only conditions are a key prefix and the
// error code (CloudFormation User Guide, "AWS::S3::Bucket RoutingRuleCondition": HttpErrorCodeReturnedEquals,
// KeyPrefixEquals), and a pointer's WebsiteRedirectLocation is one fixed target.
describe('website mode does not negotiate: each variant has its own explicit URL', () => {
  const key = KEYS[5];
  const onWebsite = (logicalKey: string, query = '') => `${server.website.url}/${encodeKeyPath(logicalKey)}${query}`;
  const followed = async (target: string, accept: string) => {
    const response = await fetch(target, { headers: { Accept: accept } });
    const body = Buffer.from(await response.arrayBuffer());
    const meta = response.status === 200 ? await sharp(body).metadata() : undefined;
    return { status: response.status, url: response.url, vary: response.headers.get('vary'), contentType: response.headers.get('content-type'), image: meta ? [meta.format, meta.width, meta.height] : undefined };
  };

  it('a preset\'s logical URL is its primary for every browser; `small.webp`, `small.avif`, `medium.webp` redirect to their own assets', async () => {
    for (const client of ['chrome', 'safari', 'firefox', 'curl'] as const) {
      const primary = await followed(onWebsite(`small/${key}`), BROWSER_ACCEPT[client]);
      expect([primary.status, primary.image, primary.contentType, primary.vary], client).toEqual([200, ['jpeg', 300, 200], 'image/jpeg', null]);
    }
    const rows = await stack.context.catalog.rowsForKey(key);
    for (const [variant, format, contentType, size] of [['small.webp', 'webp', 'image/webp', [300, 200]], ['small.avif', 'heif', 'image/avif', [300, 200]], ['medium.webp', 'webp', 'image/webp', [600, 400]]] as const) {
      const pointer = await fetch(onWebsite(`${variant}/${key}`), { redirect: 'manual' });
      const row = rows.find((r) => r.preset === variant)!;
      expect([pointer.status, pointer.headers.get('location')?.replace(/^https?:\/\/[^/]+/, '')], variant).toEqual([301, `/${row.assetKey}`]);
      const image = await followed(onWebsite(`${variant}/${key}`), BROWSER_ACCEPT.curl);
      expect([image.status, image.image, image.contentType], variant).toEqual([200, [format, ...size], contentType]);
    }
    // No variant of a preset that has none, nor of a format the preset does not list.
    for (const missing of ['thumb.webp', 'medium.avif']) expect((await fetch(onWebsite(`${missing}/${key}`), { redirect: 'manual' })).status, missing).toBe(404);
  });

  it('an on-demand size through the API: Chrome gets the primary JPEG at `300x200`, the WebP at `300x200.webp` — also spelled `300x200.WEBP`, which lands on the same asset', async () => {
    const sig = `?sig=${signRequest(SECRET, '300x200', key)}`;
    const before = new Set(await listKeys(stack.s3, LOCAL_NAMES.libraryBucket));
    const primary = await followed(onWebsite(`dynamic/300x200/${key}`, sig), BROWSER_ACCEPT.chrome);
    expect([primary.status, primary.image, primary.contentType, primary.vary]).toEqual([200, ['jpeg', 300, 200], 'image/jpeg', null]);
    const webp = await followed(onWebsite(`dynamic/300x200.webp/${key}`, sig), BROWSER_ACCEPT.curl);
    expect([webp.status, webp.image, webp.contentType]).toEqual([200, ['webp', 300, 200], 'image/webp']);
    const written = (await listKeys(stack.s3, LOCAL_NAMES.libraryBucket)).filter((k) => !before.has(k));
    expect(written.filter((k) => !k.startsWith('assets/')).sort()).toEqual([`dynamic/300x200.webp/${key}`, `dynamic/300x200/${key}`]);

    // The routing rule's 307 to the API, whose 301 names the canonical URL; nothing new is made.
    const miss = await fetch(onWebsite(`dynamic/300x200.WEBP/${key}`, sig), { redirect: 'manual' });
    expect(miss.status).toBe(307);
    const api = await fetch(miss.headers.get('location')!, { redirect: 'manual' });
    expect([api.status, api.headers.get('location')]).toEqual([301, onWebsite(`dynamic/300x200.webp/${key}`)]);
    const upper = await followed(onWebsite(`dynamic/300x200.WEBP/${key}`, sig), BROWSER_ACCEPT.chrome);
    expect([upper.status, upper.image]).toEqual([200, ['webp', 300, 200]]);
    expect((await listKeys(stack.s3, LOCAL_NAMES.libraryBucket)).filter((k) => !before.has(k))).toEqual(written);
    expect((await stack.context.catalog.rowsForKey(key)).filter((row) => row.preset.startsWith('dynamic/')).map((row) => row.preset).sort()).toEqual(['dynamic/300x200', 'dynamic/300x200.webp']);
    // The CDN view keeps one spelling per URL: the upper-case suffix is refused there, naming the canonical one.
    const cdn = await fetch(url(`dynamic/300x200.WEBP/${key}`, sig));
    expect([cdn.status, ((await cdn.json()) as { error: string }).error]).toEqual([404, 'not the canonical spelling of this size: 300x200.webp']);
  });
});
