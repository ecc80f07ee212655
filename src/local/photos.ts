/** A folder of photos → objects in the emulated source bucket, at their relative paths. */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { ConfigError, errorMessage, TransientError } from '../core/errors';
import type { ObjectStore } from '../core/ports';

const CONTENT_TYPES: Record<string, string> = {
  '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.gif': 'image/gif', '.webp': 'image/webp',
  '.tif': 'image/tiff', '.tiff': 'image/tiff', '.avif': 'image/avif', '.heic': 'image/heic', '.heif': 'image/heif',
  // Migrated so that it is recorded (as refused) rather than silently skipped.
  '.svg': 'image/svg+xml',
};

export interface PhotoFile {
  path: string;
  /** Relative path with '/' separators: the source key. */
  key: string;
}

export interface UploadedObject {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
}

/** Every image file under `dir` (by extension; hidden files and folders skipped), sorted by key. */
export async function listPhotos(dir: string): Promise<PhotoFile[]> {
  let info;
  try {
    info = await stat(dir);
  } catch {
    throw new ConfigError(`photos folder not found: ${dir}`);
  }
  if (!info.isDirectory()) throw new ConfigError(`not a folder: ${dir}`);
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const photos: PhotoFile[] = [];
  for (const entry of entries) {
    if (!entry.isFile() || !(extname(entry.name).toLowerCase() in CONTENT_TYPES)) continue;
    const path = join(entry.parentPath, entry.name);
    const key = relative(dir, path).split(sep).join('/');
    if (key.split('/').some((part) => part.startsWith('.'))) continue;
    photos.push({ path, key });
  }
  return photos.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** A photo that could not be uploaded (unreadable file, or the bucket refused it after every retry). */
export interface NotUploaded {
  key: string;
  error: string;
}

/**
 * Uploads each photo unless the bucket already holds the same bytes (same MD5 ETag), so a rerun
 * writes nothing to the source bucket either. A photo that cannot be read or stored is reported and
 * left out; the others go on.
 */
export async function uploadPhotos(
  store: ObjectStore,
  bucket: string,
  photos: readonly PhotoFile[],
  onUploaded: (done: number) => void = () => {},
  parallel = 4,
  /** True once the upload must stop (a full disk): no further photo is started. */
  stopped: () => boolean = () => false,
): Promise<{ uploaded: UploadedObject[]; notUploaded: NotUploaded[] }> {
  const results: Array<UploadedObject | NotUploaded> = new Array(photos.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    for (let index = next++; index < photos.length && !stopped(); index = next++) {
      const photo = photos[index]!;
      try {
        const [body, info] = await Promise.all([readFile(photo.path), stat(photo.path)]);
        const etag = createHash('md5').update(body).digest('hex');
        const ref = { bucket, key: photo.key };
        // As an upload tool does: a photo the bucket keeps refusing is tried a few more times.
        await persist(stopped, async () => {
          const existing = await store.head(ref);
          if (existing?.etag?.replace(/"/g, '') !== etag || existing.size !== body.byteLength) {
            await store.put(ref, body, { contentType: CONTENT_TYPES[extname(photo.key).toLowerCase()] });
          }
        });
        results[index] = { key: photo.key, size: body.byteLength, etag, lastModified: info.mtime };
      } catch (error) {
        if (isDiskFull(error)) throw error;
        results[index] = { key: photo.key, error: errorMessage(error) };
      }
      onUploaded(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, photos.length) }, worker));
  return {
    uploaded: results.filter((r): r is UploadedObject => r !== undefined && 'etag' in r),
    notUploaded: results.filter((r): r is NotUploaded => r !== undefined && 'error' in r),
  };
}

const UPLOAD_TRIES = 5;

/** `work`, tried again on a transient error (with the SDK's own retries inside each try). */
async function persist(stopped: () => boolean, work: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= UPLOAD_TRIES || stopped() || !(error instanceof TransientError)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 50 * 2 ** attempt));
    }
  }
}

function isDiskFull(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'ENOSPC';
}
