/**
 * An S3 Inventory report's data files: gzipped RFC 4180 CSV, each checked against the size and MD5
 * the manifest lists for it, each row against the fileSchema and the source bucket. Pure.
 */
import { gunzipSync } from 'node:zlib';
import { ConfigError } from '../errors';
import { type InventoryFile, type InventoryManifest, md5, utf8 } from './manifest';

/** One CSV row, by column name (`Bucket`, `Key`, `Size`, `ETag`, …), values as strings: the item Step Functions hands out. */
export type InventoryRow = Record<string, string>;

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

/** One CSV field, quoted as S3 Inventory quotes every field. */
export const quoteCsv = (value: string) => `"${value.replace(/"/g, '""')}"`;
