import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchBucket,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../src/aws/s3-store';
import { isTransient } from '../../src/aws/transient';
import { NotFoundError, PhotoError, TransientError } from '../../src/core/errors';

const s3 = mockClient(S3Client);
const store = new S3ObjectStore(new S3Client({ region: 'us-east-1', maxAttempts: 1 }));
const ref = { bucket: 'library', key: 'thumb/a b+ü 100%.jpg' };

const serviceError = (name: string, status: number, fault: 'client' | 'server' = status >= 500 ? 'server' : 'client') =>
  new S3ServiceException({ name, $fault: fault, message: `${name} happened`, $metadata: { httpStatusCode: status } });
const networkError = (code: string) => Object.assign(new Error(`socket hang up (${code})`), { code });
/** A GetObject body as the SDK hands one out in Node.js: async-iterable chunks. */
const bodyOf = (...chunks: string[]) => Readable.from(chunks.map((chunk) => Buffer.from(chunk))) as never;

beforeEach(() => s3.reset());

describe('S3ObjectStore.openRead', () => {
  it('hands out the body chunk by chunk; a connection reset mid-body is a TransientError, a missing key NotFoundError', async () => {
    async function* body() {
      yield new Uint8Array([1, 2]);
      throw networkError('ECONNRESET');
    }
    s3.on(GetObjectCommand).resolves({ Body: body() as never, ContentLength: 4, ETag: '"abc"' });
    const stream = await store.openRead(ref);
    expect(stream).toMatchObject({ size: 4, etag: 'abc' });
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const chunk of stream.body) seen.push(...chunk);
      })(),
    ).rejects.toThrow(TransientError);
    expect(seen).toEqual([1, 2]);
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } }));
    await expect(store.openRead(ref)).rejects.toThrow(NotFoundError);
  });
});

describe('S3ObjectStore.put', () => {
  it('puts a pointer as a 0-byte object with WebsiteRedirectLocation and Cache-Control', async () => {
    s3.on(PutObjectCommand).resolves({});
    expect(await store.put(ref, new Uint8Array(0), { redirectLocation: '/assets/ab/cd/ef/abc.jpg', cacheControl: 'public, max-age=300' })).toBe(true);
    const input = s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(input).toEqual({
      Bucket: 'library',
      Key: 'thumb/a b+ü 100%.jpg',
      Body: new Uint8Array(0),
      ContentLength: 0,
      ContentType: undefined,
      CacheControl: 'public, max-age=300',
      WebsiteRedirectLocation: '/assets/ab/cd/ef/abc.jpg',
      Metadata: undefined,
      IfNoneMatch: undefined,
    });
  });

  it('puts an asset with its content type, cache control and metadata', async () => {
    s3.on(PutObjectCommand).resolves({});
    const body = new Uint8Array([1, 2, 3]);
    await store.put(ref, body, { contentType: 'image/jpeg', cacheControl: 'public, max-age=31536000, immutable', metadata: { sha256: 'abc', width: '10' } });
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input).toMatchObject({
      Body: body,
      ContentLength: 3,
      ContentType: 'image/jpeg',
      CacheControl: 'public, max-age=31536000, immutable',
      Metadata: { sha256: 'abc', width: '10' },
    });
  });

  it('writes with If-None-Match: * and reports an existing object (412) as not written', async () => {
    s3.on(PutObjectCommand).resolvesOnce({}).rejectsOnce(serviceError('PreconditionFailed', 412));
    expect(await store.put(ref, new Uint8Array(3), { ifAbsent: true })).toBe(true);
    expect(await store.put(ref, new Uint8Array(3), { ifAbsent: true })).toBe(false);
    expect(s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input.IfNoneMatch)).toEqual(['*', '*']);
  });

  it('does not swallow a 412 it did not ask for', async () => {
    s3.on(PutObjectCommand).rejects(serviceError('PreconditionFailed', 412));
    await expect(store.put(ref, new Uint8Array(1), {})).rejects.toMatchObject({ name: 'PreconditionFailed' });
  });

  it('treats 409 ConditionalRequestConflict (a concurrent conditional write) as transient', async () => {
    s3.on(PutObjectCommand).rejects(serviceError('ConditionalRequestConflict', 409));
    await expect(store.put(ref, new Uint8Array(1), { ifAbsent: true })).rejects.toThrow(TransientError);
  });
});

