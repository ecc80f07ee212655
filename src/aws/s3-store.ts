/** The ObjectStore port on Amazon S3 (and on s3rver locally: same code, other endpoint). */
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { NotFoundError } from '../core/errors';
import type { ObjectHead, ObjectRef, ObjectStore, PutOptions, StoredObject } from '../core/ports';
import { guard } from './transient';

export class S3ObjectStore implements ObjectStore {
  constructor(private readonly s3: S3Client) {}

  async get(ref: ObjectRef): Promise<StoredObject> {
    try {
      const response = await guard(`GetObject s3://${ref.bucket}/${ref.key}`, () => this.s3.send(new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key })));
      const body = await guard(`reading s3://${ref.bucket}/${ref.key}`, async () => (await response.Body?.transformToByteArray()) ?? new Uint8Array(0));
      return { body, etag: unquote(response.ETag), contentType: response.ContentType };
    } catch (error) {
      if (isNotFound(error)) throw new NotFoundError(`no such object: s3://${ref.bucket}/${ref.key}`);
      throw error;
    }
  }

  async head(ref: ObjectRef): Promise<ObjectHead | undefined> {
    try {
      const response = await guard(`HeadObject s3://${ref.bucket}/${ref.key}`, () => this.s3.send(new HeadObjectCommand({ Bucket: ref.bucket, Key: ref.key })));
      return {
        size: response.ContentLength ?? 0,
        etag: unquote(response.ETag),
        contentType: response.ContentType,
        cacheControl: response.CacheControl,
        redirectLocation: response.WebsiteRedirectLocation,
        metadata: response.Metadata,
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async put(ref: ObjectRef, body: Uint8Array, options: PutOptions): Promise<boolean> {
    try {
      await guard(`PutObject s3://${ref.bucket}/${ref.key}`, () =>
        this.s3.send(
          new PutObjectCommand({
            Bucket: ref.bucket,
            Key: ref.key,
            Body: body,
            ContentLength: body.byteLength,
            ContentType: options.contentType,
            CacheControl: options.cacheControl,
            WebsiteRedirectLocation: options.redirectLocation,
            Metadata: options.metadata,
            IfNoneMatch: options.ifAbsent ? '*' : undefined,
          }),
        ),
      );
      return true;
    } catch (error) {
      // 412: the object exists. (409 ConditionalRequestConflict, a concurrent conditional write, is
      // transient and retried: guard turns it into TransientError above only for 5xx/throttling.)
      if (options.ifAbsent && (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412) return false;
      throw error;
    }
  }

  async delete(ref: ObjectRef): Promise<void> {
    await guard(`DeleteObject s3://${ref.bucket}/${ref.key}`, () => this.s3.send(new DeleteObjectCommand({ Bucket: ref.bucket, Key: ref.key })));
  }
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

function unquote(etag: string | undefined): string | undefined {
  return etag?.replace(/"/g, '');
}
