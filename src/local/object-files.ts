/**
 * The local S3's objects on disk, as S3 keeps them: a PUT is atomic ("Amazon S3 never adds partial
 * objects", Amazon S3 API Reference, PutObject), and any key S3 takes (up to 1,024 bytes: S3 User
 * Guide, "Naming Amazon S3 objects") can be stored. s3rver's own store writes the object, its MD5 and its metadata as three files
 * in place, named after the key: a crash or a full disk mid-write leaves a partial object that later
 * reads take for whole, and a key whose last segment is over ~230 bytes cannot be stored at all
 * (`<name>._S3rver_metadata.json` exceeds the file system's 255 bytes). This store replaces it:
 *
 *   <bucket>/.objects/<h0h1>/<sha-256 of the key>     one file per object: the body, then a trailer
 *                                                      (JSON: key, size, MD5, metadata), its length
 *                                                      (4 bytes) and a magic (8 bytes)
 *
 * written to a temporary file beside it and renamed into place: at every instant an object and its
 * metadata are either absent or whole. A file whose trailer cannot be read counts as absent, never as
 * an error; so does a leftover temporary file. Bucket configuration (website, CORS) stays s3rver's.
 * Data dirs of earlier versions (s3rver's layout) are converted once, at start.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

const require = createRequire(import.meta.url);
// s3rver's store and object model (CommonJS, no types): this store extends the one s3rver builds.
const FilesystemStore = require('s3rver/lib/stores/filesystem') as new (root: string) => FilesystemStoreBase;

/** The parts of s3rver's FilesystemStore this store overrides. */
interface FilesystemStoreBase {
  getSubresource(bucket: string, key: string | undefined, type: string): Promise<unknown>;
  putSubresource(bucket: string, key: string | undefined, resource: { type: string }): Promise<void>;
  deleteSubresource(bucket: string, key: string | undefined, type: string): Promise<void>;
  deleteBucket(bucket: string): Promise<void>;
  getBucket(bucket: string): Promise<unknown>;
}
const S3Object = require('s3rver/lib/models/object') as S3ObjectModel;

interface S3ObjectModel {
  new (bucket: string, key: string, content: Readable | null, metadata: Record<string, unknown>): S3ObjectLike;
  ALLOWED_METADATA: string[];
}

interface S3ObjectLike {
  bucket: string;
  key: string;
  content: Readable | Buffer | null;
  metadata: Record<string, string>;
  range?: { start: number; end: number };
}

const MAGIC = Buffer.from('PSOBJv1\n');
const TRAILER_FIXED = 4 + MAGIC.byteLength;
export const OBJECTS_DIR = '.objects';
/**
 * An object's body is read from its file in chunks of this size (Node's default is 64 KiB): each chunk
 * crosses the transport's streams and the SDK's, so a 4 MB photo in 4 chunks costs a fraction of the
 * main thread that 64 chunks do (npm run bench, `onDemandSpeed.steps.emulatorCalls`).
 */
const READ_CHUNK_BYTES = 1024 * 1024;
/** An object file up to this size is read in one read for a GET (object-answer.ts); a larger one streams. */
const WHOLE_READ_BYTES = 8 * 1024 * 1024;
/** A body arriving in small chunks is written to its file this much at a time. */
const WRITE_CHUNK_BYTES = 1024 * 1024;
/** One read of a file's last bytes holds its whole trailer unless its metadata is unusually long. */
const TAIL_BYTES = 4096;

/**
 * The trailer at the end of `tail`, the last bytes of an object file of `size` bytes: the trailer;
 * undefined when there is none (no magic, a length or size that does not add up, another key's); or,
 * when `tail` is too short to hold it, how many of the file's last bytes do.
 */
function parseTrailer(size: number, tail: Buffer, key?: string): Trailer | number | undefined {
  if (size < TRAILER_FIXED || tail.length < TRAILER_FIXED) return undefined;
  const fixed = tail.subarray(tail.length - TRAILER_FIXED);
  if (!fixed.subarray(4).equals(MAGIC)) return undefined;
  const length = fixed.readUInt32BE(0);
  if (length > size - TRAILER_FIXED) return undefined;
  if (length + TRAILER_FIXED > tail.length) return length + TRAILER_FIXED;
  const trailer = JSON.parse(tail.subarray(tail.length - TRAILER_FIXED - length, tail.length - TRAILER_FIXED).toString('utf8')) as Trailer;
  if (trailer.size !== size - TRAILER_FIXED - length) return undefined;
  if (key !== undefined && trailer.key !== key) return undefined;
  return trailer;
}

