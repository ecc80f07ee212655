/**
 * S3 Inventory reports (CSV): manifest.json → gzipped CSV files. Reading them exactly as the
 * Distributed Map's ItemReader (InputType MANIFEST) does — every check made before the first item
 * is handed out, so a bad report is refused before any write — and writing genuine ones for the
 * local run. Keys in the CSV are URL-encoded (form style: '+' is a space).
 */
import { createHash, randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ConfigError } from './errors';
import type { ObjectStore } from './ports';

export interface InventoryFile {
  key: string;
  size: number;
  MD5checksum: string;
}

export interface InventoryManifest {
  sourceBucket: string;
  /** `arn:aws:s3:::<bucket>` */
  destinationBucket: string;
  version: string;
  creationTimestamp: string;
  fileFormat: 'CSV';
  fileSchema: string;
  /** fileSchema split into column names. */
  columns: string[];
  files: InventoryFile[];
}

/** One CSV row, by column name (`Bucket`, `Key`, `Size`, `ETag`, …), values as strings: the item Step Functions hands out. */
export type InventoryRow = Record<string, string>;

const REQUIRED_COLUMNS = ['Bucket', 'Key'];
const md5 = (bytes: Uint8Array | string) => createHash('md5').update(bytes).digest('hex');

export function parseManifest(manifestJson: Uint8Array | string, options: { checksum?: string; expectedSourceBucket?: string } = {}): InventoryManifest {
  const text = typeof manifestJson === 'string' ? manifestJson : Buffer.from(manifestJson).toString('utf8');
  if (options.checksum !== undefined && options.checksum.trim().toLowerCase() !== md5(typeof manifestJson === 'string' ? manifestJson : manifestJson)) {
    throw new ConfigError('manifest.json does not match manifest.checksum (MD5): the report is incomplete or altered');
  }
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`manifest.json is not JSON: ${(error as Error).message}`);
  }
  const problems: string[] = [];
  const str = (field: string) => {
    const value = raw?.[field];
    if (typeof value !== 'string' || value === '') problems.push(`"${field}" must be a non-empty string`);
    return String(value ?? '');
  };
  const sourceBucket = str('sourceBucket');
  const destinationBucket = str('destinationBucket');
  const version = str('version');
  const creationTimestamp = str('creationTimestamp');
  const fileSchema = str('fileSchema');
  if (raw?.fileFormat !== 'CSV') problems.push(`"fileFormat" must be "CSV" (got ${JSON.stringify(raw?.fileFormat)}; ORC and Parquet reports are not supported)`);
  const columns = fileSchema.split(',').map((column) => column.trim()).filter(Boolean);
  for (const column of REQUIRED_COLUMNS) if (fileSchema && !columns.includes(column)) problems.push(`"fileSchema" lacks the ${column} column`);
  const files: InventoryFile[] = [];
  if (!Array.isArray(raw?.files) || raw.files.length === 0) problems.push('"files" must be a non-empty array');
  else {
    raw.files.forEach((file: unknown, index: number) => {
      const f = file as Record<string, unknown>;
      if (typeof f?.key !== 'string' || !f.key) problems.push(`files[${index}].key must be a string`);
      if (typeof f?.size !== 'number' || !Number.isInteger(f.size) || f.size < 0) problems.push(`files[${index}].size must be a non-negative integer`);
      if (typeof f?.MD5checksum !== 'string' || !/^[0-9a-f]{32}$/i.test(f.MD5checksum)) problems.push(`files[${index}].MD5checksum must be 32 hex digits`);
      files.push({ key: String(f?.key), size: Number(f?.size), MD5checksum: String(f?.MD5checksum).toLowerCase() });
    });
  }
  if (options.expectedSourceBucket !== undefined && sourceBucket && sourceBucket !== options.expectedSourceBucket) {
    problems.push(`the report is for bucket "${sourceBucket}", not "${options.expectedSourceBucket}"`);
  }
  if (problems.length > 0) throw new ConfigError(`invalid S3 Inventory manifest:\n  - ${problems.join('\n  - ')}`);
  return { sourceBucket, destinationBucket, version, creationTimestamp, fileFormat: 'CSV', fileSchema, columns, files };
}

/** The rows of one listed data file, after checking its size and MD5 against the manifest. */
export function parseInventoryCsv(gzipped: Uint8Array, manifest: InventoryManifest, file: InventoryFile): InventoryRow[] {
  if (gzipped.byteLength !== file.size) throw new ConfigError(`${file.key}: ${gzipped.byteLength} bytes, the manifest says ${file.size}`);
  if (md5(gzipped) !== file.MD5checksum) throw new ConfigError(`${file.key}: MD5 ${md5(gzipped)} does not match the manifest's ${file.MD5checksum}`);
  let text: string;
  try {
    text = gunzipSync(gzipped).toString('utf8');
  } catch (error) {
    throw new ConfigError(`${file.key}: not gzip: ${(error as Error).message}`);
  }
  return parseCsv(text, file.key).map((fields, index) => {
    const line = index + 1;
    if (fields.length !== manifest.columns.length) {
      throw new ConfigError(`${file.key} line ${line}: ${fields.length} fields, the fileSchema has ${manifest.columns.length}`);
    }
    const row: InventoryRow = Object.fromEntries(manifest.columns.map((column, i) => [column, fields[i]!]));
    if (row.Bucket !== manifest.sourceBucket) throw new ConfigError(`${file.key} line ${line}: bucket "${row.Bucket}" is not the manifest's "${manifest.sourceBucket}"`);
    if (!row.Key) throw new ConfigError(`${file.key} line ${line}: empty key`);
    return row;
  });
}

