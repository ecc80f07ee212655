/**
 * Writing genuine S3 Inventory reports (manifest.json, manifest.checksum, gzipped CSV data files) as
 * S3 writes them: the local runs start from one, as a run on AWS does. Pure, but for writeInventoryReport (to disk).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
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
  const base = baseOf(input);
  const files: InventoryReport['files'] = [];
  const listed: InventoryFile[] = [];
  for (let start = 0; start === 0 || start < input.objects.length; start += rowsPerFile) {
    const csv = input.objects
      .slice(start, start + rowsPerFile)
      .map((o) => csvRow(input.sourceBucket, o))
      .join('');
    const body = new Uint8Array(gzipSync(Buffer.from(csv, 'utf8')));
    const key = `${base}/data/${randomUUID()}.csv.gz`;
    files.push({ key, body });
    listed.push({ key, size: body.byteLength, MD5checksum: md5(body) });
  }
  const { manifestKey, checksumKey, manifestBody, checksumBody } = manifestFiles(input, base, listed);
  files.push({ key: manifestKey, body: manifestBody }, { key: checksumKey, body: checksumBody });
  return { files, manifestKey, checksumKey };
}

/** One row of a data file, as S3 writes it (the INVENTORY_SCHEMA columns, every field quoted, the key URL-encoded). */
function csvRow(sourceBucket: string, o: InventoryObject): string {
  return `${[sourceBucket, encodeInventoryKey(o.key), String(o.size), o.lastModified.toISOString(), o.etag].map(quoteCsv).join(',')}\n`;
}

const baseOf = (input: Pick<InventoryReportInput, 'prefix' | 'sourceBucket' | 'configId'>) => [input.prefix.replace(/\/+$/, ''), input.sourceBucket, input.configId ?? 'photo-scaler'].filter(Boolean).join('/');

function manifestFiles(input: Omit<InventoryReportInput, 'objects'>, base: string, listed: InventoryFile[]) {
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
  return { manifestKey: `${folder}/manifest.json`, checksumKey: `${folder}/manifest.checksum`, manifestBody, checksumBody: new Uint8Array(Buffer.from(md5(manifestBody), 'utf8')) };
}

/**
 * The same report written to disk as `aws s3 sync s3://<destination bucket> <dir>` would copy it
 * (`<dir>/<files[].key>`), from objects that may be generated as they are written: one data file
 * gzipped at a time, so a report of millions of rows is written in bounded memory (benchmarks).
 * Returns the path of its manifest.json.
 */
export async function writeInventoryReport(dir: string, input: Omit<InventoryReportInput, 'objects'> & { objects: Iterable<InventoryObject> | AsyncIterable<InventoryObject> }): Promise<{ manifestPath: string; files: number }> {
  const rowsPerFile = input.rowsPerFile ?? 10_000;
  if (!Number.isSafeInteger(rowsPerFile) || rowsPerFile < 1) throw new ConfigError(`rowsPerFile must be a positive integer (got ${rowsPerFile})`);
  const base = baseOf(input);
  const listed: InventoryFile[] = [];
  let rows: string[] = [];
  const flush = async () => {
    const body = new Uint8Array(gzipSync(Buffer.from(rows.join(''), 'utf8')));
    rows = [];
    const key = `${base}/data/${randomUUID()}.csv.gz`;
    await writeAt(dir, key, body);
    listed.push({ key, size: body.byteLength, MD5checksum: md5(body) });
  };
  for await (const object of input.objects) {
    rows.push(csvRow(input.sourceBucket, object));
    if (rows.length >= rowsPerFile) await flush();
  }
  if (rows.length > 0 || listed.length === 0) await flush();
  const { manifestKey, checksumKey, manifestBody, checksumBody } = manifestFiles(input, base, listed);
  await writeAt(dir, manifestKey, manifestBody);
  await writeAt(dir, checksumKey, checksumBody);
  return { manifestPath: join(dir, manifestKey), files: listed.length };
}

async function writeAt(dir: string, key: string, body: Uint8Array): Promise<void> {
  const path = join(dir, key);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, body);
}

/** `YYYY-MM-DDTHH-MMZ`, the folder name of one delivery. */
export function reportTimestamp(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace(':', '-')}Z`;
}
