/**
 * Writing genuine S3 Inventory reports (manifest.json, manifest.checksum, gzipped CSV data files) as
 * S3 writes them: the local runs start from one, as a run on AWS does. Pure.
 */
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { ConfigError } from '../core/errors';
import { quoteCsv } from '../core/inventory/data-files';
import { encodeInventoryKey } from '../core/inventory/keys';
import { INVENTORY_SCHEMA, INVENTORY_VERSION, type InventoryFile, md5 } from '../core/inventory/manifest';

export interface InventoryObject {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
}

export interface InventoryReport {
  /** Data files, then manifest.json and manifest.checksum. */
  files: Array<{ key: string; body: Uint8Array }>;
  manifestKey: string;
  checksumKey: string;
}

export interface InventoryReportInput {
  sourceBucket: string;
  /** Bucket name; the manifest lists it as an ARN. */
  destinationBucket: string;
  /** Destination prefix, without a trailing '/'. */
  prefix: string;
  objects: readonly InventoryObject[];
  now: Date;
  /** The inventory configuration's id. */
  configId?: string;
  rowsPerFile?: number;
}

/**
 * A genuine S3 Inventory report for `objects`, laid out as S3 writes it:
 * `<prefix>/<source bucket>/<config id>/data/<uuid>.csv.gz` and
 * `<prefix>/<source bucket>/<config id>/<YYYY-MM-DDTHH-MMZ>/manifest.json` + `manifest.checksum`.
 * An empty bucket gets one empty data file, so that the manifest still lists one.
 */
export function buildInventoryReport(input: InventoryReportInput): InventoryReport {
  const rowsPerFile = input.rowsPerFile ?? 10_000;
  if (!Number.isSafeInteger(rowsPerFile) || rowsPerFile < 1) throw new ConfigError(`rowsPerFile must be a positive integer (got ${rowsPerFile})`);
  const base = [input.prefix.replace(/\/+$/, ''), input.sourceBucket, input.configId ?? 'photo-scaler'].filter(Boolean).join('/');
  const files: InventoryReport['files'] = [];
  const listed: InventoryFile[] = [];
  for (let start = 0; start === 0 || start < input.objects.length; start += rowsPerFile) {
    const csv = input.objects
      .slice(start, start + rowsPerFile)
      .map((o) => `${[input.sourceBucket, encodeInventoryKey(o.key), String(o.size), o.lastModified.toISOString(), o.etag].map(quoteCsv).join(',')}\n`)
      .join('');
    const body = new Uint8Array(gzipSync(Buffer.from(csv, 'utf8')));
    const key = `${base}/data/${randomUUID()}.csv.gz`;
    files.push({ key, body });
    listed.push({ key, size: body.byteLength, MD5checksum: md5(body) });
  }
  const manifest = {
    sourceBucket: input.sourceBucket,
    destinationBucket: `arn:aws:s3:::${input.destinationBucket}`,
    version: INVENTORY_VERSION,
    creationTimestamp: String(input.now.getTime()),
    fileFormat: 'CSV',
    fileSchema: INVENTORY_SCHEMA,
    files: listed,
  };
  const manifestBody = new Uint8Array(Buffer.from(JSON.stringify(manifest, null, 2), 'utf8'));
  const folder = `${base}/${reportTimestamp(input.now)}`;
  const manifestKey = `${folder}/manifest.json`;
  const checksumKey = `${folder}/manifest.checksum`;
  files.push({ key: manifestKey, body: manifestBody }, { key: checksumKey, body: new Uint8Array(Buffer.from(md5(manifestBody), 'utf8')) });
  return { files, manifestKey, checksumKey };
}

/** `YYYY-MM-DDTHH-MMZ`, the folder name of one delivery. */
export function reportTimestamp(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace(':', '-')}Z`;
}