/** A second parse, of a tail read to the length the first asked for, is a trailer or none. */
function asTrailer(parsed: Trailer | number | undefined): Trailer | undefined {
  return typeof parsed === 'number' ? undefined : parsed;
}

/** A temporary file older than this is a crash's leftover (a live write takes seconds at most). */
const STALE_TEMP_MS = 60 * 60 * 1000;

export interface Trailer {
  key: string;
  size: number;
  md5: string;
  lastModified: string;
  metadata: Record<string, string>;
}

/** Where a full disk was met: the local stack stops the run with a clear message (see stack.ts). */
export type DiskFullListener = (path: string) => void;

export class ObjectFileStore extends FilesystemStore {
  /** Bumped by every object this store writes or deletes: a listing taken at the same generation is still current. */
  generation = 0;

  constructor(
    readonly rootDirectory: string,
    private readonly onDiskFull: DiskFullListener = () => {},
  ) {
    super(rootDirectory);
  }

  private objectPath(bucket: string, key: string): string {
    const hash = createHash('sha256').update(key, 'utf8').digest('hex');
    return join(this.rootDirectory, bucket, OBJECTS_DIR, hash.slice(0, 2), hash);
  }

  /**
   * readTrailer without the event loop: a listing reads every object's trailer (5,000 objects, 5,000
   * files); five promise round trips through the thread pool per file cost more CPU than the reads.
   * A few microseconds per file on the main thread, one file after another.
   */
  private readTrailerSync(path: string, key?: string): Trailer | undefined {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return undefined;
    }
    try {
      const { size } = fstatSync(fd);
      const tailOf = (length: number) => {
        const tail = Buffer.alloc(Math.min(size, length));
        readSync(fd, tail, 0, tail.length, size - tail.length);
        return tail;
      };
      const first = parseTrailer(size, tailOf(TAIL_BYTES), key);
      return typeof first === 'number' ? asTrailer(parseTrailer(size, tailOf(first), key)) : first;
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
  }

  /** The trailer of a stored object, or undefined when there is none or it cannot be read. */
  private async readTrailer(path: string, key: string): Promise<Trailer | undefined> {
    return (await this.readFile(path, key, false))?.trailer;
  }

  private metadataOf(trailer: Trailer): Record<string, unknown> {
    return { ...trailer.metadata, etag: JSON.stringify(trailer.md5), 'last-modified': new Date(trailer.lastModified).toUTCString(), 'content-length': trailer.size };
  }

  /**
   * A bucket's configuration (cors, website) is read by s3rver's middlewares on EVERY request (two file
   * reads, most ending in ENOENT): kept here per bucket once read, dropped when this store writes or
   * deletes it or its bucket. This process alone uses the data dir (dynalite's lock: emulators.ts).
   */
  private readonly bucketConfigs = new Map<string, Promise<unknown>>();

  override async getSubresource(bucket: string, key: string | undefined, type: string): Promise<unknown> {
    const read = () => super.getSubresource(bucket, key, type);
    if (key !== undefined) return read();
    const id = `${bucket}\u0000${type}`;
    let config = this.bucketConfigs.get(id);
    if (!config) {
      config = read();
      this.bucketConfigs.set(id, config);
      config.catch(() => this.bucketConfigs.delete(id));
    }
    return config;
  }

  override async putSubresource(bucket: string, key: string | undefined, resource: { type: string }): Promise<void> {
    this.bucketConfigs.delete(`${bucket}\u0000${resource.type}`);
    try {
      await super.putSubresource(bucket, key, resource);
    } finally {
      this.bucketConfigs.delete(`${bucket}\u0000${resource.type}`);
    }
  }

  override async deleteSubresource(bucket: string, key: string | undefined, type: string): Promise<void> {
    this.bucketConfigs.delete(`${bucket}\u0000${type}`);
    try {
      await super.deleteSubresource(bucket, key, type);
    } finally {
      this.bucketConfigs.delete(`${bucket}\u0000${type}`);
    }
  }

  override async deleteBucket(bucket: string): Promise<void> {
    for (const id of [...this.bucketConfigs.keys()]) if (id.startsWith(`${bucket}\u0000`)) this.bucketConfigs.delete(id);
    this.buckets.delete(bucket);
    try {
      await super.deleteBucket(bucket);
    } finally {
      this.buckets.delete(bucket);
    }
  }

