/**
 * Every port `serve` opens (the S3 website, the CDN view, the on-demand API) over real HTTP on
 * 127.0.0.1, asked for paths that try to leave the library bucket: `..` raw, percent-encoded,
 * double-encoded, with backslashes, with NUL. On S3 a key is a literal string in a flat namespace
 * (S3 User Guide, "Naming Amazon S3 objects": any UTF-8 character; "there is no hierarchy of
 * subbuckets or subfolders"), and a website endpoint serves only the objects of its own bucket
 * (S3 User Guide, "Website endpoints", "Key differences between a website endpoint and a REST API
 * endpoint": GET and HEAD on objects only, errors as a document). So no answer may carry the bytes of
 * an object of another bucket or of a file anywhere on disk, and no answer may carry internals (SDK
 * messages, stack traces, file paths).
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LocalServer, REPORT_PATH, startLocalServer } from '../../src/local/serve';
import { LOCAL_NAMES, type LocalStack, openLocalStack } from '../../src/local/stack';
import { listKeys } from '../helpers/library';

let dir: string;
let stack: LocalStack;
let server: LocalServer;

const nonce = Math.random().toString(36).slice(2);
const MARKERS = {
  source: `SOURCE-BUCKET-SECRET-${nonce}`,
  inventory: `INVENTORY-BUCKET-SECRET-${nonce}`,
  outside: `FILE-OUTSIDE-THE-DATA-DIR-${nonce}`,
  otherDataDir: `OTHER-DATA-DIR-SECRET-${nonce}`,
};
const VISIBLE = `LIBRARY-OBJECT-${nonce}`;
const SOURCE_KEY = 'private/secret.jpg';
const INVENTORY_KEY = 'inv/secret.csv';
/** A key S3 takes as it is, backslashes and all. */
const BACKSLASH_KEY = 'odd\\name.txt';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-serve-paths-'));
  // Next to the data dir: a plain file, and another data dir in s3rver's own layout (a file per key).
  await writeFile(join(dir, 'outside.txt'), MARKERS.outside);
  await mkdir(join(dir, 'other-data', 's3', LOCAL_NAMES.libraryBucket), { recursive: true });
  await writeFile(join(dir, 'other-data', 's3', LOCAL_NAMES.libraryBucket, 'photo.jpg._S3rver_object'), MARKERS.otherDataDir);
  stack = await openLocalStack(join(dir, 'data'), { sdkTimeScale: 0 });
  await stack.store.put({ bucket: LOCAL_NAMES.sourceBucket, key: SOURCE_KEY }, Buffer.from(MARKERS.source), { contentType: 'image/jpeg' });
  await stack.store.put({ bucket: LOCAL_NAMES.inventoryBucket, key: INVENTORY_KEY }, Buffer.from(MARKERS.inventory), { contentType: 'text/csv' });
  await stack.store.put({ bucket: LOCAL_NAMES.libraryBucket, key: 'ok/visible.txt' }, Buffer.from(VISIBLE), { contentType: 'text/plain' });
  await stack.store.put({ bucket: LOCAL_NAMES.libraryBucket, key: BACKSLASH_KEY }, Buffer.from(VISIBLE), { contentType: 'text/plain' });
  server = await startLocalServer(stack, { signingSecret: '' });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A request whose path is sent exactly as given (fetch would resolve `..` and `%2E%2E` first). */
function raw(base: string, path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(base);
    request({ host: hostname, port, path, method }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
    })
      .on('error', reject)
      .end();
  });
}

/** Follows redirects to 127.0.0.1 (the website's 307 to the API, the API's 301 back), each hop sent raw. */
async function follow(base: string, path: string, method: string): Promise<Answer[]> {
  const answers = [await raw(base, path, method)];
  for (let hop = 0; hop < 4; hop++) {
    const last = answers.at(-1)!;
    const location = last.headers.location;
    if (last.status < 300 || last.status >= 400 || typeof location !== 'string') break;
    const next = new URL(location, base);
    expect(next.hostname, `redirect of ${path} leaves 127.0.0.1: ${location}`).toBe('127.0.0.1');
    // The Location as written, not as the URL parser would normalize it.
    const rawPath = location.startsWith('http') ? location.slice(location.indexOf('/', location.indexOf('//') + 2)) : location;
    answers.push(await raw(`${next.protocol}//${next.host}`, rawPath, method));
  }
  return answers;
}

/** What an answer must never hold: another bucket's or a file's bytes, SDK words, stack frames, file paths. */
function expectNothingLeaked(answer: Answer, what: string): void {
  const text = answer.body.toString('latin1');
  for (const [name, marker] of Object.entries(MARKERS)) expect(text, `${what} returned the ${name} bytes`).not.toContain(marker);
  expect(text, `${what} leaks internals`).not.toMatch(/s3:\/\/|HeadObject|GetObject|UnknownError|TransientError|\$metadata|node_modules|\n\s+at |\.ts:\d/);
  expect(text, `${what} leaks a file path`).not.toContain(dir);
  expect(text, `${what} leaks a file path`).not.toContain(tmpdir());
}

