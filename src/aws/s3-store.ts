/** The ObjectStore port on Amazon S3 (and on s3rver locally: same code, other endpoint). */
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, NoSuchKey, NotFound, PutObjectCommand, type S3Client, UploadPartCommand, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { NotFoundError, TransientError, tooLarge } from '../core/errors';
import { unquoteEtag } from '../core/etag';
import type { ListedObject, MultipartUpload, ObjectHead, ObjectRef, ObjectStore, ObjectStream, ObjectUploads, PutOptions, StoredObject } from '../core/ports';
import { isUnmodeledS3Error } from './sdk-errors';
import { guard } from './transient';

export class S3ObjectStore implements ObjectStore, ObjectUploads {
  constructor(private readonly s3: S3Client) {}

  /**
   * The whole body, from openRead's chunks (each guarded: a reset mid-body is transient), copied as
   * they arrive into one buffer of the announced length — so a 200 MB original takes 200 MB, not its
   * chunks and then their concatenation, as the SDK's transformToByteArray does — and a body that
   * came as one chunk (the local S3 answers a file in one) is that chunk, not a copy of it. Over
   * `maxBytes`: refused on its Content-Length at its first chunk (leaving the body closes the
   * connection), or once more bytes than that have come.
   */
  async get(ref: ObjectRef, options: { maxBytes?: number } = {}): Promise<StoredObject> {
    const object = await this.openRead(ref);
    const size = object.size;
    const { maxBytes = Infinity } = options;
    let body: Uint8Array | undefined;
    const chunks: Uint8Array[] = [];
    let length = 0;
    for await (const chunk of object.body) {
      // Thrown at the first chunk (the loop left, openRead closes the connection) when the length is announced.
      if (size !== undefined && size > maxBytes) throw tooLarge(size, maxBytes);
      if (length + chunk.byteLength > maxBytes) throw tooLarge(length + chunk.byteLength, maxBytes);
      if (size === undefined) chunks.push(chunk);
      else if (length + chunk.byteLength > size) throw new TransientError(`GetObject ${url(ref)}: more than the ${size} bytes announced`);
      else if (length === 0 && chunk.byteLength === size) body = chunk;
      else (body ??= Buffer.allocUnsafe(size)).set(chunk, length);
      length += chunk.byteLength;
    }
    if (size !== undefined && length < size) throw new TransientError(`GetObject ${url(ref)}: ${length} of the ${size} bytes announced`);
    body ??= length === 0 ? new Uint8Array(0) : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
    // A plain Uint8Array over the same bytes (the SDK's transformToByteArray gave one): no Buffer methods leak out.
    return { body: Buffer.isBuffer(body) ? new Uint8Array(body.buffer, body.byteOffset, body.byteLength) : body, etag: object.etag, contentType: object.contentType };
  }

