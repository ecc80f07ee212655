/**
 * An S3 Inventory report's data files: gzipped RFC 4180 CSV, each checked against the size and MD5
 * the manifest lists for it, each row against the fileSchema and the source bucket. Pure.
 */
import { createHash } from 'node:crypto';
import { createGunzip, gunzipSync } from 'node:zlib';
import { ConfigError } from '../errors';
import { type InventoryFile, type InventoryManifest, md5, utf8 } from './manifest';

/** One CSV row, by column name (`Bucket`, `Key`, `Size`, `ETag`, …), values as strings: the item Step Functions hands out. */
export type InventoryRow = Record<string, string>;

/** The rows of one listed data file, after checking its size and MD5 (of the gzipped bytes) against the manifest. */
export function parseInventoryCsv(gzipped: Uint8Array, manifest: InventoryManifest, file: InventoryFile): InventoryRow[] {
  if (gzipped.byteLength !== file.size) throw sizeMismatch(file, gzipped.byteLength);
  const actual = md5(gzipped);
  if (actual !== file.MD5checksum.toLowerCase()) throw md5Mismatch(file, actual);
  let text: string;
  try {
    text = utf8.decode(gunzipSync(gzipped));
  } catch (error) {
    throw notGzippedCsv(file, error);
  }
  return parseCsvRecords(text, file.key).map((record) => inventoryRow(record, manifest, file));
}

const sizeMismatch = (file: InventoryFile, bytes: number) => new ConfigError(`${file.key}: ${bytes} bytes, the manifest says ${file.size}`);
const md5Mismatch = (file: InventoryFile, actual: string) => new ConfigError(`${file.key}: MD5 ${actual} does not match the manifest's ${file.MD5checksum}`);
const notGzippedCsv = (file: InventoryFile, error: unknown) => new ConfigError(`${file.key}: not gzipped UTF-8 CSV: ${(error as Error).message}`);

/** One CSV record of a data file as a row, checked against the fileSchema and the source bucket. */
function inventoryRow({ line, fields }: CsvRecord, manifest: InventoryManifest, file: InventoryFile): InventoryRow {
  if (fields.length !== manifest.columns.length) {
    throw new ConfigError(`${file.key} line ${line}: ${fields.length} fields, the fileSchema has ${manifest.columns.length} (${manifest.fileSchema})`);
  }
  const row: InventoryRow = {};
  manifest.columns.forEach((column, index) => (row[column] = fields[index]!));
  if (row.Bucket !== manifest.sourceBucket) throw new ConfigError(`${file.key} line ${line}: bucket "${row.Bucket}" is not the manifest's "${manifest.sourceBucket}"`);
  if (!row.Key) throw new ConfigError(`${file.key} line ${line}: empty key`);
  return row;
}

/**
 * The rows of one listed data file as its gzipped bytes arrive (`chunks`), a group per chunk: the
 * same checks and messages as parseInventoryCsv, in bounded memory (one chunk, its rows and one
 * unfinished record at a time). Rows are handed out before the file's MD5 can be known: a caller
 * that must not act on a bad file's rows keeps what it does with them undoable until the generator
 * ends (plan tallies; the ItemReader checks every file first, see read.ts). A file longer than listed
 * is refused as soon as it is; one whose decoding fails is still hashed to its end, so a damaged file
 * is refused for its MD5, as parseInventoryCsv refuses it.
 */
export async function* streamInventoryCsv(chunks: AsyncIterable<Uint8Array>, manifest: InventoryManifest, file: InventoryFile): AsyncGenerator<InventoryRow[]> {
  const hash = createHash('md5');
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const parser = new CsvParser(file.key);
  const gunzip = createGunzip();
  const inflated: Buffer[] = [];
  gunzip.on('data', (chunk: Buffer) => inflated.push(chunk));
  let failure: unknown;
  const gunzipFailed = new Promise<void>((resolve) => gunzip.once('error', (error) => {
    failure ??= notGzippedCsv(file, error);
    resolve();
  }));
  // One inflated chunk (16 KiB of CSV) at a time: the rows handed out in small groups die young.
  const rowsOf = (chunk: Buffer | undefined): InventoryRow[] => {
    let text: string;
    try {
      text = chunk ? decoder.decode(chunk, { stream: true }) : decoder.decode();
    } catch (error) {
      throw notGzippedCsv(file, error);
    }
    const records = parser.push(text);
    if (!chunk) records.push(...parser.end());
    return records.map((record) => inventoryRow(record, manifest, file));
  };
  // The inflater's native memory is freed as soon as the file is done (or abandoned), not when a GC finds it.
  try {
    let bytes = 0;
    for await (const chunk of chunks) {
      bytes += chunk.byteLength;
      if (bytes > file.size) throw sizeMismatch(file, bytes);
      hash.update(chunk);
      if (failure !== undefined) continue;
      await Promise.race([new Promise<void>((resolve) => gunzip.write(chunk, () => resolve())), gunzipFailed]);
      while (failure === undefined && inflated.length > 0) {
        let rows: InventoryRow[];
        try {
          rows = rowsOf(inflated.shift());
        } catch (error) {
          failure = error;
          break;
        }
        if (rows.length > 0) yield rows;
      }
    }
    if (bytes !== file.size) throw sizeMismatch(file, bytes);
    const actual = hash.digest('hex');
    if (actual !== file.MD5checksum.toLowerCase()) throw md5Mismatch(file, actual);
    if (failure === undefined) {
      const ended = new Promise<void>((resolve) => gunzip.once('end', () => resolve()));
      gunzip.end();
      gunzip.resume();
      await Promise.race([ended, gunzipFailed]);
    }
    if (failure !== undefined) throw failure;
    while (inflated.length > 0) {
      const rows = rowsOf(inflated.shift());
      if (rows.length > 0) yield rows;
    }
    const rows = rowsOf(undefined);
    if (rows.length > 0) yield rows;

  } finally {
    gunzip.destroy();
  }
}