describe('S3ObjectStore.get/head/delete', () => {
  it('reads an object, its unquoted ETag and content type', async () => {
    s3.on(GetObjectCommand).resolves({ Body: bodyOf('hello'), ETag: '"abc"', ContentType: 'image/jpeg' });
    const object = await store.get(ref);
    expect(Buffer.from(object.body).toString()).toBe('hello');
    expect(object).toMatchObject({ etag: 'abc', contentType: 'image/jpeg' });
    expect(s3.commandCalls(GetObjectCommand)[0]!.args[0].input).toEqual({ Bucket: 'library', Key: 'thumb/a b+ü 100%.jpg' });
  });

  it('reads a missing body as empty bytes', async () => {
    s3.on(GetObjectCommand).resolves({});
    expect((await store.get(ref)).body).toEqual(new Uint8Array(0));
  });

  it('gathers a body of many chunks into one buffer of the announced length; a body in one chunk is that chunk, not a copy', async () => {
    s3.on(GetObjectCommand).resolves({ Body: bodyOf('he', 'll', 'o'), ContentLength: 5 });
    expect(Buffer.from((await store.get(ref)).body).toString()).toBe('hello');
    s3.on(GetObjectCommand).resolves({ Body: bodyOf('he', 'llo') });
    expect(Buffer.from((await store.get(ref)).body).toString()).toBe('hello');
    const whole = Buffer.from('hello');
    s3.on(GetObjectCommand).resolves({ Body: Readable.from([whole]) as never, ContentLength: 5 });
    const got = (await store.get(ref)).body;
    expect([got.buffer, got.byteOffset, got.byteLength]).toEqual([whole.buffer, whole.byteOffset, 5]);
  });

  it('refuses an object over maxBytes at its first chunk when its length is announced, else as the bytes pass it; the body is left', async () => {
    const pulled: number[] = [];
    let closed = 0;
    const bodyOfTen = (announced: number | undefined) => {
      s3.on(GetObjectCommand).resolves({
        Body: (async function* () {
          try {
            for (let i = 0; i < 10; i++) {
              pulled.push(i);
              yield new Uint8Array(1000);
            }
          } finally {
            closed++;
          }
        })() as never,
        ContentLength: announced,
      });
    };
    bodyOfTen(10_000);
    await expect(store.get(ref, { maxBytes: 5_000 })).rejects.toThrow(new PhotoError('too-large', 'too large: 10000 bytes, limit is 5000'));
    expect([pulled, closed]).toEqual([[0], 1]);
    pulled.length = 0;
    bodyOfTen(undefined);
    await expect(store.get(ref, { maxBytes: 5_000 })).rejects.toThrow(new PhotoError('too-large', 'too large: 6000 bytes, limit is 5000'));
    expect([pulled, closed]).toEqual([[0, 1, 2, 3, 4, 5], 2]);
    bodyOfTen(10_000);
    expect((await store.get(ref, { maxBytes: 10_000 })).body.byteLength).toBe(10_000);
  });

  it('a body shorter or longer than announced is a TransientError (read again), never a cut photo', async () => {
    s3.on(GetObjectCommand).resolves({ Body: bodyOf('hel', 'l'), ContentLength: 5 });
    await expect(store.get(ref)).rejects.toThrow(new TransientError('GetObject s3://library/thumb/a b+ü 100%.jpg: 4 of the 5 bytes announced'));
    s3.on(GetObjectCommand).resolves({ Body: bodyOf('hel', 'lo!'), ContentLength: 5 });
    await expect(store.get(ref)).rejects.toThrow(TransientError);
  });

  it('maps a missing object to NotFoundError (get) and undefined (head)', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'gone', $metadata: { httpStatusCode: 404 } }));
    s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'gone', $metadata: { httpStatusCode: 404 } }));
    await expect(store.get(ref)).rejects.toThrow(NotFoundError);
    await expect(store.get(ref)).rejects.toThrow('s3://library/thumb/a b+ü 100%.jpg');
    expect(await store.head(ref)).toBeUndefined();
  });

  it('knows a missing object by the SDK\'s exception classes (NoSuchKey, NotFound), not by a name or a status', async () => {
    // HEAD answers carry no body: the SDK names the 404 NotFound and throws its class.
    s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } }));
    expect(await store.head(ref)).toBeUndefined();
    // Another 404 (a missing bucket, an unmodeled code) is not a missing object.
    s3.on(HeadObjectCommand).rejects(serviceError('UnknownError', 404));
    await expect(store.head(ref)).rejects.toMatchObject({ name: 'UnknownError' });
    s3.on(GetObjectCommand).rejects(serviceError('NoSuchKey', 404));
    await expect(store.get(ref)).rejects.toMatchObject({ name: 'NoSuchKey' });
  });

  it('rethrows a missing bucket unchanged: a configuration error, not a deleted photo', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchBucket({ message: 'no bucket', $metadata: { httpStatusCode: 404 } }));
    await expect(store.get(ref)).rejects.toMatchObject({ name: 'NoSuchBucket' });
  });

  it('returns the pointer fields and metadata on head', async () => {
    s3.on(HeadObjectCommand).resolves({
      ContentLength: 0,
      ETag: '"d41d8"',
      ContentType: 'image/jpeg',
      WebsiteRedirectLocation: '/assets/x.jpg',
      CacheControl: 'public, max-age=300',
      Metadata: { sha256: 'abc' },
    });
    expect(await store.head(ref)).toEqual({
      size: 0,
      etag: 'd41d8',
      contentType: 'image/jpeg',
      redirectLocation: '/assets/x.jpg',
      cacheControl: 'public, max-age=300',
      metadata: { sha256: 'abc' },
    });
    expect(s3.commandCalls(HeadObjectCommand)[0]!.args[0].input).toEqual({ Bucket: 'library', Key: 'thumb/a b+ü 100%.jpg' });
  });

  it('rethrows AccessDenied on head unchanged', async () => {
    s3.on(HeadObjectCommand).rejects(serviceError('Forbidden', 403));
    await expect(store.head(ref)).rejects.toMatchObject({ name: 'Forbidden' });
  });

  it('deletes', async () => {
    s3.on(DeleteObjectCommand).resolves({});
    await store.delete(ref);
    expect(s3.commandCalls(DeleteObjectCommand)[0]!.args[0].input).toEqual({ Bucket: 'library', Key: 'thumb/a b+ü 100%.jpg' });
  });
});