  /**
   * s3rver asks for the bucket (a stat of its directory) on every object request: a bucket seen to
   * exist is kept here until this store deletes it.
   */
  private readonly buckets = new Map<string, unknown>();

  override async getBucket(bucket: string): Promise<unknown> {
    const known = this.buckets.get(bucket);
    if (known) return known;
    const found = await super.getBucket(bucket);
    if (found) this.buckets.set(bucket, found);
    return found;
  }

  /** An object's trailer (key, size, MD5, last modified, metadata) without its body; undefined when absent or unreadable. */
  async describeObject(bucket: string, key: string): Promise<Trailer | undefined> {
    return this.readTrailer(this.objectPath(bucket, key), key);
  }

  async existsObject(bucket: string, key: string): Promise<boolean> {
    return (await this.readTrailer(this.objectPath(bucket, key), key)) !== undefined;
  }

  async getObject(bucket: string, key: string, options?: { start?: number; end?: number }): Promise<S3ObjectLike | null> {
    const path = this.objectPath(bucket, key);
    const trailer = await this.readTrailer(path, key);
    if (!trailer) return null;
    const metadata = this.metadataOf(trailer);
    const lastByte = Math.max(0, trailer.size - 1);
    const range = { start: options?.start ?? 0, end: Math.min(options?.end ?? Number.POSITIVE_INFINITY, lastByte) };
    const ranged = options !== undefined && (options.start !== undefined || options.end !== undefined);
    if (range.start < 0 || range.end < range.start || trailer.size === 0) {
      const object = new S3Object(bucket, key, trailer.size === 0 ? emptyStream() : null, metadata);
      if (ranged) object.range = range;
      return object;
    }
    const content = createReadStream(path, { ...range, highWaterMark: READ_CHUNK_BYTES });
    await new Promise<void>((resolve, reject) => content.once('open', () => resolve()).once('error', reject)).catch(() => undefined);
    const object = new S3Object(bucket, key, content, metadata);
    if (ranged) object.range = range;
    return object;
  }

  /**
   * An object for a plain GET or HEAD (object-answer.ts): its trailer, and for a GET its body — read
   * whole, with the trailer, in one read when the file is at most WHOLE_READ_BYTES (one buffer instead
   * of a stream's chunks and their copies), else a stream of the open file. Undefined when absent.
   */
  async readObject(bucket: string, key: string, withBody: boolean): Promise<{ trailer: Trailer; body?: Buffer | Readable } | undefined> {
    return this.readFile(this.objectPath(bucket, key), key, withBody);
  }

