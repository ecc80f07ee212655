/**
 * The local S3's objects read straight from their files (object-files.ts) for the commands that read
 * a whole library object by object — `verify` (a HEAD of every asset and pointer, a GET of every
 * asset with --deep): the same trailer the emulator answers a HEAD or GET from, without the HTTP hop
 * and the AWS SDK around each of them (~90% of a local HEAD's cost). The answers are the ones S3ObjectStore
 * gets from the emulator, field for field (test/local/file-reads.test.ts compares them); an object
 * whose file cannot be read is absent, as there. Writes and listings still go through S3.
 */
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { NotFoundError } from '../core/errors';
import { unquoteEtag } from '../core/etag';
import type { ListedObject, ObjectHead, ObjectRef, ObjectStore, ObjectStream, PutOptions, StoredObject } from '../core/ports';
import { ObjectFileStore, type Trailer } from './object-files';
import type { LocalStack } from './stack';

const DEFAULT_CONTENT_TYPE = 'binary/octet-stream';

export class LocalFileReads implements ObjectStore {
  private readonly files: ObjectFileStore;

  constructor(
    s3Dir: string,
    /** Where writes and listings go: the emulator, through S3. */
    private readonly s3: ObjectStore,
  ) {
    this.files = new ObjectFileStore(s3Dir);
  }

  async head(ref: ObjectRef): Promise<ObjectHead | undefined> {
    const trailer = await this.files.describeObject(ref.bucket, ref.key);
    return trailer ? headOf(trailer) : undefined;
  }

  async get(ref: ObjectRef): Promise<StoredObject> {
    const object = await this.open(ref);
    const chunks: Buffer[] = [];
    for await (const chunk of object.body) chunks.push(Buffer.from(chunk));
    return { body: new Uint8Array(Buffer.concat(chunks)), etag: object.etag, contentType: object.contentType };
  }

  async openRead(ref: ObjectRef): Promise<ObjectStream> {
    return this.open(ref);
  }

  put(ref: ObjectRef, body: Uint8Array, options: PutOptions): Promise<boolean> {
    return this.s3.put(ref, body, options);
  }

  delete(ref: ObjectRef): Promise<void> {
    return this.s3.delete(ref);
  }

  list(bucket: string, prefix: string): AsyncIterable<ListedObject> {
    return this.s3.list(bucket, prefix);
  }

  private async open(ref: ObjectRef): Promise<ObjectStream> {
    const object = await this.files.getObject(ref.bucket, ref.key).catch(() => null);
    if (!object) throw new NotFoundError(`no such object: s3://${ref.bucket}/${ref.key}`);
    const content = object.content as Readable | null;
    return {
      body: content ?? (async function* () {})(),
      size: Number(object.metadata['content-length']),
      etag: unquoteEtag(object.metadata.etag),
      contentType: object.metadata['content-type'] ?? DEFAULT_CONTENT_TYPE,
    };
  }
}

/** `stack`'s S3 with reads from the files (see above). */
export function localFileReads(stack: Pick<LocalStack, 'dataDir' | 'store'>): LocalFileReads {
  return new LocalFileReads(join(stack.dataDir, 's3'), stack.store);
}

function headOf(trailer: Trailer): ObjectHead {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(trailer.metadata)) if (name.startsWith('x-amz-meta-')) metadata[name.slice('x-amz-meta-'.length)] = value;
  return {
    size: trailer.size,
    etag: trailer.md5,
    contentType: trailer.metadata['content-type'] ?? DEFAULT_CONTENT_TYPE,
    cacheControl: trailer.metadata['cache-control'],
    redirectLocation: trailer.metadata['x-amz-website-redirect-location'],
    metadata,
  };
}