/** From inside the library bucket's directory (`<data>/s3/<library bucket>`), what lies elsewhere. */
function targets(): string[] {
  const objectFile = (bucket: string, key: string) => {
    const hash = createHash('sha256').update(key, 'utf8').digest('hex');
    return `${bucket}/.objects/${hash.slice(0, 2)}/${hash}`;
  };
  return [
    `1:${LOCAL_NAMES.sourceBucket}/${SOURCE_KEY}`,
    `1:${LOCAL_NAMES.inventoryBucket}/${INVENTORY_KEY}`,
    `1:${objectFile(LOCAL_NAMES.sourceBucket, SOURCE_KEY)}`,
    `3:outside.txt`,
    `3:other-data/s3/${LOCAL_NAMES.libraryBucket}/photo.jpg._S3rver_object`,
  ];
}

/** `..` spelled every way a path can spell it: [up segment, separator]. */
const SPELLINGS: Array<[string, string]> = [
  ['..', '/'],
  ['%2e%2e', '/'],
  ['%2E%2E', '%2F'],
  ['.%2e', '/'],
  ['%252e%252e', '%252f'],
  ['..', '%5c'],
  ['..', '\\'],
  ['%2e%2e', '%5C'],
];
/** Where the path starts: the bucket's root, a preset, an on-demand size, the CDN's /assets/ behavior, a size that is `..`. */
const PREFIXES = ['', 'small/', 'dynamic/300x200/', 'assets/', 'dynamic/'];

function traversalPaths(): string[] {
  const paths: string[] = [];
  for (const target of targets()) {
    const [levels, rest] = [Number(target.split(':', 1)[0]), target.slice(target.indexOf(':') + 1)];
    for (const [up, separator] of SPELLINGS) {
      const climbed = Array.from({ length: levels }, () => up).join(separator) + separator + rest.split('/').join(separator);
      for (const prefix of PREFIXES) {
        paths.push(`/${prefix}${climbed}`);
        // A NUL after the key (C-style truncation), and before it.
        paths.push(`/${prefix}${climbed}%00.jpg`);
      }
    }
  }
  paths.push(`/%00/../${LOCAL_NAMES.sourceBucket}/${SOURCE_KEY}`, `/%2e%2e%00/${LOCAL_NAMES.sourceBucket}/${SOURCE_KEY}`, '/%00', '/a%00b.jpg');
  return paths;
}

describe('serve never answers with anything outside the library bucket (S3 User Guide, "Naming Amazon S3 objects": keys are literal; "Website endpoints": a website serves its own bucket)', () => {
  it('the harness sees a library object: served by the website (also a key with a backslash, literal as S3 takes it)', async () => {
    const visible = await raw(server.website.url, '/ok/visible.txt');
    expect([visible.status, visible.body.toString()]).toEqual([200, VISIBLE]);
    const backslash = await raw(server.website.url, '/odd%5Cname.txt');
    expect([backslash.status, backslash.body.toString()]).toEqual([200, VISIBLE]);
    // …and the markers are where the traversals aim: readable there, through the store.
    expect(Buffer.from((await stack.store.get({ bucket: LOCAL_NAMES.sourceBucket, key: SOURCE_KEY })).body).toString()).toBe(MARKERS.source);
  });

  it('.., %2e%2e, .%2e, %252e%252e, \\ and %5c, %00 — on the website, the CDN view and the API, GET and HEAD: a 4xx, never another bucket\'s or a file\'s bytes, never a write', async () => {
    const libraryBefore = await listKeys(stack.s3, LOCAL_NAMES.libraryBucket);
    const ports = { website: server.website.url, cdn: server.cdn.url, api: server.api.url };
    const paths = traversalPaths();
    expect(paths.length).toBeGreaterThan(400);
    const failures: string[] = [];
    for (const [port, base] of Object.entries(ports)) {
      for (const method of ['GET', 'HEAD']) {
        // A few at a time: the emulator and the CDN view are in this process.
        for (let i = 0; i < paths.length; i += 8) {
          await Promise.all(
            paths.slice(i, i + 8).map(async (path) => {
              const answers = await follow(base, path, method);
              for (const answer of answers) expectNothingLeaked(answer, `${method} ${port} ${path}`);
              const last = answers.at(-1)!;
              if (last.status < 400 || last.status >= 500) failures.push(`${method} ${port} ${path} → ${answers.map((a) => a.status).join(' → ')}`);
            }),
          );
        }
      }
    }
    expect(failures).toEqual([]);
    expect(await listKeys(stack.s3, LOCAL_NAMES.libraryBucket)).toEqual(libraryBefore);
  }, 180_000);

  it('the website answers a key with "." or ".." segments or a control character as S3 would for a key the bucket does not hold: 404 NoSuchKey', async () => {
    for (const path of [`/%2e%2e/${LOCAL_NAMES.sourceBucket}/${SOURCE_KEY}`, `/../${LOCAL_NAMES.sourceBucket}/${SOURCE_KEY}`, '/ok/./visible.txt', '/ok/%2E/visible.txt', '/ok/visible.txt%00', '/a%00b.jpg', '/a%0d%0ab.jpg']) {
      const answer = await raw(server.website.url, path);
      expect(answer.status, path).toBe(404);
      expect(answer.body.toString(), path).toMatch(/NoSuchKey/);
      // The requested key is echoed escaped: no raw control characters in the answer.
      // eslint-disable-next-line no-control-regex
      expect(answer.body.toString().trimEnd(), path).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/);
    }
  });
});

