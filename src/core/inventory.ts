/**
 * S3 Inventory reports (CSV): manifest.json → gzipped CSV files. Reading them exactly as the
 * Distributed Map's ItemReader (InputType MANIFEST) does — every check made before the first item
 * is handed out, so a bad report is refused before any write — and writing genuine ones for the
 * local run. Keys in the CSV are URL-encoded (form style: '+' is a space).
 *
 * Pure apart from `readInventoryReport`, which reads through the ObjectStore port.
 */
import { createHash, randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ConfigError } from './errors';
import type { ObjectStore } from './ports';

export interface InventoryFile {
  key: string;
  size: number;
  /** Lower-case hex MD5 of the gzipped file. */
  MD5checksum: string;
}

export interface InventoryManifest {
  sourceBucket: string;
  /** `arn:aws:s3:::<bucket>` */
  destinationBucket: string;
  version: string;
  /** Milliseconds since the epoch, as a string. */
  creationTimestamp: string;
  fileFormat: 'CSV';
  fileSchema: string;
  /** fileSchema split into column names. */
  columns: string[];
  files: InventoryFile[];
}

/** Where an inventory report's manifest.json is: the execution input of migrate.asl.yaml is `{manifest: ManifestRef}`. */
export interface ManifestRef {
  bucket: string;
  key: string;
}

/** One CSV row, by column name (`Bucket`, `Key`, `Size`, `ETag`, …), values as strings: the item Step Functions hands out. */
export type InventoryRow = Record<string, string>;

/**
 * The columns the ItemSelector of migrate.asl.yaml reads (`$$.Map.Item.Value.<column>`): a report
 * without one of them would pass the ItemReader and then fail the execution with States.Runtime,
 * which no Retry or Catch handles (Step Functions Developer Guide, "Handling errors in Step Functions
 * workflows"). test/statemachines/definition.test.ts keeps this list equal to what the ASL reads.
 */
export const REQUIRED_COLUMNS = ['Bucket', 'Key', 'Size', 'ETag'] as const;
/**
 * The columns S3 Inventory adds when a configuration lists every object version
 * (IncludedObjectVersions: All; S3 User Guide, "Amazon S3 Inventory": VersionId and IsLatest are "not
 * included if the list is only for the current version"). Such reports are refused: see VERSIONED.
 */
export const VERSION_COLUMNS = ['VersionId', 'IsLatest', 'IsDeleteMarker'] as const;
const VERSIONED =
  'lists every object version (IncludedObjectVersions: All): photo-scaler migrates the current version of each key, and its rows of noncurrent versions and delete markers would be rendered over and over and make verify report false discrepancies. ' +
  'Give the source bucket an inventory of current versions only (photo-scaler inventory enable does), and start the run on one of its reports';
/** What AWS writes for a report with the columns Size, LastModifiedDate and ETag. */
export const INVENTORY_SCHEMA = 'Bucket, Key, Size, LastModifiedDate, ETag';
export const INVENTORY_VERSION = '2016-11-30';

const md5 = (bytes: Uint8Array | string) => createHash('md5').update(bytes).digest('hex');
const utf8 = new TextDecoder('utf-8', { fatal: true });

// ---------------------------------------------------------------------------------------------
// manifest.json

export interface ParseManifestOptions {
  /** Contents of manifest.checksum: the MD5 (hex) of the manifest.json bytes. */
  checksum?: string;
  /** Refuse a report taken of another bucket. */
  expectedSourceBucket?: string;
}

