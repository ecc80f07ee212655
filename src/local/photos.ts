/**
 * A folder of photos → objects in the emulated source bucket, at their relative paths.
 *
 * Every file under the folder is either uploaded (and so migrated, or recorded FAILED with a reason)
 * or listed as skipped with its reason; no single file stops the run. What is a photo is decided by
 * the file's first bytes (src/core/sniff.ts), not its name: `IMG_0001` without an extension, `.jfif`,
 * `.jpe` and `photo.jpg ` (a trailing space) are photos when their content is an image. A file whose
 * name claims an image (`.jpg`, `.png`, … `.svg`) is uploaded even when its content is not one: it is
 * then recorded FAILED with its reason (a broken photo is reported, never skipped quietly).
 *
 * Skipped, each with a machine-readable reason:
 *   hidden             a name starting with "." (`.DS_Store`, `._IMG_1.jpg`, `.git/`, `.thumbnails/`):
 *                      the system's and tools' files, not the user's photos; a hidden folder is listed
 *                      once, as `<path>/`, and not entered
 *   not-an-image       the content is no image format (and the name does not claim one): notes, RAW
 *                      sidecars, `Thumbs.db`, …
 *   unreadable         the file (or a folder, listed as `<path>/`) cannot be opened or read: permissions,
 *                      an I/O error, gone since it was listed
 *   name-not-utf8      S3 keys are UTF-8 (S3 User Guide, "Naming Amazon S3 objects": "a sequence of
 *                      Unicode characters encoded in UTF-8"): a name in another encoding (Latin-1 from
 *                      an old archive) has no key; its path is shown with each stray byte as `\xNN`
 *   symlink-outside    a symbolic link that resolves outside the folder: never followed, never read
 *                      (nothing outside the folder is read because a link points there)
 *   symlink-broken     a symbolic link to nothing (or a loop)
 *   symlink-to-folder  a link to a folder inside the folder: not entered (its photos are migrated at
 *                      their own path; following it would upload them twice, or loop)
 *   not-a-file         a FIFO, socket or device: never opened (reading a FIFO would wait forever)
 * A symbolic link to a file inside the folder is migrated at the link's own path (the key), with the
 * bytes of the file it points to (deduplicated with that file: same content, one set of assets).
 */
import { createHash } from 'node:crypto';
import { type BigIntStats, constants } from 'node:fs';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { ConfigError, errorMessage, TransientError } from '../core/errors';
import { mapLimit } from '../core/map-limit';
import { unquoteEtag } from '../core/etag';
import type { ObjectStore } from '../core/ports';
import { contentTypeOfName } from '../core/media-types';
import { sniffImage } from '../core/sniff';
import type { InventoryObject } from './inventory-writer';
import type { UploadIndex } from './upload-index';


export interface PhotoFile {
  /** What is read: the file, or for a symbolic link the file it resolves to (checked to be inside the folder). */
  path: string;
  /** Relative path with '/' separators: the source key. */
  key: string;
}

export type SkipReason = 'hidden' | 'not-an-image' | 'unreadable' | 'name-not-utf8' | 'symlink-outside' | 'symlink-broken' | 'symlink-to-folder' | 'not-a-file';

/** A file (or a folder, its path ending in '/') of the photos folder that is not migrated, and why. */
export interface Skipped {
  /** Relative to the folder, '/'-separated; bytes that are not UTF-8 written `\xNN`. */
  path: string;
  reason: SkipReason;
}

export interface FolderScan {
  /** Every file that may be a photo (its content decides, as it is uploaded), sorted by key. */
  photos: PhotoFile[];
  /** Everything else under the folder, sorted by path. */
  skipped: Skipped[];
}

