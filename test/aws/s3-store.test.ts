import { GetObjectCommand, HeadObjectCommand, NoSuchKey, NotFound, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../src/aws/s3-store';
import { NotFoundError, TransientError } from '../../src/core/errors';

const s3 = mockClient(S3Client);
const store = new S3ObjectStore(new S3Client({ region: 'us-east-1', maxAttempts: 1 }));
const ref = { bucket: 'library', key: 'thumb/a b+ü.jpg' };

beforeEach(() => s3.reset());

describe('S3ObjectStore', () => {
  it('puts a pointer as a 0-byte object with WebsiteRedirectLocation and Cache-Control', async () => {
    s3.on(PutObjectCommand).resolves({});
    await store.put(ref, new Uint8Array(0), { redirectLocation: '/assets/ab/cd/ef/abc.jpg', cacheControl: 'public, max-age=300' });
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input).toMatchObject({
      Bucket: 'library',
      Key: 'thumb/a b+ü.jpg',
      ContentLength: 0,
      WebsiteRedirectLocation: '/assets/ab/cd/ef/abc.jpg',
      CacheControl: 'public, max-age=300',
    });
  });

  it('writes an asset with If-None-Match: * and reports an existing one (412) as not written', async () => {
    s3.on(PutObjectCommand).resolvesOnce({}).rejectsOnce(new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', message: 'exists', $metadata: { httpStatusCode: 412 } }));
    expect(await store.put(ref, new Uint8Array(3), { ifAbsent: true })).toBe(true);
    expect(await store.put(ref, new Uint8Array(3), { ifAbsent: true })).toBe(false);
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input.IfNoneMatch).toBe('*');
  });

  it('reads an object and its unquoted ETag', async () => {
    s3.on(GetObjectCommand).resolves({ Body: { transformToByteArray: async () => new Uint8Array(Buffer.from('hello')) } as never, ETag: '"abc"', ContentType: 'image/jpeg' });
    const object = await store.get(ref);
    expect(Buffer.from(object.body).toString()).toBe('hello');
    expect(object).toMatchObject({ etag: 'abc', contentType: 'image/jpeg' });
  });

  it('maps a missing object to NotFoundError (get) and undefined (head)', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'gone', $metadata: { httpStatusCode: 404 } }));
    s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'gone', $metadata: { httpStatusCode: 404 } }));
    await expect(store.get(ref)).rejects.toThrow(NotFoundError);
    expect(await store.head(ref)).toBeUndefined();
  });

  it('returns the pointer fields on head', async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: 0, ETag: '"d41d8"', WebsiteRedirectLocation: '/assets/x.jpg', CacheControl: 'public, max-age=300' });
    expect(await store.head(ref)).toMatchObject({ size: 0, etag: 'd41d8', redirectLocation: '/assets/x.jpg', cacheControl: 'public, max-age=300' });
  });

  it('turns SlowDown and 5xx that outlive the SDK retries into TransientError naming the object; other errors pass unchanged', async () => {
    s3.on(PutObjectCommand).rejects(new S3ServiceException({ name: 'SlowDown', $fault: 'server', message: 'Please reduce your request rate.', $metadata: { httpStatusCode: 503 } }));
    await expect(store.put(ref, new Uint8Array(1), {})).rejects.toThrow(TransientError);
    await expect(store.put(ref, new Uint8Array(1), {})).rejects.toThrow(/PutObject s3:\/\/library\/thumb\/a b\+ü\.jpg: SlowDown/);
    s3.on(PutObjectCommand).rejects(new S3ServiceException({ name: 'AccessDenied', $fault: 'client', message: 'no', $metadata: { httpStatusCode: 403 } }));
    await expect(store.put(ref, new Uint8Array(1), {})).rejects.toMatchObject({ name: 'AccessDenied' });
  });
});
