/**
 * What `run` uploaded last time, by key: the file's path, size, modification time (nanoseconds) and
 * the MD5 ETag of its bytes, kept under the data dir. A photo whose file has the same size and
 * modification time as then, and whose object in the source bucket still has that size and ETag, is
 * not read again: a rerun over an unchanged folder stats each file instead of reading and hashing it.
 * That is `aws s3 sync`'s own rule (size and last-modified time: aws-cli
 * awscli/customizations/s3/syncstrategy/base.py, SizeAndLastModifiedSync), with the same blind spot: a
 * file rewritten with the same size and its old modification time put back is not seen as changed.
 *
 * A missing or unreadable index is an empty one (every photo is read, as before); it is written whole
 * (a temporary file renamed over it), so a crash leaves the old index or the new one.
 */
import type { BigIntStats } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export const UPLOAD_INDEX_FILE = 'uploads.json';

interface Known {
  path: string;
  size: number;
  mtimeNs: string;
  etag: string;
}

export class UploadIndex {
  private readonly next = new Map<string, Known>();

  private constructor(
    private readonly file: string,
    private readonly known: ReadonlyMap<string, Known>,
  ) {}

  static async open(file: string): Promise<UploadIndex> {
    let known = new Map<string, Known>();
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as { version?: number; uploads?: Record<string, Known> };
      if (parsed.version === 1 && parsed.uploads && typeof parsed.uploads === 'object') known = new Map(Object.entries(parsed.uploads));
    } catch {
      // No index yet, or one that cannot be read: every photo is read.
    }
    return new UploadIndex(file, known);
  }

  /** The ETag of `key`'s bytes when its file and its object are as they were at the last upload. */
  unchanged(key: string, path: string, info: BigIntStats, object: { size: number; etag?: string } | undefined): string | undefined {
    const known = this.known.get(key);
    if (!known || !object || known.path !== path || !info.isFile()) return undefined;
    if (BigInt(known.size) !== info.size || known.mtimeNs !== info.mtimeNs.toString()) return undefined;
    if (object.size !== known.size || object.etag !== known.etag) return undefined;
    return known.etag;
  }

  record(key: string, path: string, info: BigIntStats, etag: string): void {
    this.next.set(key, { path, size: Number(info.size), mtimeNs: info.mtimeNs.toString(), etag });
  }

  /** The photos of this upload (those gone from the folder are forgotten). */
  async save(): Promise<void> {
    const temp = `${this.file}.${process.pid}.tmp`;
    await mkdir(dirname(this.file), { recursive: true });
    await writeFile(temp, JSON.stringify({ version: 1, uploads: Object.fromEntries(this.next) }));
    await rename(temp, this.file);
  }
}