/** An uploaded photo is what the inventory report of the run lists. */
export type UploadedObject = InventoryObject;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Walks `dir` (not following links to folders): the candidate photos and what is skipped, with reasons. */
export async function scanFolder(dir: string): Promise<FolderScan> {
  let info;
  try {
    info = await stat(dir);
  } catch {
    throw new ConfigError(`photos folder not found: ${dir}`);
  }
  if (!info.isDirectory()) throw new ConfigError(`not a folder: ${dir}`);
  const root = await realpath(dir);
  const photos: PhotoFile[] = [];
  const skipped: Skipped[] = [];
  const inside = (path: string) => path.startsWith(root + sep);

  const walk = async (folder: string, prefix: string, isRoot: boolean): Promise<void> => {
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true, encoding: 'buffer' });
    } catch (error) {
      if (isRoot) throw new ConfigError(`cannot read the photos folder ${dir}: ${errorMessage(error)}`);
      skipped.push({ path: `${prefix}`, reason: 'unreadable' });
      return;
    }
    for (const entry of entries) {
      const rawName = entry.name as unknown as Buffer;
      let name: string;
      try {
        name = strictUtf8.decode(rawName);
      } catch {
        skipped.push({ path: `${prefix}${printable(rawName)}${entry.isDirectory() ? '/' : ''}`, reason: 'name-not-utf8' });
        continue;
      }
      const key = `${prefix}${name}`;
      const path = join(folder, name);
      if (name.startsWith('.')) {
        skipped.push({ path: entry.isDirectory() ? `${key}/` : key, reason: 'hidden' });
      } else if (entry.isDirectory()) {
        await walk(path, `${key}/`, false);
      } else if (entry.isFile()) {
        photos.push({ path, key });
      } else if (entry.isSymbolicLink()) {
        let target: string;
        try {
          target = await realpath(path);
        } catch {
          skipped.push({ path: key, reason: 'symlink-broken' });
          continue;
        }
        if (!inside(target)) {
          skipped.push({ path: key, reason: 'symlink-outside' });
          continue;
        }
        const kind = await stat(target).catch(() => undefined);
        if (!kind) skipped.push({ path: key, reason: 'symlink-broken' });
        else if (kind.isDirectory()) skipped.push({ path: `${key}/`, reason: 'symlink-to-folder' });
        else if (kind.isFile()) photos.push({ path: target, key });
        else skipped.push({ path: key, reason: 'not-a-file' });
      } else {
        skipped.push({ path: key, reason: 'not-a-file' });
      }
    }
  };
  await walk(root, '', true);
  const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  photos.sort((a, b) => byKey(a.key, b.key));
  skipped.sort((a, b) => byKey(a.path, b.path));
  return { photos, skipped };
}

/** The candidate photos under `dir` (see scanFolder), sorted by key. */
export async function listPhotos(dir: string): Promise<PhotoFile[]> {
  return (await scanFolder(dir)).photos;
}

/** A name's bytes as text: valid UTF-8 sequences as they are, every other byte as `\xNN`. */
export function printable(bytes: Buffer): string {
  let text = '';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    const length = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (length > 0 && i + length <= bytes.length) {
      try {
        text += strictUtf8.decode(bytes.subarray(i, i + length));
        i += length;
        continue;
      } catch {
        // not a valid sequence: this byte is shown escaped
      }
    }
    text += `\\x${b.toString(16).toUpperCase().padStart(2, '0')}`;
    i++;
  }
  return text;
}

/** A photo that could not be uploaded (the bucket refused it after every retry). */
export interface NotUploaded {
  key: string;
  error: string;
}

/** What was found in the bucket before the upload: size and ETag by key. */
type Existing = Map<string, { size: number; etag?: string }>;

/**
 * Uploads each photo unless the bucket already holds the same bytes (same size and MD5 ETag), so a
 * rerun writes nothing to the source bucket either. What is in the bucket is read once, by listing
 * it (ListObjectsV2, 1,000 keys a request, as `aws s3 sync` does) rather than a HEAD per photo; if
 * the listing fails, each photo is checked with a HEAD. A file that cannot be read, or is not an
 * image, is skipped with its reason; a photo the bucket keeps refusing is reported; the others go on.
 */