describe('serve\'s errors never carry internals (no SDK messages, stack traces, file paths)', () => {
  // S3 refuses a key over 1,024 bytes (S3 User Guide, "Naming Amazon S3 objects") with 400
  // KeyTooLongError (Amazon S3 API Reference, "Error responses", list of error codes).
  it('a key over 1,024 bytes: 400 KeyTooLongError on the website, 4xx on the CDN view and the API, with no SDK words', async () => {
    const long = 'a'.repeat(1100);
    for (const path of [`/${long}.jpg`, `/small/${long}.jpg`, `/dynamic/300x200/${long}.jpg`]) {
      const website = await raw(server.website.url, path);
      expect(website.status, `website ${path.slice(0, 30)}`).toBe(400);
      expect(website.body.toString()).toMatch(/KeyTooLongError/);
      expectNothingLeaked(website, `website ${path.slice(0, 30)}`);
      for (const [port, base] of [['cdn', server.cdn.url], ['api', server.api.url]] as const) {
        const answer = await raw(base, path);
        expect(answer.status, `${port} ${path.slice(0, 30)}`).toBeGreaterThanOrEqual(400);
        expect(answer.status, `${port} ${path.slice(0, 30)}`).toBeLessThan(500);
        expectNothingLeaked(answer, `${port} ${path.slice(0, 30)}`);
      }
    }
  });

  it('the report before any run: a page that says so, on the CDN view and the website, without the data dir\'s path', async () => {
    for (const base of [server.cdn.url, server.website.url]) {
      const answer = await raw(base, REPORT_PATH);
      expect(answer.status, base).toBe(200);
      expect(answer.body.toString(), base).toMatch(/no finished run/i);
      expectNothingLeaked(answer, `${base}${REPORT_PATH}`);
    }
  });
});

describe('a failing S3 behind serve: a plain 5xx on every port, the detail only in serve\'s own output', () => {
  let faulty: LocalStack;
  let faultyServer: LocalServer;
  beforeAll(async () => {
    // Every S3 request of the SDK answered 500 InternalError (its retries too, at once).
    faulty = await openLocalStack(join(dir, 'faulty-data'), { faults: { slowDown: 0, internalError: 0.999999, throttle: 0, crash: 0, seed: 7 }, sdkTimeScale: 0 });
    faultyServer = await startLocalServer(faulty, { signingSecret: '' });
  }, 120_000);
  afterAll(async () => {
    await faultyServer?.close();
    await faulty?.close();
  });

  it('website, CDN view (logical URL and /assets/) and API answer 5xx with no SDK message, no bucket URL, no stack', async () => {
    const logged: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      logged.push(String(chunk));
      return true;
    });
    try {
      const asset = `/assets/00/00/00/${'0'.repeat(64)}.jpg`;
      const requests: Array<[string, string]> = [
        [faultyServer.website.url, '/small/x.jpg'],
        [faultyServer.website.url, '/dynamic/300x200/x.jpg'],
        [faultyServer.cdn.url, '/small/x.jpg'],
        [faultyServer.cdn.url, asset],
        [faultyServer.api.url, '/dynamic/300x200/x.jpg'],
      ];
      for (const [base, path] of requests) {
        const answer = await raw(base, path);
        expect(answer.status, `${base}${path}`).toBeGreaterThanOrEqual(500);
        expectNothingLeaked(answer, `${base}${path}`);
      }
    } finally {
      spy.mockRestore();
    }
    // The operator still learns what failed: in the terminal running serve.
    expect(logged.join('')).toMatch(/HeadObject s3:\/\/photo-scaler-library\/small\/x\.jpg/);
    expect(logged.join('')).toMatch(/HeadObject s3:\/\/photo-scaler-library\/assets\//);
  });
});
