/**
 * The `resolve` handler as deployed behind its function URL, against mocked AWS clients: what it
 * writes to Lambda's response stream (the JSON prelude, 8 NUL bytes, then the image), what it reads
 * (the pointer, then the asset: two S3 requests), and how it fails.
 */
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, NotFound, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import sharp from 'sharp';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PRELUDE_CONTENT_TYPE } from '../../src/handlers/streaming';
import { noiseJpeg } from '../helpers/images';

const s3 = mockClient(S3Client);
const doc = mockClient(DynamoDBDocumentClient);
let crop: Buffer;
let original: Buffer;
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const assetKeyOf = (bytes: Uint8Array) => `assets/${sha(bytes).slice(0, 2)}/${sha(bytes).slice(2, 4)}/${sha(bytes).slice(4, 6)}/${sha(bytes)}.jpg`;

beforeAll(async () => {
  process.env.LIBRARY_BUCKET = 'library-bucket';
  process.env.CATALOG_TABLE = 'catalog-table';
  process.env.SOURCE_BUCKET = 'originals';
  crop = await noiseJpeg(300, 200, 3);
  original = await noiseJpeg(900, 600, 4);
});

beforeEach(() => {
  s3.reset();
  doc.reset();
  s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'missing', $metadata: { httpStatusCode: 404 } }));
  s3.on(GetObjectCommand).rejects(Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }));
  s3.on(PutObjectCommand).resolves({});
  doc.on(QueryCommand).resolves({ Items: [] });
  doc.on(PutCommand).resolves({});
});

/** What the function URL frontend reads from the response stream, split as it splits it. */
class RawStream extends Writable {
  contentType = '';
  chunks: Buffer[] = [];
  _onBeforeFirstWrite?: (write: (chunk: string | Uint8Array) => void) => void;
  private started = false;
  setContentType(type: string) {
    this.contentType = type;
  }
  override write(chunk: any, encoding?: any, callback?: any): boolean {
    if (!this.started && this._onBeforeFirstWrite) this._onBeforeFirstWrite((first) => super.write(first));
    this.started = true;
    return super.write(chunk, encoding, callback);
  }
  override _write(chunk: Buffer, _: BufferEncoding, callback: () => void) {
    this.chunks.push(Buffer.from(chunk));
    callback();
  }
  parsed() {
    const all = Buffer.concat(this.chunks);
    const end = all.indexOf(Buffer.alloc(8));
    return { prelude: JSON.parse(all.subarray(0, end).toString()), body: all.subarray(end + 8) };
  }
}

async function call(rawPath: string, options: { method?: string; query?: Record<string, string>; headers?: Record<string, string> } = {}) {
  const { handler } = await import('../../src/handlers/resolve');
  const stream = new RawStream();
  await handler({ rawPath, queryStringParameters: options.query, headers: options.headers ?? {}, requestContext: { http: { method: options.method ?? 'GET' } } }, stream as never);
  await new Promise((resolve) => (stream.writableFinished ? resolve(undefined) : stream.once('finish', resolve)));
  return { contentType: stream.contentType, ...stream.parsed() };
}

function pointer(key: string, asset: string) {
  s3.on(HeadObjectCommand, { Bucket: 'library-bucket', Key: key }).resolves({ ContentLength: 0, WebsiteRedirectLocation: `/${asset}` });
}

function asset(key: string, bytes: Buffer) {
  s3.on(GetObjectCommand, { Bucket: 'library-bucket', Key: key }).callsFake(() => ({ Body: Readable.from([bytes.subarray(0, 100), bytes.subarray(100)]), ContentLength: bytes.length, ContentType: 'image/jpeg', ETag: '"md5"' }));
  s3.on(HeadObjectCommand, { Bucket: 'library-bucket', Key: key }).resolves({ ContentLength: bytes.length, ContentType: 'image/jpeg' });
}