export async function uploadPhotos(
  store: ObjectStore,
  bucket: string,
  photos: readonly PhotoFile[],
  onUploaded: (done: number) => void = () => {},
  parallel = 4,
  /** True once the upload must stop (a full disk): no further photo is started. */
  stopped: () => boolean = () => false,
  /** What the last upload sent (src/local/upload-index.ts): unchanged files are not read again. Saved at the end. */
  index?: UploadIndex,
): Promise<{ uploaded: UploadedObject[]; notUploaded: NotUploaded[]; skipped: Skipped[] }> {
  const existing = await listBucket(store, bucket);
  let done = 0;
  const results = await mapLimit(
    photos,
    parallel,
    async (photo) => {
      const result = await uploadOne(store, bucket, photo, existing, stopped, index);
      onUploaded(++done);
      return result;
    },
    { stopped },
  );
  await index?.save();
  return {
    uploaded: results.filter((r): r is UploadedObject => r !== undefined && 'etag' in r),
    notUploaded: results.filter((r): r is NotUploaded => r !== undefined && 'error' in r),
    skipped: results.filter((r): r is Skipped => r !== undefined && 'reason' in r),
  };
}

async function listBucket(store: ObjectStore, bucket: string): Promise<Existing | undefined> {
  try {
    const existing: Existing = new Map();
    for await (const object of store.list(bucket, '')) existing.set(object.key, { size: object.size, etag: object.etag });
    return existing;
  } catch {
    return undefined;
  }
}

async function uploadOne(store: ObjectStore, bucket: string, photo: PhotoFile, existing: Existing | undefined, stopped: () => boolean, index?: UploadIndex): Promise<UploadedObject | NotUploaded | Skipped> {
  if (index && existing) {
    // The same file as at the last upload, and the same object in the bucket: not read again.
    const info = await stat(photo.path, { bigint: true }).catch(() => undefined);
    const there = existing.get(photo.key);
    const etag = info && index.unchanged(photo.key, photo.path, info, there && { size: there.size, etag: unquoteEtag(there.etag) });
    if (info && etag) {
      index.record(photo.key, photo.path, info, etag);
      return { key: photo.key, size: Number(info.size), etag, lastModified: new Date(Number(info.mtimeMs)) };
    }
  }
  let file;
  try {
    // O_NOFOLLOW: what was checked is what is read (a file swapped for a link since is refused);
    // O_NONBLOCK: a FIFO swapped in does not hang the run.
    file = await readPhoto(photo.path);
  } catch (error) {
    if (isDiskFull(error)) throw error;
    return { path: photo.key, reason: (error as { reason?: SkipReason }).reason ?? 'unreadable' };
  }
  // A name that claims an image (an SVG too) is uploaded even when its content is not one: the run
  // records it FAILED (an SVG: refused) rather than skipping it silently.
  const contentType = sniffImage(file.body)?.contentType ?? contentTypeOfName(photo.key);
  if (!contentType) return { path: photo.key, reason: 'not-an-image' };
  const etag = createHash('md5').update(file.body).digest('hex');
  const ref = { bucket, key: photo.key };
  try {
    // As an upload tool does: a photo the bucket keeps refusing is tried a few more times.
    await persist(stopped, async () => {
      const there = existing ? existing.get(photo.key) : await store.head(ref);
      if (!there || unquoteEtag(there.etag) !== etag || there.size !== file.body.byteLength) {
        await store.put(ref, file.body, { contentType });
      }
    });
  } catch (error) {
    if (isDiskFull(error)) throw error;
    return { key: photo.key, error: errorMessage(error) };
  }
  index?.record(photo.key, photo.path, file.info, etag);
  return { key: photo.key, size: file.body.byteLength, etag, lastModified: file.mtime };
}

async function readPhoto(path: string): Promise<{ body: Buffer; mtime: Date; info: BigIntStats }> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const info = await handle.stat({ bigint: true });
    if (!info.isFile()) throw Object.assign(new Error(`not a file: ${path}`), { reason: 'not-a-file' satisfies SkipReason });
    // Stat before reading: a file changed while it is read has a newer time than the one recorded.
    return { body: await handle.readFile(), mtime: new Date(Number(info.mtimeMs)), info };
  } finally {
    await handle.close();
  }
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

/** The skipped files by reason, for a summary line: `3 hidden, 1 not-an-image`. */
export function skippedByReason(skipped: readonly Skipped[]): string {
  const counts = new Map<string, number>();
  for (const { reason } of skipped) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  return [...counts].map(([reason, count]) => `${count} ${reason}`).join(', ');
}
