/**
 * An S3 Inventory report's manifest.json (CSV reports only): parsed and checked as the Distributed
 * Map's ItemReader (InputType MANIFEST) checks it, before any item is handed out — the fields, the
 * fileSchema's columns, the listed data files, and the MD5 in manifest.checksum. Pure.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../errors';

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


/** Lower-case hex MD5: what manifest.checksum holds, and each listed file's MD5checksum. */
export const md5 = (bytes: Uint8Array | string) => createHash('md5').update(bytes).digest('hex');
/** Strict UTF-8: malformed bytes throw rather than turn into U+FFFD. */
export const utf8 = new TextDecoder('utf-8', { fatal: true });

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