export function parseManifest(manifestJson: Uint8Array | string, options: ParseManifestOptions = {}): InventoryManifest {
  const bytes = typeof manifestJson === 'string' ? Buffer.from(manifestJson, 'utf8') : manifestJson;
  if (options.checksum !== undefined) verifyManifestChecksum(bytes, options.checksum);
  const raw = parseJsonObject(bytes);
  const problems: string[] = [];
  const text = (field: string): string => {
    const value = raw[field];
    if (typeof value !== 'string' || value === '') {
      problems.push(`"${field}" must be a non-empty string (got ${JSON.stringify(value)})`);
      return '';
    }
    return value;
  };
  const sourceBucket = text('sourceBucket');
  const destinationBucket = text('destinationBucket');
  const version = text('version');
  const creationTimestamp = text('creationTimestamp');
  const fileSchema = text('fileSchema');
  if (destinationBucket && !/^arn:aws[a-z-]*:s3:::[^/\s]+$/.test(destinationBucket)) {
    problems.push(`"destinationBucket" must be a bucket ARN like arn:aws:s3:::<bucket> (got ${JSON.stringify(destinationBucket)})`);
  }
  if (creationTimestamp && !/^\d+$/.test(creationTimestamp)) problems.push(`"creationTimestamp" must be milliseconds since the epoch (got ${JSON.stringify(creationTimestamp)})`);
  if (raw.fileFormat !== 'CSV') problems.push(`"fileFormat" must be "CSV" (got ${JSON.stringify(raw.fileFormat)}; ORC and Parquet reports are not supported)`);
  const columns = fileSchema ? schemaColumns(fileSchema, problems) : [];
  const files = manifestFiles(raw.files, problems);
  if (options.expectedSourceBucket !== undefined && sourceBucket && sourceBucket !== options.expectedSourceBucket) {
    problems.push(`the report is for bucket "${sourceBucket}", not "${options.expectedSourceBucket}"`);
  }
  if (problems.length > 0) throw new ConfigError(`invalid S3 Inventory manifest:\n  - ${problems.join('\n  - ')}`);
  return { sourceBucket, destinationBucket, version, creationTimestamp, fileFormat: 'CSV', fileSchema, columns, files };
}

function verifyManifestChecksum(bytes: Uint8Array, checksum: string): void {
  const expected = checksum.trim().toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(expected)) throw new ConfigError(`manifest.checksum is not an MD5 hex digest (got ${JSON.stringify(checksum.slice(0, 40))})`);
  const actual = md5(bytes);
  if (actual !== expected) {
    throw new ConfigError(`manifest.json does not match manifest.checksum (MD5 ${actual}, expected ${expected}): the report is incomplete or altered`);
  }
}