describe('resolve handler (function URL, RESPONSE_STREAM)', () => {
  it('streams the image of a preset URL with 200: prelude, 8 NUL bytes, then the bytes; two S3 reads, no write', async () => {
    pointer('small/trips/a b+c.jpg', assetKeyOf(crop));
    asset(assetKeyOf(crop), crop);
    const { contentType, prelude, body } = await call('/small/trips/a%20b+c.jpg');
    expect(contentType).toBe(PRELUDE_CONTENT_TYPE);
    expect(prelude).toEqual({ statusCode: 200, headers: { 'Content-Type': 'image/jpeg', 'Cache-Control': 'public, max-age=60, s-maxage=86400', ETag: `"${sha(crop)}"` } });
    expect(body.equals(crop)).toBe(true);
    expect(s3.calls().map((c) => `${c.args[0].constructor.name} ${(c.args[0].input as { Key: string }).Key}`)).toEqual([
      'HeadObjectCommand small/trips/a b+c.jpg',
      `GetObjectCommand ${assetKeyOf(crop)}`,
    ]);
  });

  it('HEAD: headers only, the asset is not read; If-None-Match of its sha-256: 304', async () => {
    pointer('small/x.jpg', assetKeyOf(crop));
    asset(assetKeyOf(crop), crop);
    const head = await call('/small/x.jpg', { method: 'HEAD' });
    expect(head.prelude).toMatchObject({ statusCode: 200, headers: { 'Content-Type': 'image/jpeg', ETag: `"${sha(crop)}"` } });
    expect(head.body.byteLength).toBe(0);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    const notModified = await call('/small/x.jpg', { headers: { 'if-none-match': `"${sha(crop)}"` } });
    // A 304 carries the validator and the lifetime, never a Content-Type a cache would relabel the image with.
    expect(notModified.prelude).toEqual({ statusCode: 304, headers: { 'Cache-Control': 'public, max-age=60, s-maxage=86400', ETag: `"${sha(crop)}"` } });
    expect(notModified.body.byteLength).toBe(0);
  });

  it('makes a new on-demand size on its first request and answers it with 200 at that URL', async () => {
    s3.on(HeadObjectCommand, { Bucket: 'originals', Key: 'trips/new.jpg' }).resolves({ ContentLength: original.length, ETag: '"etag-9"' });
    s3.on(GetObjectCommand, { Bucket: 'originals', Key: 'trips/new.jpg' }).callsFake(() => ({ Body: Readable.from([original]), ContentLength: original.length, ETag: '"etag-9"' }));
    // After the PUTs, the pointer and asset read back what was written.
    const written = new Map<string, { body: Buffer; redirect?: string }>();
    s3.on(PutObjectCommand).callsFake((input: { Key: string; Body: Uint8Array; WebsiteRedirectLocation?: string }) => {
      written.set(input.Key, { body: Buffer.from(input.Body), redirect: input.WebsiteRedirectLocation });
      if (input.WebsiteRedirectLocation) pointer(input.Key, input.WebsiteRedirectLocation.slice(1));
      else asset(input.Key, Buffer.from(input.Body));
      return {};
    });
    const { prelude, body } = await call('/dynamic/150x150/trips/new.jpg');
    expect(prelude.statusCode).toBe(200);
    const meta = await sharp(body).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 150, 150]);
    expect(written.get('dynamic/150x150/trips/new.jpg')?.redirect).toBe(`/${assetKeyOf(body)}`);
    // One GET of the original (no HEAD first), and the new size answered from memory: nothing read back.
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input.Key)).toEqual(['trips/new.jpg']);
    expect(doc.commandCalls(PutCommand)[0]!.args[0].input.Item).toMatchObject({ sourceKey: 'trips/new.jpg', preset: 'dynamic/150x150' });
  });

  it('refuses before reading: a size not allowed (400), a bad key (400), a path that is not a logical URL (404), any other method (405)', async () => {
    for (const [path, status] of [
      ['/dynamic/4000x4000/trips/a.jpg', 400],
      ['/small/../secret.jpg', 400],
      // Another spelling of a URL: the distribution's viewer-request function never lets one through.
      ['/small/trips/a%20b%2Bc.jpg', 404],
      ['//small/x.jpg', 404],
      ['/dynamic/150x150-cover/trips/a.jpg', 404],
      ['/runs/exec-1/manifest.json', 404],
      ['/assets/00/00/00/x.jpg', 404],
    ] as const) {
      const { prelude, body } = await call(path);
      expect(prelude.statusCode, path).toBe(status);
      expect(JSON.parse(body.toString()).error, path).toEqual(expect.any(String));
    }
    expect((await call('/small/x.jpg', { method: 'POST' })).prelude).toMatchObject({ statusCode: 405, headers: { Allow: 'GET, HEAD' } });
    expect(s3.calls()).toHaveLength(0);
  });

  it('answers 404 (cached briefly) for a key with no pointer', async () => {
    const { prelude } = await call('/medium/nobody.jpg');
    expect(prelude).toEqual({ statusCode: 404, headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'public, max-age=60' } });
  });
});

describe('resolve handler with its signing secret in SSM Parameter Store', () => {
  it('fails closed with a 503 the CDN does not cache when the secret cannot be read, and reads nothing', async () => {
    const { makeResolveHandler } = await import('../../src/handlers/resolve');
    const { contextFromEnv } = await import('../../src/handlers/context');
    const lines: string[] = [];
    const handler = makeResolveHandler(
      () => ({ context: { ...contextFromEnv(), sourceBucket: 'originals' }, signingSecret: async () => Promise.reject(new Error('signing secret /x cannot be read: AccessDeniedException')) }),
      { sink: (line) => lines.push(line) },
    );
    const stream = new RawStream();
    await handler({ rawPath: '/small/x.jpg', headers: {}, requestContext: { http: { method: 'GET' } } }, stream as never);
    const { prelude, body } = stream.parsed();
    expect(prelude).toEqual({ statusCode: 503, headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' } });
    expect(JSON.parse(body.toString()).error).toMatch(/signing secret cannot be read/);
    expect(lines.join('\n')).toMatch(/AccessDeniedException/);
    expect(s3.calls()).toHaveLength(0);
  });
});
