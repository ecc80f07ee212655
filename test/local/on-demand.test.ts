/**
 * The on-demand dance over real HTTP on 127.0.0.1: website 404 → 307 → API → render → 301 →
 * website → pointer 301 → asset 200; then the same URL is a plain hit. Each limit is refused before
 * anything is written.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import { encodeKeyPath } from '../../src/core/cdn';
import { signRequest } from '../../src/core/on-demand';
import { runLocalMigration } from '../../src/local/migrate';
import { type LocalServer, startLocalServer } from '../../src/local/serve';
import { LOCAL_NAMES, type LocalStack, openLocalStack } from '../../src/local/stack';
import { noiseJpeg, twoToneJpeg } from '../helpers/images';
import { isLibraryContent, listKeys } from '../helpers/library';

let dir: string;
let stack: LocalStack;
let server: LocalServer;
const SECRET = 'test-secret-please-rotate';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-on-demand-'));
  await mkdir(join(dir, 'photos/trips'), { recursive: true });
  await writeFile(join(dir, 'photos/trips/beach day+1 100%.jpg'), await twoToneJpeg(1600, 1200));
  stack = await openLocalStack(join(dir, 'data'), { config: { ...config, limits: { ...config.limits, maxInputPixels: 5_000_000 } } });
  await runLocalMigration({ photosDir: join(dir, 'photos'), dataDir: join(dir, 'data'), stack, timeScale: 0 });
  // Originals the batch has not seen: in the source bucket only.
  await stack.store.put({ bucket: LOCAL_NAMES.sourceBucket, key: 'new/fresh.jpg' }, await noiseJpeg(900, 700, 4), { contentType: 'image/jpeg' });
  await stack.store.put({ bucket: LOCAL_NAMES.sourceBucket, key: 'new/huge.jpg' }, await noiseJpeg(3000, 2000, 5), { contentType: 'image/jpeg' });
  const good = await noiseJpeg(900, 700, 6);
  await stack.store.put({ bucket: LOCAL_NAMES.sourceBucket, key: 'new/corrupt.jpg' }, good.subarray(0, good.length / 2), { contentType: 'image/jpeg' });
  await stack.store.put({ bucket: LOCAL_NAMES.sourceBucket, key: 'new/notes.jpg' }, Buffer.from('these are my notes, not a photo\n'), { contentType: 'image/jpeg' });
  server = await startLocalServer(stack, { signingSecret: '' });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await stack?.close();
  await rm(dir, { recursive: true, force: true });
});

const path = (size: string, key: string) => `/dynamic/${size}/${key.split('/').map(encodeURIComponent).join('/')}`;

async function libraryContent() {
  return (await listKeys(stack.s3, LOCAL_NAMES.libraryBucket)).filter(isLibraryContent);
}

describe('GET /dynamic/<size>/<key> on the local website (website mode)', () => {
  // No public s3:ListBucket in website mode: on the website endpoint a missing object still answers
  // 404 when objects are readable (S3 User Guide, "Setting permissions for website access"), and the
  // routing rule matches that 404.
  it('a miss: 404 → the routing rule\'s 307 to the API, which renders, stores and answers 301 back; the asset is WxH', async () => {
    const url = `${server.website.url}${path('300x200', 'trips/beach day+1 100%.jpg')}`;
    const miss = await fetch(url, { redirect: 'manual' });
    expect(miss.status).toBe(307);
    expect(miss.headers.get('location')).toBe(`${server.api.url}${path('300x200', 'trips/beach day+1 100%.jpg')}`);

    const api = await fetch(miss.headers.get('location')!, { redirect: 'manual' });
    expect(api.status).toBe(301);
    // Back to the same object in the canonical spelling of its URL (src/core/cdn.ts).
    expect(api.headers.get('location')).toBe(`${server.website.url}/dynamic/300x200/${encodeKeyPath('trips/beach day+1 100%.jpg')}`);

    const pointer = await fetch(url, { redirect: 'manual' });
    expect(pointer.status).toBe(301);
    expect(pointer.headers.get('location')).toMatch(/^\/assets\/([0-9a-f]{2}\/){3}[0-9a-f]{64}\.jpg$/);

    const image = await fetch(url);
    expect(image.status).toBe(200);
    const meta = await sharp(Buffer.from(await image.arrayBuffer())).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 300, 200]);

    const rows = await stack.context.catalog.rowsForKey('trips/beach day+1 100%.jpg');
    expect(rows.find((row) => row.preset === 'dynamic/300x200')).toMatchObject({ logicalKey: 'dynamic/300x200/trips/beach day+1 100%.jpg', width: 300, height: 200 });
  });

  it('a hit: the second request never reaches the API', async () => {
    const before = server.api.invocations();
    const url = `${server.website.url}${path('640x480-inside', 'trips/beach day+1 100%.jpg')}`;
    const first = await fetch(url);
    expect(first.status).toBe(200);
    expect(server.api.invocations()).toBe(before + 1);
    const second = await fetch(url);
    expect(second.status).toBe(200);
    expect(server.api.invocations()).toBe(before + 1);
    const meta = await sharp(Buffer.from(await second.arrayBuffer())).metadata();
    expect([meta.width, meta.height]).toEqual([640, 480]);
  });

  it('renders an original that is only in the source bucket', async () => {
    const response = await fetch(`${server.website.url}${path('150x150', 'new/fresh.jpg')}`);
    expect(response.status).toBe(200);
    expect((await sharp(Buffer.from(await response.arrayBuffer())).metadata()).width).toBe(150);
  });

  it('concurrent identical misses all end at the same single asset', async () => {
    const url = `${server.website.url}${path('100x100', 'trips/beach day+1 100%.jpg')}`;
    const responses = await Promise.all(Array.from({ length: 5 }, () => fetch(url)));
    const bodies = await Promise.all(responses.map(async (r) => Buffer.from(await r.arrayBuffer())));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(new Set(bodies.map((b) => b.toString('base64'))).size).toBe(1);
    const rows = (await stack.context.catalog.rowsForKey('trips/beach day+1 100%.jpg')).filter((row) => row.preset === 'dynamic/100x100');
    expect(rows).toHaveLength(1);
  });

  it.each([
    // The status comes from the photo's reason (src/core/on-demand.ts STATUS_OF_REASON), which the body names; a refused size has none.
    ['a size not allowed', path('301x200', 'trips/beach day+1 100%.jpg'), 400, /not allowed/, undefined],
    ['a malformed size', path('big', 'trips/beach day+1 100%.jpg'), 400, /malformed size/, undefined],
    ['a key with a control character', '/dynamic/300x200/a%07b.jpg', 400, /^bad key: key contains control characters/, 'key-refused'],
    ['an unknown original', path('300x200', 'no/such.jpg'), 404, /^no original/, 'gone'],
    ['too many pixels', path('300x200', 'new/huge.jpg'), 413, /^too large/, 'too-large'],
    ['an undecodable original', path('300x200', 'new/corrupt.jpg'), 422, /^cannot decode/, 'corrupt'],
    ['an original that is not an image', path('300x200', 'new/notes.jpg'), 422, /not an image/, 'not-an-image'],
  ])('refuses %s with a clear status, writing nothing', async (_, requestPath, status, message, reason) => {
    const before = await libraryContent();
    const response = await fetch(`${server.website.url}${requestPath}`);
    expect(response.status).toBe(status);
    const body = (await response.json()) as { error: string; reason?: string };
    expect(body.error).toMatch(message);
    expect(body.reason).toBe(reason);
    expect(await libraryContent()).toEqual(before);
  });
});

describe('the API itself', () => {
  it('refuses a key with a ".." segment (sent raw: clients normalise such paths away)', async () => {
    const before = await libraryContent();
    const { status, body } = await rawGet(`${server.api.url}/dynamic/300x200/trips/../secret.jpg`);
    expect(status).toBe(400);
    expect(JSON.parse(body).error).toMatch(/bad key: key contains "." or ".." segments/);
    expect(await libraryContent()).toEqual(before);
  });
});

function rawGet(url: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  const rawPath = url.replace(/^http:\/\/[^/]+/, '');
  return new Promise((resolve, reject) => {
    request({ host: hostname, port, path: rawPath, method: 'GET' }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('signed URLs', () => {
  let signed: LocalServer;
  beforeAll(async () => {
    signed = await startLocalServer(stack, { signingSecret: SECRET });
  });
  afterAll(async () => {
    await signed?.close();
  });

  it('accepts a valid signature and refuses a missing or tampered one with 403, writing nothing', async () => {
    const key = 'trips/beach day+1 100%.jpg';
    const sig = signRequest(SECRET, '800x600-inside', key);
    const before = await libraryContent();
    for (const query of ['', `?sig=${'0'.repeat(64)}`, `?sig=${sig.slice(0, -1)}`, `?sig=${signRequest(SECRET, '640x480', key)}`]) {
      const response = await fetch(`${signed.website.url}${path('800x600-inside', key)}${query}`);
      expect(response.status, query).toBe(403);
    }
    expect(await libraryContent()).toEqual(before);
    const ok = await fetch(`${signed.website.url}${path('800x600-inside', key)}?sig=${sig}`);
    expect(ok.status).toBe(200);
    expect((await sharp(Buffer.from(await ok.arrayBuffer())).metadata()).width).toBe(800);
  });
});