export interface CsvRecord {
  /** Line (1-based) the record starts on. */
  line: number;
  fields: string[];
}

/** RFC 4180 CSV (S3 Inventory quotes every field). Blank lines are skipped. Throws ConfigError naming the line of a malformed record. */
export function parseCsvRecords(text: string, name = 'csv'): CsvRecord[] {
  const parser = new CsvParser(name);
  return [...parser.push(text), ...parser.end()];
}

/**
 * RFC 4180 CSV fed in pieces (a record, even a quoted field, may span pieces): push returns the
 * records a piece completes, end the last one. Blank lines are skipped. Throws ConfigError naming
 * the line of a malformed record.
 */
export class CsvParser {
  private fields: string[] = [];
  private field = '';
  private inQuotes = false;
  /** Inside quotes, a '"' was the piece's last character: a doubled quote or the closing one. */
  private quotePending = false;
  /** A '\r' ended the last record: a '\n' right after it belongs to it. */
  private crPending = false;
  /** The current field has content or opened a quote. */
  private started = false;
  private line = 1;
  private recordLine = 1;
  private records: CsvRecord[] = [];

  constructor(private readonly name = 'csv') {}

  push(text: string): CsvRecord[] {
    const n = text.length;
    let i = 0;
    while (i < n) {
      if (this.crPending) {
        this.crPending = false;
        if (text[i] === '\n') {
          i++;
          continue;
        }
      }
      if (this.quotePending) {
        this.quotePending = false;
        if (text[i] === '"') {
          this.field += '"';
          i++;
          continue;
        }
        this.closeQuote(text[i]!);
        continue;
      }
      if (this.inQuotes) {
        const quote = text.indexOf('"', i);
        const end = quote < 0 ? n : quote;
        const part = text.slice(i, end);
        for (let at = part.indexOf('\n'); at >= 0; at = part.indexOf('\n', at + 1)) this.line++;
        this.field += part;
        if (quote < 0) return this.take();
        if (quote + 1 >= n) {
          this.quotePending = true;
          return this.take();
        }
        if (text[quote + 1] === '"') {
          this.field += '"';
          i = quote + 2;
        } else {
          i = quote + 1;
          this.closeQuote(text[i]!);
        }
        continue;
      }
      const c = text[i]!;
      if (c === '"') {
        if (this.started) throw new ConfigError(`${this.name} line ${this.line}: quote inside an unquoted field`);
        this.inQuotes = true;
        this.started = true;
      } else if (c === ',') {
        this.endField();
      } else if (c === '\n' || c === '\r') {
        this.endRecord();
        this.line++;
        this.recordLine = this.line;
        if (c === '\r') this.crPending = true;
      } else {
        this.field += c;
        this.started = true;
      }
      i++;
    }
    return this.take();
  }

  end(): CsvRecord[] {
    if (this.quotePending) {
      this.quotePending = false;
      this.inQuotes = false;
    }
    if (this.inQuotes) throw new ConfigError(`${this.name} line ${this.recordLine}: unterminated quoted field`);
    this.endRecord();
    return this.take();
  }

  /** After a closing quote: only a separator may follow (checked here, consumed by the main loop). */
  private closeQuote(next: string): void {
    this.inQuotes = false;
    if (next !== ',' && next !== '\n' && next !== '\r') throw new ConfigError(`${this.name} line ${this.line}: text after a closing quote`);
  }

  private take(): CsvRecord[] {
    const records = this.records;
    this.records = [];
    return records;
  }

  private endField(): void {
    this.fields.push(this.field);
    this.field = '';
    this.started = false;
  }

  private endRecord(): void {
    if (this.started || this.fields.length > 0) {
      this.endField();
      this.records.push({ line: this.recordLine, fields: this.fields });
    }
    this.fields = [];
  }
}

/** The fields of every record of `text` (see parseCsvRecords). */
export function parseCsv(text: string, name = 'csv'): string[][] {
  return parseCsvRecords(text, name).map((record) => record.fields);
}

/** One CSV field, quoted as S3 Inventory quotes every field. */
export const quoteCsv = (value: string) => `"${value.replace(/"/g, '""')}"`;