  /** readObject of an object file's path: the one reader of trailers but a listing's (readTrailerSync). */
  private async readFile(path: string, key: string, withBody: boolean): Promise<{ trailer: Trailer; body?: Buffer | Readable } | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch {
      return undefined;
    }
    let keepOpen = false;
    try {
      const { size } = await handle.stat();
      const whole = withBody && size <= WHOLE_READ_BYTES;
      const readTail = async (length: number) => {
        const tail = Buffer.allocUnsafe(Math.min(size, length));
        const { bytesRead } = await handle.read(tail, 0, tail.length, size - tail.length);
        return bytesRead === tail.length ? tail : undefined;
      };
      const tail = await readTail(whole ? size : TAIL_BYTES);
      if (!tail) return undefined;
      const first = parseTrailer(size, tail, key);
      const trailer = typeof first === 'number' ? asTrailer(parseTrailer(size, (await readTail(first)) ?? Buffer.alloc(0), key)) : first;
      if (!trailer) return undefined;
      if (!withBody || trailer.size === 0) return { trailer, ...(withBody ? { body: Buffer.alloc(0) } : {}) };
      if (whole) return { trailer, body: tail.subarray(0, trailer.size) };
      keepOpen = true;
      return { trailer, body: handle.createReadStream({ start: 0, end: trailer.size - 1, highWaterMark: READ_CHUNK_BYTES }) };
    } catch {
      return undefined;
    } finally {
      if (!keepOpen) await handle.close();
    }
  }

  /** An object's headers as s3rver answers them (its model's metadata: allowed ones, the default Content-Type, ETag, Last-Modified, Content-Length). */
  headersOf(bucket: string, key: string, trailer: Trailer): Record<string, string> {
    return new S3Object(bucket, key, null, this.metadataOf(trailer)).metadata;
  }

  async putObject(object: S3ObjectLike): Promise<{ size: number; md5: string }> {
    const path = this.objectPath(object.bucket, object.key);
    const temp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
    const md5 = createHash('md5');
    let size = 0;
    const source: AsyncIterable<Buffer> = Buffer.isBuffer(object.content) ? toIterable(object.content) : (object.content as Readable);
    let file: FileHandle | undefined;
    try {
      // The whole body is read even when writing fails (a full disk): a client sending
      // `Expect: 100-continue` otherwise waits seconds before it sees the answer.
      let failure: unknown;
      file = await this.createTemp(temp).catch((error: unknown) => void (failure = error));
      // Chunks are written a MiB at a time (a photo sent in 64 KiB chunks: a few writes, not dozens);
      // the last of them goes with the trailer, in one write.
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const flush = async (buffers: Buffer[]) => {
        if (file && failure === undefined && buffers.length > 0) await writeAll(file, buffers).catch((error: unknown) => void (failure ??= error));
      };
      for await (const chunk of source) {
        md5.update(chunk);
        size += chunk.byteLength;
        pending.push(chunk);
        pendingBytes += chunk.byteLength;
        if (pendingBytes >= WRITE_CHUNK_BYTES) {
          const buffers = pending;
          pending = [];
          pendingBytes = 0;
          await flush(buffers);
        }
      }
      if (failure !== undefined || !file) throw failure;
      const digest = md5.digest('hex');
      const metadata: Record<string, string> = {};
      for (const [name, value] of Object.entries(object.metadata ?? {})) {
        if (S3Object.ALLOWED_METADATA.includes(name) || name.startsWith('x-amz-meta-')) metadata[name] = String(value);
      }
      const trailer: Trailer = { key: object.key, size, md5: digest, lastModified: new Date().toISOString(), metadata };
      const json = Buffer.from(JSON.stringify(trailer), 'utf8');
      const fixed = Buffer.alloc(4);
      fixed.writeUInt32BE(json.byteLength, 0);
      await flush([...pending, json, fixed, MAGIC]);
      if (failure !== undefined) throw failure;
      // The written bytes reach the disk before the rename makes them visible.
      await file.sync();
      await file.close();
      file = undefined;
      // The one step that makes it visible, whole: rename is atomic within a file system.
      await rename(temp, path);
      this.generation++;
      return { size, md5: digest };
    } catch (error) {
      // (A client that went away mid-body ends the loop above with the file still open.)
      await file?.close().catch(() => {});
      await rm(temp, { force: true }).catch(() => {});
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') this.onDiskFull(this.rootDirectory);
      throw error;
    }
  }

  /** Shard directories known to exist: created once, not asked for again at every write. */
  private readonly madeDirectories = new Set<string>();

  /** Opens a new temporary file for writing; its directory is made when it is not known to exist (or is gone). */
  private async createTemp(temp: string): Promise<FileHandle> {
    const directory = join(temp, '..');
    if (this.madeDirectories.has(directory)) {
      try {
        return await open(temp, 'wx');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        this.madeDirectories.delete(directory);
      }
    }
    await mkdir(directory, { recursive: true });
    this.madeDirectories.add(directory);
    return open(temp, 'wx');
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    await unlink(this.objectPath(bucket, key)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    this.generation++;
  }

  async copyObject(srcBucket: string, srcKey: string, destBucket: string, destKey: string, replacementMetadata?: Record<string, unknown>): Promise<Record<string, unknown>> {
    const source = await this.getObject(srcBucket, srcKey);
    if (!source) throw Object.assign(new Error('no such key'), { code: 'ENOENT' });
    const metadata = replacementMetadata ?? source.metadata;
    await this.putObject(new S3Object(destBucket, destKey, source.content as Readable, metadata));
    const trailer = (await this.readTrailer(this.objectPath(destBucket, destKey), destKey))!;
    return this.metadataOf(trailer);
  }

  async listObjects(bucket: string, options: { delimiter?: string; startAfter?: string; prefix?: string; maxKeys?: number }) {
    const { delimiter = '', startAfter = '', prefix = '', maxKeys = Number.POSITIVE_INFINITY } = options;
    const trailers = await this.objectsOf(bucket);
    trailers.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const commonPrefixes = new Set<string>();
    const objects: S3ObjectLike[] = [];
    let isTruncated = false;
    for (const trailer of trailers) {
      const { key } = trailer;
      if (key <= startAfter || !key.startsWith(prefix)) continue;
      if (delimiter) {
        const at = key.slice(prefix.length).indexOf(delimiter);
        if (at !== -1) {
          commonPrefixes.add(key.slice(0, prefix.length + at + 1));
          continue;
        }
      }
      if (objects.length >= maxKeys) {
        isTruncated = true;
        break;
      }
      objects.push(new S3Object(bucket, key, null, this.metadataOf(trailer)));
    }
    return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated };
  }

  /** Every whole object of a bucket (its trailer: key, size, MD5, last modified, metadata), in no order. */
  async objectsOf(bucket: string): Promise<Trailer[]> {
    const trailers: Trailer[] = [];
    for (const path of await this.objectFiles(bucket)) {
      const trailer = this.readTrailerSync(path);
      if (trailer) trailers.push(trailer);
    }
    return trailers;
  }

  /** Every object file of a bucket (temporary files left out; those older than an hour removed). */
  private async objectFiles(bucket: string): Promise<string[]> {
    const base = join(this.rootDirectory, bucket, OBJECTS_DIR);
    const files: string[] = [];
    for (const shard of await readdir(base).catch(() => [] as string[])) {
      for (const name of await readdir(join(base, shard)).catch(() => [] as string[])) {
        const path = join(base, shard, name);
        if (!name.includes('.tmp-')) files.push(path);
        else await removeIfStale(path);
      }
    }
    return files;
  }

  /*
   * Multipart uploads (a sources run's Fetch sends an original over one part, 8 MiB, that way: issue
   * 20) are s3rver's own: parts are files under the bucket's `uploads/<id>/`, outside OBJECTS_DIR, and
   * CompleteMultipartUpload streams them, in order, through putObject above — so the object appears
   * whole, at once, like any other. Its ETag is the MD5 of the whole object (S3's is the MD5 of the
   * parts' MD5s, with `-<parts>`). s3rver has no route for AbortMultipartUpload: an aborted upload's
   * part files stay under uploads/ (never an object).
   */

  /**
   * Objects of s3rver's own layout (`<key>._S3rver_object` + `.md5` + `_metadata.json`), from a data
   * dir of an earlier version: each whole one is stored in this layout and its files removed. One
   * whose metadata cannot be read is stored without it; one that cannot be read at all is left.
   */
  async convertLegacy(bucket: string): Promise<number> {
    const base = join(this.rootDirectory, bucket);
    let converted = 0;
    const walk = async (dir: string, prefix: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        if (entry.isDirectory()) {
          if (dir === base && entry.name === OBJECTS_DIR) continue;
          await walk(join(dir, entry.name), `${prefix}${entry.name}/`);
        } else if (entry.name.endsWith('._S3rver_object')) {
          const key = `${prefix}${entry.name.slice(0, -'._S3rver_object'.length)}`;
          const objectFile = join(dir, entry.name);
          const metadata = await readFile(join(dir, `${entry.name.slice(0, -'object'.length)}metadata.json`), 'utf8')
            .then((text) => JSON.parse(text) as Record<string, unknown>)
            .catch(() => ({}));
          await this.putObject(new S3Object(bucket, key, createReadStream(objectFile), metadata));
          for (const suffix of ['object', 'object.md5', 'metadata.json']) await rm(join(dir, `${key.slice(prefix.length)}._S3rver_${suffix}`), { force: true });
          converted++;
        }
      }
    };
    await walk(base, '');
    return converted;
  }
}

