/**
 * An S3 Inventory report on disk, laid out as `aws s3 sync s3://<destination bucket> <dir>` copies it:
 * `<dir>/<prefix>/<source bucket>/<config id>/<timestamp>/manifest.json` (+ manifest.checksum) and
 * each data file at `<dir>/<files[].key>` (the keys the manifest lists are keys of the destination
 * bucket). Read through the ObjectStore port, so plan reads it with the same functions as a report
 * in S3; read-only.
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { NotFoundError } from '../core/errors';
import type { ManifestRef } from '../core/inventory/manifest';
import type { ListedObject, ObjectHead, ObjectRef, ObjectStore, ObjectStream, StoredObject } from '../core/ports';

/** The bucket name the directory's objects are read under (the store ignores it). */
const LOCAL_REPORT = 'local-report';

export interface LocalReport {
  store: ObjectStore;
  ref: ManifestRef;
  /** `<dir>`: where the files[].key are resolved. */
  root: string;
  /** The path of a key, for messages. */
  where: (key: string) => string;
}

/**
 * The report whose manifest.json is at `manifestPath`. Its `<dir>` is found from the manifest's own
 * place: a data file's key is `<prefix>/<source bucket>/<config id>/data/…`, the manifest is in
 * `<prefix>/<source bucket>/<config id>/<timestamp>/`; when the path does not end so, the data files
 * are looked for beside the configuration's folder, and a missing one is named with its expected path.
 */
export async function openLocalReport(manifestPath: string): Promise<LocalReport> {
  const path = resolve(manifestPath);
  const root = await rootOf(path);
  const store = new DirectoryStore(root);
  return { store, ref: { bucket: LOCAL_REPORT, key: relative(root, path).split(sep).join('/') }, root, where: (key) => join(root, key) };
}

async function rootOf(manifestPath: string): Promise<string> {
  // Two folders up from manifest.json is `<prefix>/<source bucket>/<config id>`, whatever the report says.
  const configFolder = dirname(dirname(manifestPath));
  let firstKey: unknown;
  try {
    firstKey = (JSON.parse(await readFile(manifestPath, 'utf8')) as { files?: Array<{ key?: unknown }> }).files?.[0]?.key;
  } catch {
    return configFolder; // readManifest names what is wrong with it
  }
  const base = typeof firstKey === 'string' && firstKey.includes('/data/') ? firstKey.slice(0, firstKey.lastIndexOf('/data/')) : undefined;
  const suffix = base ? `${sep}${base.split('/').join(sep)}` : undefined;
  if (suffix && configFolder.endsWith(suffix)) return configFolder.slice(0, configFolder.length - suffix.length) || sep;
  return base ? configFolder : dirname(manifestPath);
}

class DirectoryStore implements ObjectStore {
  constructor(private readonly root: string) {}

  private path(key: string): string {
    const path = resolve(this.root, key);
    // A listed key is a key of the destination bucket: it may not climb out of <dir>.
    if (path !== this.root && !path.startsWith(this.root.endsWith(sep) ? this.root : this.root + sep)) throw new NotFoundError(`${key} is outside ${this.root}`);
    return path;
  }

  private missing(key: string): NotFoundError {
    return new NotFoundError(
      `no file ${this.path(key)}: a report copied with \`aws s3 sync s3://<destination bucket> <dir>\` has manifest.json at <dir>/<prefix>/<source bucket>/<config id>/<timestamp>/manifest.json and each data file at <dir>/<files[].key>; here <dir> is ${this.root}`,
    );
  }

  async get(ref: ObjectRef): Promise<StoredObject> {
    try {
      return { body: new Uint8Array(await readFile(this.path(ref.key))) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw this.missing(ref.key);
      throw error;
    }
  }

  async openRead(ref: ObjectRef): Promise<ObjectStream> {
    const head = await this.head(ref);
    if (!head) throw this.missing(ref.key);
    return { body: createReadStream(this.path(ref.key), { highWaterMark: 64 * 1024 }), size: head.size };
  }

  async head(ref: ObjectRef): Promise<ObjectHead | undefined> {
    try {
      const info = await stat(this.path(ref.key));
      return info.isFile() ? { size: info.size } : undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  async put(): Promise<boolean> {
    throw new Error('a report on disk is read-only');
  }

  async delete(): Promise<void> {
    throw new Error('a report on disk is read-only');
  }

  // eslint-disable-next-line require-yield
  async *list(): AsyncIterable<ListedObject> {
    throw new Error('a report on disk is not listed');
  }
}
