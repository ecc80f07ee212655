/**
 * The sources file of a sources run (issue 20): a CSV, header first, one original per row.
 *
 *   key,url[,size][,md5][,sha256][,content-type]
 *
 * `key` is where the original goes in the source bucket (as is, not URL-encoded); `url` is
 * `https://…`, `http://…` or `s3://bucket/key`; `size` bytes; `md5`/`sha256` hex (or base64, as
 * Azure's Content-MD5); `content-type` the stored object's. Other columns are refused (a typo such as
 * `sha-256` would silently skip the check). RFC 4180 quoting; blank lines skipped; UTF-8 (a BOM is
 * dropped). The Distributed Map reads the same file with its CSV ItemReader (CSVHeaderLocation
 * FIRST_ROW): each row then reaches Fetch as `{key, url, …}` of strings, checked by parseSourceRecord.
 *
 * readSources streams: one record in memory at a time, each at most MAX_RECORD_BYTES; `plan` and
 * `run --sources` use it; a bad row is yielded as an error naming its line, never thrown, so a caller
 * can list every bad row at once. A bad header throws.
 */
import { ConfigError } from '../errors';
import { redactUrl } from './url-check';

export interface SourceRow {
  key: string;
  url: string;
  size?: number;
  /** Hex, lower case. */
  md5?: string;
  /** Hex, lower case. */
  sha256?: string;
  contentType?: string;
}

export type SourceRecordResult = { line: number; row: SourceRow } | { line: number; error: string };

export const SOURCE_COLUMNS = ['key', 'url', 'size', 'md5', 'sha256', 'content-type'] as const;
const REQUIRED = ['key', 'url'] as const;
/** A record longer than this is refused (a stranger's file must not make us buffer without bound). */
export const MAX_RECORD_BYTES = 64 * 1024;
/** S3's key limit (S3 User Guide, "Naming Amazon S3 objects": up to 1,024 bytes of UTF-8). */
const MAX_KEY_BYTES = 1024;

/** Checks one row given as `{column: value}` (a parsed record, or the ItemReader's item). Throws Error with a message safe to show (URLs redacted). */
export function parseSourceRecord(given: Readonly<Record<string, unknown>>): SourceRow {
  // Column names as readSources reads them (any case, spaces around, a BOM before the first): the
  // ItemReader keys each row by the header exactly as written.
  const record: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(given)) record[column.replace(/^\ufeff/, '').trim().toLowerCase()] = value;
  const text = (column: string): string | undefined => {
    const value = record[column];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') throw new Error(`${column} is not a string`);
    return value;
  };
  const key = text('key');
  const url = text('url');
  if (!key) throw new Error('empty key');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new Error(`key is ${Buffer.byteLength(key)} bytes, S3 allows ${MAX_KEY_BYTES}`);
  if (!url) throw new Error(`${key}: empty url`);
  if (!/^(https?|s3):\/\//i.test(url)) throw new Error(`${key}: url ${redactUrl(url)} is not https://, http:// or s3://`);
  if (!/^s3:/i.test(url)) {
    try {
      new URL(url);
    } catch {
      throw new Error(`${key}: url ${redactUrl(url)} is not a valid URL`);
    }
  }
  const row: SourceRow = { key, url };
  const size = text('size');
  if (size !== undefined) {
    if (!/^\d{1,15}$/.test(size)) throw new Error(`${key}: size ${JSON.stringify(size.slice(0, 40))} is not a number of bytes`);
    row.size = Number(size);
  }
  const md5 = text('md5');
  if (md5 !== undefined) row.md5 = digestHex(md5, 16, `${key}: md5`);
  const sha256 = text('sha256');
  if (sha256 !== undefined) row.sha256 = digestHex(sha256, 32, `${key}: sha256`);
  const contentType = text('content-type') ?? text('contentType');
  if (contentType !== undefined) {
    if (!/^[\w.+-]+\/[\w.+-]+(\s*;.*)?$/.test(contentType) || contentType.length > 200) throw new Error(`${key}: content-type ${JSON.stringify(contentType.slice(0, 40))} is not a media type`);
    row.contentType = contentType;
  }
  return row;
}

/** A digest given as hex or base64, as lower-case hex; throws naming `what`. */
function digestHex(value: string, bytes: number, what: string): string {
  if (new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(value)) return value.toLowerCase();
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(value)) {
    const decoded = Buffer.from(value, 'base64');
    if (decoded.byteLength === bytes) return decoded.toString('hex');
  }
  throw new Error(`${what} ${JSON.stringify(value.slice(0, 80))} is not ${bytes * 2} hex digits or base64 of ${bytes} bytes`);
}

/** Every row of a sources file, streamed. Throws on a bad header; a bad row is yielded as `{line, error}`. */
export async function* readSources(chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>, name = 'sources.csv'): AsyncGenerator<SourceRecordResult> {
  let header: string[] | undefined;
  const seen = new Set<string>();
  for await (const record of csvRecords(chunks, name)) {
    if ('error' in record) {
      yield record;
      continue;
    }
    if (!header) {
      header = checkHeader(record.fields, name);
      continue;
    }
    if (record.fields.length !== header.length) {
      yield { line: record.line, error: `${record.fields.length} fields, the header has ${header.length}` };
      continue;
    }
    try {
      const row = parseSourceRecord(Object.fromEntries(header.map((column, i) => [column, record.fields[i]])));
      // Two rows for one key would race each other's fetch into the same object.
      if (seen.has(row.key)) throw new Error(`${row.key}: a second row for this key`);
      seen.add(row.key);
      yield { line: record.line, row };
    } catch (error) {
      yield { line: record.line, error: (error as Error).message };
    }
  }
  if (!header) throw new Error(`${name}: empty (a header \`key,url\` and one row per original)`);
}

