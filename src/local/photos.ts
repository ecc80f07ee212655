/** A folder of photos → objects in the emulated source bucket, at their relative paths. */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { ConfigError } from '../core/errors';
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

/**
 * Uploads each photo unless the bucket already holds the same bytes (same MD5 ETag), so a rerun
 * writes nothing to the source bucket either.
 */
export async function uploadPhotos(
  store: ObjectStore,
  bucket: string,
  photos: readonly PhotoFile[],
  onUploaded: (done: number) => void = () => {},
  parallel = 4,
): Promise<UploadedObject[]> {
  const uploaded: UploadedObject[] = new Array(photos.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    for (let index = next++; index < photos.length; index = next++) {
      const photo = photos[index]!;
      const [body, info] = await Promise.all([readFile(photo.path), stat(photo.path)]);
      const etag = createHash('md5').update(body).digest('hex');
      const ref = { bucket, key: photo.key };
      const existing = await store.head(ref);
      if (existing?.etag?.replace(/"/g, '') !== etag || existing.size !== body.byteLength) {
        await store.put(ref, body, { contentType: CONTENT_TYPES[extname(photo.key).toLowerCase()] });
      }
      uploaded[index] = { key: photo.key, size: body.byteLength, etag, lastModified: info.mtime };
      onUploaded(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, photos.length) }, worker));
  return uploaded;
}
