/** A Map-backed ObjectStore with S3's semantics for what the core uses (MD5 ETags, 404 as NotFoundError). */
import { createHash } from 'node:crypto';
import { NotFoundError, tooLarge } from '../../src/core/errors';
import type { ListedObject, MultipartUpload, ObjectHead, ObjectRef, ObjectStore, ObjectStream, ObjectUploads, PutOptions, StoredObject } from '../../src/core/ports';

interface Entry {
  body: Uint8Array;
  options: PutOptions;
  etag: string;
  lastModified: Date;
}

export class MemoryStore implements ObjectStore {
  private readonly objects = new Map<string, Entry>();
  puts = 0;

  async get(ref: ObjectRef, options: { maxBytes?: number } = {}): Promise<StoredObject> {
    const entry = this.objects.get(id(ref));
    if (!entry) throw new NotFoundError(`no such object: s3://${ref.bucket}/${ref.key}`);
    if (entry.body.byteLength > (options.maxBytes ?? Infinity)) throw tooLarge(entry.body.byteLength, options.maxBytes!);
    return { body: entry.body.slice(), etag: entry.etag, contentType: entry.options.contentType };
  }

  /** The body in chunks of `chunkBytes` (64 KiB, like a socket's reads); `streamed` counts the chunks handed out. */
  chunkBytes = 64 * 1024;
  streamed = 0;

  async openRead(ref: ObjectRef): Promise<ObjectStream> {
    const entry = this.objects.get(id(ref));
    if (!entry) throw new NotFoundError(`no such object: s3://${ref.bucket}/${ref.key}`);
    const self = this;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let at = 0; at < entry!.body.byteLength; at += self.chunkBytes) {
        self.streamed++;
        yield entry!.body.slice(at, at + self.chunkBytes);
      }
    }
    return { body: chunks(), size: entry.body.byteLength, etag: entry.etag, contentType: entry.options.contentType };
  }

  async head(ref: ObjectRef): Promise<ObjectHead | undefined> {
    const entry = this.objects.get(id(ref));
    if (!entry) return undefined;
    return {
      size: entry.body.byteLength,
      etag: entry.etag,
      contentType: entry.options.contentType,
      cacheControl: entry.options.cacheControl,
      redirectLocation: entry.options.redirectLocation,
      metadata: entry.options.metadata,
    };
  }

  async put(ref: ObjectRef, body: Uint8Array, options: PutOptions): Promise<boolean> {
    if (options.ifAbsent && this.objects.has(id(ref))) return false;
    this.puts++;
    const { ifAbsent: _, ...stored } = options;
    this.objects.set(id(ref), { body: body.slice(), options: stored, etag: createHash('md5').update(body).digest('hex'), lastModified: this.now() });
    return true;
  }

  async delete(ref: ObjectRef): Promise<void> {
    this.objects.delete(id(ref));
  }

  /** What `lastModified` a put records (tests move it). */
  now = () => new Date();

  async *list(bucket: string, prefix: string): AsyncIterable<ListedObject> {
    for (const key of this.keys(bucket).filter((k) => k.startsWith(prefix))) {
      const entry = this.objects.get(id({ bucket, key }))!;
      yield { key, size: entry.body.byteLength, lastModified: entry.lastModified };
    }
  }

  /** Every key of a bucket, sorted. */
  keys(bucket: string): string[] {
    return [...this.objects.keys()].filter((key) => key.startsWith(`${bucket}\u0000`)).map((key) => key.slice(bucket.length + 1)).sort();
  }
}

const id = (ref: ObjectRef) => `${ref.bucket}\u0000${ref.key}`;

/** Multipart uploads into a MemoryStore: nothing at the key until `complete`; `aborted` counts abandoned uploads, `parts` every part's size. */
export class MemoryUploads implements ObjectUploads {
  aborted = 0;
  completed = 0;
  parts: number[] = [];

  constructor(private readonly store: MemoryStore) {}

  async startUpload(ref: ObjectRef, options: Pick<PutOptions, 'contentType' | 'metadata'>): Promise<MultipartUpload> {
    const parts: Uint8Array[] = [];
    return {
      uploadPart: async (body) => {
        this.parts.push(body.byteLength);
        parts.push(body.slice());
      },
      complete: async () => {
        this.completed++;
        await this.store.put(ref, Buffer.concat(parts), options);
        return { etag: `${createHash('md5').update(Buffer.concat(parts)).digest('hex')}-${parts.length}` };
      },
      abort: async () => {
        this.aborted++;
      },
    };
  }
}