function parseJsonObject(bytes: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch (error) {
    throw new ConfigError(`manifest.json is not JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ConfigError('manifest.json must hold a JSON object');
  return value as Record<string, unknown>;
}

function schemaColumns(fileSchema: string, problems: string[]): string[] {
  const columns = fileSchema.split(',').map((column) => column.trim());
  if (columns.some((column) => column === '')) problems.push(`"fileSchema" has an empty column name: ${JSON.stringify(fileSchema)}`);
  const duplicates = columns.filter((column, index) => column !== '' && columns.indexOf(column) !== index);
  if (duplicates.length > 0) problems.push(`"fileSchema" names ${duplicates.join(', ')} more than once`);
  for (const column of REQUIRED_COLUMNS) {
    if (!columns.includes(column)) problems.push(`"fileSchema" lacks the ${column} column${column === 'Size' || column === 'ETag' ? ' (the inventory configuration must include the Size and ETag fields: photo-scaler inventory enable sets them)' : ''}`);
  }
  const versioned = VERSION_COLUMNS.filter((column) => columns.includes(column));
  if (versioned.length > 0) problems.push(`"fileSchema" has ${versioned.join(', ')}: the report ${VERSIONED}`);
  return columns;
}

function manifestFiles(value: unknown, problems: string[]): InventoryFile[] {
  if (!Array.isArray(value) || value.length === 0) {
    problems.push('"files" must be a non-empty array');
    return [];
  }
  const files: InventoryFile[] = [];
  const seen = new Set<string>();
  value.forEach((entry: unknown, index) => {
    const file = (entry ?? {}) as Record<string, unknown>;
    const { key, size, MD5checksum } = file;
    if (typeof key !== 'string' || key === '') problems.push(`files[${index}].key must be a non-empty string`);
    else if (seen.has(key)) problems.push(`files[${index}].key ${key} is listed twice`);
    else seen.add(key);
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) problems.push(`files[${index}].size must be a non-negative integer`);
    if (typeof MD5checksum !== 'string' || !/^[0-9a-f]{32}$/i.test(MD5checksum)) problems.push(`files[${index}].MD5checksum must be 32 hex digits`);
    files.push({ key: String(key), size: Number(size), MD5checksum: String(MD5checksum).toLowerCase() });
  });
  return files;
}

// ---------------------------------------------------------------------------------------------
// Data files

/** The rows of one listed data file, after checking its size and MD5 (of the gzipped bytes) against the manifest. */
export function parseInventoryCsv(gzipped: Uint8Array, manifest: InventoryManifest, file: InventoryFile): InventoryRow[] {
  if (gzipped.byteLength !== file.size) throw new ConfigError(`${file.key}: ${gzipped.byteLength} bytes, the manifest says ${file.size}`);
  const actual = md5(gzipped);
  if (actual !== file.MD5checksum.toLowerCase()) throw new ConfigError(`${file.key}: MD5 ${actual} does not match the manifest's ${file.MD5checksum}`);
  let text: string;
  try {
    text = utf8.decode(gunzipSync(gzipped));
  } catch (error) {
    throw new ConfigError(`${file.key}: not gzipped UTF-8 CSV: ${(error as Error).message}`);
  }
  return parseCsvRecords(text, file.key).map(({ line, fields }) => {
    if (fields.length !== manifest.columns.length) {
      throw new ConfigError(`${file.key} line ${line}: ${fields.length} fields, the fileSchema has ${manifest.columns.length} (${manifest.fileSchema})`);
    }
    const row: InventoryRow = {};
    manifest.columns.forEach((column, index) => (row[column] = fields[index]!));
    if (row.Bucket !== manifest.sourceBucket) throw new ConfigError(`${file.key} line ${line}: bucket "${row.Bucket}" is not the manifest's "${manifest.sourceBucket}"`);
    if (!row.Key) throw new ConfigError(`${file.key} line ${line}: empty key`);
    return row;
  });
}

export interface CsvRecord {
  /** Line (1-based) the record starts on. */
  line: number;
  fields: string[];
}

/** RFC 4180 CSV (S3 Inventory quotes every field). Blank lines are skipped. Throws ConfigError naming the line of a malformed record. */
export function parseCsvRecords(text: string, name = 'csv'): CsvRecord[] {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let inQuotes = false;
  let started = false; // the current field has content or opened a quote
  let line = 1;
  let recordLine = 1;
  const endField = () => {
    fields.push(field);
    field = '';
    started = false;
  };
  const endRecord = () => {
    if (started || fields.length > 0) {
      endField();
      records.push({ line: recordLine, fields });
    }
    fields = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inQuotes) {
      if (c !== '"') {
        if (c === '\n') line++;
        field += c;
      } else if (text[i + 1] === '"') {
        field += '"';
        i++;
      } else {
        inQuotes = false;
        const next = text[i + 1];
        if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') throw new ConfigError(`${name} line ${line}: text after a closing quote`);
      }
    } else if (c === '"') {
      if (started) throw new ConfigError(`${name} line ${line}: quote inside an unquoted field`);
      inQuotes = true;
      started = true;
    } else if (c === ',') {
      endField();
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
    } else {
      field += c;
      started = true;
    }
  }
  if (inQuotes) throw new ConfigError(`${name} line ${recordLine}: unterminated quoted field`);
  endRecord();
  return records;
}

/** The fields of every record of `text` (see parseCsvRecords). */
export function parseCsv(text: string, name = 'csv'): string[][] {
  return parseCsvRecords(text, name).map((record) => record.fields);
}

const quoteCsv = (value: string) => `"${value.replace(/"/g, '""')}"`;

// ---------------------------------------------------------------------------------------------
// Keys

/** S3 Inventory's key encoding, undone: '+' is a space, %XX are UTF-8 bytes ('/' may be plain or %2F). Throws URIError on malformed escapes. */
export function decodeInventoryKey(encoded: string): string {
  return decodeURIComponent(encoded.replace(/\+/g, ' '));
}

/** The inverse: encodeURIComponent with spaces as '+'; '/' is kept as is (decoding accepts %2F too). */
export function encodeInventoryKey(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');
}

// ---------------------------------------------------------------------------------------------
// Writing a report

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

// ---------------------------------------------------------------------------------------------
// Reading a whole report

/**
 * Every row of the S3 Inventory report at `manifest` (bucket + key of manifest.json), checked as a
 * whole first: the manifest against manifest.checksum (when present beside it), each data file
 * against its listed size and MD5, each row against the schema and the source bucket.
 */
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