  /**
   * GetObject's body as it arrives (in Node.js a Readable, async-iterable in chunks): memory stays
   * bounded by the socket's buffers, not by the object's size. An error mid-body is guarded like the
   * call itself (a reset connection is transient).
   */
  async openRead(ref: ObjectRef): Promise<ObjectStream> {
    let response;
    try {
      response = await guard(`GetObject ${url(ref)}`, () => this.s3.send(new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key })));
    } catch (error) {
      if (isNotFound(error)) throw new NotFoundError(`no such object: ${url(ref)}`, { cause: error });
      throw error;
    }
    const stream = response.Body as AsyncIterable<Uint8Array> | undefined;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      if (!stream) return;
      const iterator = stream[Symbol.asyncIterator]();
      try {
        for (;;) {
          const next = await guard(`GetObject ${url(ref)} (body)`, () => iterator.next());
          if (next.done) return;
          yield next.value;
        }
      } finally {
        // Left early (a limit hit, an error): close the connection instead of draining the rest.
        await iterator.return?.();
      }
    }
    return { body: chunks(), size: response.ContentLength, etag: unquoteEtag(response.ETag), contentType: response.ContentType };
  }

  async head(ref: ObjectRef): Promise<ObjectHead | undefined> {
    try {
      const response = await guard(`HeadObject ${url(ref)}`, () => this.s3.send(new HeadObjectCommand({ Bucket: ref.bucket, Key: ref.key })));
      return {
        size: response.ContentLength ?? 0,
        etag: unquoteEtag(response.ETag),
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
      await guard(`PutObject ${url(ref)}`, () =>
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
      // 412 PreconditionFailed: an object is already there. (409 ConditionalRequestConflict, a
      // concurrent conditional write, is transient: guard has made it a TransientError.)
      if (options.ifAbsent && isUnmodeledS3Error(error, 'PreconditionFailed')) return false;
      throw error;
    }
  }

  async delete(ref: ObjectRef): Promise<void> {
    await guard(`DeleteObject ${url(ref)}`, () => this.s3.send(new DeleteObjectCommand({ Bucket: ref.bucket, Key: ref.key })));
  }

  /**
   * A multipart upload by hand (CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
   * AbortMultipartUpload: S3 API Reference; @aws-sdk/lib-storage is not a dependency): the caller
   * holds one part in memory at a time, and completes only once the bytes are verified. Each call is
   * guarded (retried when transient) like any other.
   */
  async startUpload(ref: ObjectRef, options: Pick<PutOptions, 'contentType' | 'metadata'>): Promise<MultipartUpload> {
    const created = await guard(`CreateMultipartUpload ${url(ref)}`, () =>
      this.s3.send(new CreateMultipartUploadCommand({ Bucket: ref.bucket, Key: ref.key, ContentType: options.contentType, Metadata: options.metadata })),
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw new Error(`CreateMultipartUpload ${url(ref)}: no UploadId`);
    const parts: Array<{ PartNumber: number; ETag?: string }> = [];
    return {
      uploadPart: async (body) => {
        const PartNumber = parts.length + 1;
        const part = await guard(`UploadPart ${url(ref)} #${PartNumber}`, () =>
          this.s3.send(new UploadPartCommand({ Bucket: ref.bucket, Key: ref.key, UploadId: uploadId, PartNumber, Body: body, ContentLength: body.byteLength })),
        );
        parts.push({ PartNumber, ETag: part.ETag });
      },
      complete: async () => {
        const done = await guard(`CompleteMultipartUpload ${url(ref)}`, () =>
          this.s3.send(new CompleteMultipartUploadCommand({ Bucket: ref.bucket, Key: ref.key, UploadId: uploadId, MultipartUpload: { Parts: parts } })),
        );
        return { etag: unquoteEtag(done.ETag) };
      },
      abort: async () => {
        await guard(`AbortMultipartUpload ${url(ref)}`, () => this.s3.send(new AbortMultipartUploadCommand({ Bucket: ref.bucket, Key: ref.key, UploadId: uploadId })));
      },
    };
  }

  /**
   * ListObjectsV2 with the SDK's paginator, which follows NextContinuationToken (S3 API Reference,
   * "ListObjectsV2": up to 1,000 keys a response, in UTF-8 binary order; AWS SDK for JavaScript v3
   * Developer Guide, "Pagination"). Each page is guarded like any call. Keys come back as stored: no
   * EncodingType is asked.
   */
  async *list(bucket: string, prefix: string): AsyncIterable<ListedObject> {
    const pages = paginateListObjectsV2({ client: this.s3 }, { Bucket: bucket, Prefix: prefix })[Symbol.asyncIterator]();
    for (;;) {
      const page = await guard(`ListObjectsV2 s3://${bucket}/${prefix}`, () => pages.next());
      if (page.done) return;
      for (const object of page.value.Contents ?? []) {
        if (object.Key !== undefined) yield { key: object.Key, size: object.Size ?? 0, lastModified: object.LastModified ?? new Date(0), etag: unquoteEtag(object.ETag) };
      }
    }
  }
}

function url(ref: ObjectRef): string {
  return `s3://${ref.bucket}/${ref.key}`;
}

/**
 * GetObject says NoSuchKey; HeadObject has no body, so the SDK names its 404 `NotFound`. A missing
 * bucket (NoSuchBucket) is a configuration error, not a deleted photo: rethrown as is.
 */
function isNotFound(error: unknown): boolean {
  return error instanceof NoSuchKey || error instanceof NotFound;
}