function checkHeader(fields: string[], name: string): string[] {
  const header = fields.map((field) => field.trim().toLowerCase());
  if (header[0]?.startsWith('\ufeff')) header[0] = header[0].slice(1);
  const unknown = header.filter((column) => !(SOURCE_COLUMNS as readonly string[]).includes(column));
  if (unknown.length > 0) throw new Error(`${name}: unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((c) => JSON.stringify(c.slice(0, 40))).join(', ')} in the header (known: ${SOURCE_COLUMNS.join(', ')})`);
  const missing = REQUIRED.filter((column) => !header.includes(column));
  if (missing.length > 0) throw new Error(`${name}: the header has no ${missing.join(', ')} column (it needs key,url)`);
  const twice = header.filter((column, i) => header.indexOf(column) !== i);
  if (twice.length > 0) throw new Error(`${name}: column ${twice[0]} twice in the header`);
  return header;
}

type CsvRecord = { line: number; fields: string[] } | { line: number; error: string };

/** RFC 4180 records across chunk boundaries; a record over MAX_RECORD_BYTES or an unclosed quote is an error record. */
async function* csvRecords(chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>, name: string): AsyncGenerator<CsvRecord> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let fields: string[] = [];
  let field = '';
  let inQuotes = false;
  let quoteSeen = false; // the previous char was a closing-or-doubled quote candidate
  let started = false;
  let line = 1;
  let recordLine = 1;
  let recordChars = 0;
  let skipping = false; // inside a record too long: drop until its end
  const reset = () => {
    fields = [];
    field = '';
    started = false;
    recordChars = 0;
  };
  for await (const chunk of chunks) {
    let text: string;
    try {
      text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    } catch {
      throw new Error(`${name}: not UTF-8 near line ${line}`);
    }
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (c === '\n') line++;
      if (skipping) {
        if (c === '\n' && !inQuotes) {
          skipping = false;
          reset();
          recordLine = line;
        } else if (c === '"') inQuotes = !inQuotes;
        continue;
      }
      if (++recordChars > MAX_RECORD_BYTES) {
        yield { line: recordLine, error: `a record of more than ${MAX_RECORD_BYTES} characters` };
        skipping = true;
        if (c === '"') inQuotes = !inQuotes;
        continue;
      }
      if (inQuotes) {
        if (quoteSeen) {
          quoteSeen = false;
          if (c === '"') {
            field += '"';
            continue;
          }
          inQuotes = false;
          // fall through: c is the char after a closing quote
        } else if (c === '"') {
          quoteSeen = true;
          continue;
        } else {
          field += c;
          continue;
        }
      }
      if (c === '"' && !started) {
        inQuotes = true;
        started = true;
      } else if (c === ',') {
        fields.push(field);
        field = '';
        started = false;
      } else if (c === '\n' || c === '\r') {
        if (c === '\r' && text[i + 1] === '\n') continue;
        if (started || fields.length > 0 || field) {
          fields.push(field);
          yield { line: recordLine, fields };
        }
        reset();
        recordLine = line;
      } else {
        field += c;
        started = true;
      }
    }
  }
  if (quoteSeen) {
    quoteSeen = false;
    inQuotes = false;
  }
  if (inQuotes) {
    yield { line: recordLine, error: 'a quoted field is never closed' };
    return;
  }
  if (!skipping && (started || fields.length > 0 || field)) {
    fields.push(field);
    yield { line: recordLine, fields };
  }
}

/** Bad rows named in a refusal before "… and N more". */
export const BAD_ROWS_SHOWN = 20;

/**
 * Every row of a sources file, checked before anything is done with it (`run`, `start` and `plan
 * --sources` alike): each good row goes to `onRow`; a file with a bad row is refused whole — a
 * ConfigError naming up to BAD_ROWS_SHOWN bad lines (URLs redacted by readSources), ending with what was
 * not done (`notDone`) — and so is a file without rows or one that cannot be read. Returns the row count.
 */
export async function checkSourceRows(chunks: AsyncIterable<Uint8Array | string>, name: string, notDone: string, onRow: (row: SourceRow) => void = () => {}): Promise<number> {
  let rows = 0;
  const bad: string[] = [];
  try {
    for await (const result of readSources(chunks, name)) {
      if ('error' in result) bad.push(`line ${result.line}: ${result.error}`);
      else {
        rows++;
        onRow(result.row);
      }
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(code ? `cannot read ${name}: ${code}` : (error as Error).message);
  }
  if (bad.length > 0) {
    const shown = bad.slice(0, BAD_ROWS_SHOWN).map((line) => `  ${line}`);
    if (bad.length > BAD_ROWS_SHOWN) shown.push(`  … and ${bad.length - BAD_ROWS_SHOWN} more`);
    throw new ConfigError(`${name}: ${bad.length} bad row${bad.length > 1 ? 's' : ''}, ${notDone}:\n${shown.join('\n')}`);
  }
  if (rows === 0) throw new ConfigError(`${name}: no rows (a header \`key,url\` and one row per original)`);
  return rows;
}