describe('S3ObjectStore error mapping', () => {
  it('turns SlowDown that outlives the SDK retries into TransientError naming operation, object and error', async () => {
    const slowDown = serviceError('SlowDown', 503);
    s3.on(PutObjectCommand).rejects(slowDown);
    const error = await store.put(ref, new Uint8Array(1), {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toBe('PutObject s3://library/thumb/a b+ü 100%.jpg: SlowDown: SlowDown happened');
    expect((error as Error).name).toBe('TransientError');
    expect((error as Error).cause).toBe(slowDown);
  });

  it.each([
    ['InternalError 500', serviceError('InternalError', 500)],
    ['ServiceUnavailable 503', serviceError('ServiceUnavailable', 503)],
    ['any 5xx', serviceError('BadGateway', 502)],
    ['RequestTimeout 400', serviceError('RequestTimeout', 400)],
    ['ThrottlingException', serviceError('ThrottlingException', 400)],
    ['429', serviceError('TooManyRequests', 429)],
    ['ECONNRESET', networkError('ECONNRESET')],
    ['ETIMEDOUT', networkError('ETIMEDOUT')],
    ['TimeoutError', Object.assign(new Error('socket timed out'), { name: 'TimeoutError' })],
    ['$retryable', Object.assign(new Error('retry me'), { name: 'Whatever', $retryable: { throttling: false } })],
  ])('%s on get, head, put and delete → TransientError', async (_label, error) => {
    s3.on(GetObjectCommand).rejects(error);
    s3.on(HeadObjectCommand).rejects(error);
    s3.on(PutObjectCommand).rejects(error);
    s3.on(DeleteObjectCommand).rejects(error);
    await expect(store.get(ref)).rejects.toThrow(/^GetObject s3:\/\/library\//);
    await expect(store.get(ref)).rejects.toThrow(TransientError);
    await expect(store.head(ref)).rejects.toThrow(/^HeadObject s3:\/\/library\//);
    await expect(store.put(ref, new Uint8Array(1), { ifAbsent: true })).rejects.toThrow(/^PutObject s3:\/\/library\//);
    await expect(store.delete(ref)).rejects.toThrow(/^DeleteObject s3:\/\/library\//);
  });

  it('names a network error by its code', async () => {
    s3.on(GetObjectCommand).rejects(networkError('ECONNRESET'));
    await expect(store.get(ref)).rejects.toThrow('GetObject s3://library/thumb/a b+ü 100%.jpg: ECONNRESET: socket hang up (ECONNRESET)');
  });

  it('turns a connection reset while streaming the body into TransientError', async () => {
    async function* body() {
      yield new Uint8Array([1]);
      throw networkError('ECONNRESET');
    }
    s3.on(GetObjectCommand).resolves({ Body: body() as never, ContentLength: 2 });
    await expect(store.get(ref)).rejects.toThrow(/^GetObject s3:\/\/library\/thumb\/a b\+ü 100%\.jpg \(body\): ECONNRESET/);
  });

  it.each([
    ['AccessDenied 403', serviceError('AccessDenied', 403)],
    ['InvalidArgument 400', serviceError('InvalidArgument', 400)],
    ['NotImplemented 501', serviceError('NotImplemented', 501, 'server')],
    ['a plain Error', new Error('bug')],
  ])('%s passes unchanged', async (_label, error) => {
    s3.on(PutObjectCommand).rejects(error);
    const thrown = await store.put(ref, new Uint8Array(1), {}).catch((e: unknown) => e);
    expect(thrown).not.toBeInstanceOf(TransientError);
    expect((thrown as Error).name).toBe(error.name);
    expect((thrown as Error).message).toBe(error.message);
  });

  it('classifies non-errors as not transient', () => {
    expect(isTransient(undefined)).toBe(false);
    expect(isTransient('SlowDown')).toBe(false);
    expect(isTransient(new TransientError('already mapped'))).toBe(false);
  });
});
