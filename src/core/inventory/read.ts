/**
 * Reading a whole S3 Inventory report through the ObjectStore port: manifest.json (checked against
 * the manifest.checksum beside it), then every listed data file — all checked before the first row is
 * returned, as the Distributed Map's ItemReader does, so a bad report is refused before any write.
 */
import { ConfigError } from '../errors';
import type { ObjectStore } from '../ports';
import { type InventoryRow, parseInventoryCsv, streamInventoryCsv } from './data-files';
import { type InventoryManifest, type ManifestRef, type ParseManifestOptions, parseManifest } from './manifest';

const MANIFEST_JSON = /manifest\.json$/;

/** The manifest.checksum beside a manifest.json (S3 Inventory writes it last). */
export function checksumKeyOf(manifestKey: string): string {
  if (!MANIFEST_JSON.test(manifestKey)) throw new ConfigError(`not a manifest.json: ${manifestKey}`);
  return manifestKey.replace(MANIFEST_JSON, 'manifest.checksum');
}

export interface ReadManifestOptions extends Pick<ParseManifestOptions, 'expectedSourceBucket'> {
  /** Refuse a report without manifest.checksum (without it the report is not complete yet). */
  requireChecksum?: boolean;
  /** How a key of the report is named in messages (default `s3://<bucket>/<key>`; a report on disk: its path). */
  where?: (key: string) => string;
}

/** A report's manifest.json, checked against the manifest.checksum beside it when that exists. */
export async function readManifest(store: ObjectStore, manifest: { bucket: string; key: string }, options: ReadManifestOptions = {}): Promise<InventoryManifest> {
  const read = async (key: string) => (await store.get({ bucket: manifest.bucket, key })).body;
  const where = options.where ?? ((key: string) => `s3://${manifest.bucket}/${key}`);
  let manifestBody: Uint8Array;
  try {
    manifestBody = await read(manifest.key);
  } catch (error) {
    throw new ConfigError(`${where(manifest.key)} cannot be read: ${(error as Error).message}`);
  }
  const checksumKey = MANIFEST_JSON.test(manifest.key) ? checksumKeyOf(manifest.key) : undefined;
  const hasChecksum = checksumKey !== undefined && (await store.head({ bucket: manifest.bucket, key: checksumKey })) !== undefined;
  if (!hasChecksum && options.requireChecksum) {
    throw new ConfigError(`${where(checksumKey ?? 'manifest.checksum')} is missing: S3 Inventory writes it last, so the report is not complete yet`);
  }
  const checksum = hasChecksum ? Buffer.from(await read(checksumKey!)).toString('utf8') : undefined;
  try {
    return parseManifest(manifestBody, { expectedSourceBucket: options.expectedSourceBucket, checksum });
  } catch (error) {
    throw new ConfigError(`${where(manifest.key)}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Every row of the S3 Inventory report at `manifest` (bucket + key of manifest.json), checked as a
 * whole first: the manifest against manifest.checksum (when present beside it), each data file
 * against its listed size and MD5, each row against the schema and the source bucket.
 */
export async function readInventoryReport(
  store: ObjectStore,
  manifest: { bucket: string; key: string },
  options: Pick<ParseManifestOptions, 'expectedSourceBucket'> = {},
): Promise<InventoryRow[]> {
  const read = async (key: string) => (await store.get({ bucket: manifest.bucket, key })).body;
  const parsed = await readManifest(store, manifest, options);
  const rows: InventoryRow[] = [];
  for (const file of parsed.files) {
    let body: Uint8Array;
    try {
      body = await read(file.key);
    } catch (error) {
      throw new ConfigError(`${file.key}, listed in the manifest, cannot be read: ${(error as Error).message}`);
    }
    for (const row of parseInventoryCsv(body, parsed, file)) rows.push(row);
  }
  return rows;
}

/**
 * The rows of a report whose manifest was read (readManifest), file by file as the bytes arrive, in
 * groups (one per chunk read): never the whole report in memory. Each file gets the checks of
 * readInventoryReport, but its rows come before its MD5 is known (data-files.ts streamInventoryCsv):
 * a consumer that must not act on a bad report reads it through once first (the ItemReader does), or
 * keeps its work undoable until the end (plan's tallies).
 */
export async function* streamInventoryReport(store: ObjectStore, manifest: ManifestRef, parsed: InventoryManifest): AsyncGenerator<InventoryRow[]> {
  for (const file of parsed.files) {
    let body: AsyncIterable<Uint8Array>;
    try {
      body = (await store.openRead({ bucket: manifest.bucket, key: file.key })).body;
    } catch (error) {
      throw new ConfigError(`${file.key}, listed in the manifest, cannot be read: ${(error as Error).message}`);
    }
    yield* streamInventoryCsv(body, parsed, file);
  }
}