async function removeIfStale(path: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (info && Date.now() - info.mtimeMs > STALE_TEMP_MS) await rm(path, { force: true }).catch(() => {});
}

/**
 * Every byte of `buffers`, however many writes it takes: a write may write only part of what it was
 * given without an error (the file hits a size limit or the disk fills mid-way: libuv returns the
 * count written so far), and the next write then fails with that error — never a short object
 * renamed into place as if whole.
 */
async function writeAll(file: FileHandle, buffers: Buffer[]): Promise<void> {
  let rest = buffers;
  while (rest.length > 0) {
    const { bytesWritten } = await file.writev(rest);
    if (bytesWritten <= 0) throw Object.assign(new Error('a write wrote nothing'), { code: 'EIO' });
    let skip = bytesWritten;
    const next: Buffer[] = [];
    for (const buffer of rest) {
      if (skip >= buffer.byteLength) skip -= buffer.byteLength;
      else {
        next.push(skip > 0 ? buffer.subarray(skip) : buffer);
        skip = 0;
      }
    }
    rest = next;
  }
}

async function* toIterable(buffer: Buffer): AsyncGenerator<Buffer> {
  yield buffer;
}

function emptyStream(): Readable {
  const { Readable: ReadableClass } = require('node:stream') as typeof import('node:stream');
  return ReadableClass.from([]);
}
