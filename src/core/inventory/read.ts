/**
 * Reading a whole S3 Inventory report through the ObjectStore port: manifest.json (checked against
 * the manifest.checksum beside it), then every listed data file — all checked before the first row is
 * returned, as the Distributed Map's ItemReader does, so a bad report is refused before any write.
 */
import { ConfigError } from '../errors';
import type { ObjectStore } from '../ports';
import { type InventoryRow, parseInventoryCsv } from './data-files';
import { type InventoryManifest, type ParseManifestOptions, parseManifest } from './manifest';

const MANIFEST_JSON = /manifest\.json$/;

/** The manifest.checksum beside a manifest.json (S3 Inventory writes it last). */
export function checksumKeyOf(manifestKey: string): string {
  if (!MANIFEST_JSON.test(manifestKey)) throw new ConfigError(`not a manifest.json: ${manifestKey}`);
  return manifestKey.replace(MANIFEST_JSON, 'manifest.checksum');
}

export interface ReadManifestOptions extends Pick<ParseManifestOptions, 'expectedSourceBucket'> {
  /** Refuse a report without manifest.checksum (without it the report is not complete yet). */
  requireChecksum?: boolean;
}

/** A report's manifest.json, checked against the manifest.checksum beside it when that exists. */
export async function readManifest(store: ObjectStore, manifest: { bucket: string; key: string }, options: ReadManifestOptions = {}): Promise<InventoryManifest> {
  const read = async (key: string) => (await store.get({ bucket: manifest.bucket, key })).body;
  let manifestBody: Uint8Array;
  try {
    manifestBody = await read(manifest.key);
  } catch (error) {
    throw new ConfigError(`s3://${manifest.bucket}/${manifest.key} cannot be read: ${(error as Error).message}`);
  }
  const checksumKey = MANIFEST_JSON.test(manifest.key) ? checksumKeyOf(manifest.key) : undefined;
  const hasChecksum = checksumKey !== undefined && (await store.head({ bucket: manifest.bucket, key: checksumKey })) !== undefined;
  if (!hasChecksum && options.requireChecksum) {
    throw new ConfigError(`s3://${manifest.bucket}/${checksumKey ?? 'manifest.checksum'} is missing: S3 Inventory writes it last, so the report is not complete yet`);
  }
  const checksum = hasChecksum ? Buffer.from(await read(checksumKey!)).toString('utf8') : undefined;
  try {
    return parseManifest(manifestBody, { expectedSourceBucket: options.expectedSourceBucket, checksum });
  } catch (error) {
    throw new ConfigError(`s3://${manifest.bucket}/${manifest.key}: ${(error as Error).message}`, { cause: error });
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