/** RFC 4180 CSV (S3 Inventory quotes every field). Throws ConfigError naming the line of a malformed row. */
export function parseCsv(text: string, name = 'csv'): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let fieldStarted = false;
  let line = 1;
  const endField = () => {
    row.push(field);
    field = '';
    fieldStarted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
          const next = text[i + 1];
          if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') throw new ConfigError(`${name} line ${line}: text after a closing quote`);
        }
      } else {
        if (c === '\n') line++;
        field += c;
      }
    } else if (c === '"') {
      if (fieldStarted) throw new ConfigError(`${name} line ${line}: quote inside an unquoted field`);
      quoted = true;
      fieldStarted = true;
    } else if (c === ',') {
      endField();
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      if (fieldStarted || field !== '' || row.length > 0) {
        endField();
        rows.push(row);
      }
      row = [];
      line++;
    } else {
      field += c;
      fieldStarted = true;
    }
  }
  if (quoted) throw new ConfigError(`${name} line ${line}: unterminated quoted field`);
  if (fieldStarted || field !== '' || row.length > 0) {
    endField();
    rows.push(row);
  }
  return rows;
}

/** S3 Inventory's key encoding, undone: '+' is a space, %XX are UTF-8 bytes. Throws URIError on malformed escapes. */
export function decodeInventoryKey(encoded: string): string {
  return decodeURIComponent(encoded.replace(/\+/g, ' '));
}

/** The inverse: encodeURIComponent with spaces as '+' and '/' kept. */
export function encodeInventoryKey(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');
}

export interface InventoryObject {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
}

export interface InventoryReport {
  files: Array<{ key: string; body: Uint8Array }>;
  manifestKey: string;
  checksumKey: string;
}

export const INVENTORY_SCHEMA = 'Bucket, Key, Size, LastModifiedDate, ETag';

/**
 * A genuine S3 Inventory report for `objects`, laid out as S3 writes it:
 * `<prefix>/<source bucket>/<config id>/data/<uuid>.csv.gz` and
 * `<prefix>/<source bucket>/<config id>/<YYYY-MM-DDTHH-MMZ>/manifest.json` + `manifest.checksum`.
 */
export function buildInventoryReport(input: {
  sourceBucket: string;
  destinationBucket: string;
  prefix: string;
  objects: readonly InventoryObject[];
  now: Date;
  configId?: string;
  rowsPerFile?: number;
}): InventoryReport {
  const base = `${input.prefix}/${input.sourceBucket}/${input.configId ?? 'photo-scaler'}`;
  const rowsPerFile = input.rowsPerFile ?? 10_000;
  const quote = (value: string) => `"${value.replace(/"/g, '""')}"`;
  const files: InventoryReport['files'] = [];
  const listed: InventoryFile[] = [];
  for (let start = 0; start < input.objects.length; start += rowsPerFile) {
    const csv = input.objects
      .slice(start, start + rowsPerFile)
      .map((o) => [input.sourceBucket, encodeInventoryKey(o.key), String(o.size), o.lastModified.toISOString(), o.etag].map(quote).join(','))
      .join('\n');
    const body = gzipSync(Buffer.from(`${csv}\n`, 'utf8'));
    const key = `${base}/data/${randomUUID()}.csv.gz`;
    files.push({ key, body });
    listed.push({ key, size: body.byteLength, MD5checksum: md5(body) });
  }
  const manifest = {
    sourceBucket: input.sourceBucket,
    destinationBucket: `arn:aws:s3:::${input.destinationBucket}`,
    version: '2016-11-30',
    creationTimestamp: String(input.now.getTime()),
    fileFormat: 'CSV',
    fileSchema: INVENTORY_SCHEMA,
    files: listed,
  };
  const stamp = input.now.toISOString().slice(0, 16).replace(':', '-') + 'Z';
  const manifestBody = Buffer.from(JSON.stringify(manifest, null, 2), 'utf8');
  const manifestKey = `${base}/${stamp}/manifest.json`;
  const checksumKey = `${base}/${stamp}/manifest.checksum`;
  files.push({ key: manifestKey, body: manifestBody }, { key: checksumKey, body: Buffer.from(`${md5(manifestBody)}\n`, 'utf8') });
  return { files, manifestKey, checksumKey };
}

/**
 * Every row of the S3 Inventory report at `manifest` (bucket + key of manifest.json), checked as a
 * whole first: the manifest against manifest.checksum (when present beside it), each data file
 * against its listed size and MD5, each row against the schema and the source bucket.
 */
export async function readInventoryReport(store: ObjectStore, manifest: { bucket: string; key: string }): Promise<InventoryRow[]> {
  const read = async (key: string) => (await store.get({ bucket: manifest.bucket, key })).body;
  const checksumKey = manifest.key.replace(/manifest\.json$/, 'manifest.checksum');
  const checksum = checksumKey !== manifest.key && (await store.head({ bucket: manifest.bucket, key: checksumKey })) ? Buffer.from(await read(checksumKey)).toString('utf8') : undefined;
  const parsed = parseManifest(await read(manifest.key), { checksum });
  const rows: InventoryRow[] = [];
  for (const file of parsed.files) {
    let body: Uint8Array;
    try {
      body = await read(file.key);
    } catch (error) {
      throw new ConfigError(`${file.key}, listed in the manifest, cannot be read: ${(error as Error).message}`);
    }
    rows.push(...parseInventoryCsv(body, parsed, file));
  }
  return rows;
}
