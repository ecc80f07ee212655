/**
 * `photo-scaler run --sources <file.csv>`, locally (issue 20): the sources file is checked row by
 * row (every bad row named, nothing run), stored in the emulated inventory bucket, and
 * statemachines/migrate.asl.yaml runs on it (`{"sources": {bucket, key}}`): its CSV ItemReader reads
 * the rows, Fetch copies each original from its URL into the emulated source bucket (only hosts of
 * `--allow-host`), then the usual Dedupe → Resize. The run is recorded like any (last-run.json, with
 * `sources: true`), so verify, repair, redrive and report read its rows from that CSV.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { config as defaultConfig } from '../config';
import { ConfigError } from '../core/errors';
import { checkSourceRows, readSources, type SourceRow } from '../core/fetch/sources-csv';
import { redactUrl } from '../core/fetch/url-check';
import type { InventoryRow } from '../core/inventory/data-files';
import { encodeInventoryKey } from '../core/inventory/keys';
import { readInventoryReport } from '../core/inventory/read';
import type { ObjectRef, ObjectStore } from '../core/ports';
import { validateConfig } from '../core/presets';
import { parseAllowlist } from '../handlers/fetch';
import { executeMigration, type LastRun, type LocalRunOptions, type LocalRunResult } from './migrate';
import { LOCAL_NAMES, type LocalStack, openLocalStack } from './stack';

/** Where sources files of local runs are stored, in the emulated inventory bucket. */
export const SOURCES_PREFIX = 'sources';

export interface LocalSourcesOptions extends Omit<LocalRunOptions, 'photosDir'> {
  sourcesFile: string;
  /** `--allow-host`: `host[:port]`, `*.domain`, `s3://bucket`. Loopback is fetched only when named. */
  allowHosts: readonly string[];
}

export async function runLocalSources(options: LocalSourcesOptions): Promise<LocalRunResult> {
  const config = options.config ?? defaultConfig;
  validateConfig(config);
  const allowlist = parseAllowlist(options.allowHosts);
  const rows = await checkSourcesFile(options.sourcesFile);
  const stack = options.stack ?? (await openLocalStack(options.dataDir, { config, faults: options.faults }));
  try {
    const started = performance.now();
    stack.fetchOptions.allowlist = allowlist;
    const ref = await writeSourcesFile(stack, rows);
    return await executeMigration(stack, ref, { ...options, sources: true, allowHosts: options.allowHosts }, started);
  } finally {
    if (!options.stack) await stack.close();
  }
}

/** Every row of the file, or a ConfigError naming the bad ones (lines and why; URLs redacted). */
export async function checkSourcesFile(file: string): Promise<SourceRow[]> {
  const rows: SourceRow[] = [];
  await checkSourceRows(createReadStream(file), file, 'nothing was run', (row) => rows.push(row));
  return rows;
}

/** The rows as a sources CSV in the emulated inventory bucket (what the ItemReader reads). */
export async function writeSourcesFile(stack: LocalStack, rows: readonly SourceRow[], prefix = SOURCES_PREFIX): Promise<ObjectRef> {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const ref = { bucket: LOCAL_NAMES.inventoryBucket, key: `${prefix}/${stamp}-${randomBytes(3).toString('hex')}.csv` };
  await stack.store.put(ref, Buffer.from(sourcesCsv(rows)), { contentType: 'text/csv' });
  return ref;
}

const COLUMNS = ['key', 'url', 'size', 'md5', 'sha256', 'content-type'] as const;

/** A sources CSV of these rows (every column, RFC 4180 quoting). */
export function sourcesCsv(rows: readonly SourceRow[]): string {
  const quote = (value: string | number | undefined) => {
    const text = value === undefined ? '' : String(value);
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const lines = rows.map((row) => [row.key, row.url, row.size, row.md5, row.sha256, row.contentType].map(quote).join(','));
  return `${COLUMNS.join(',')}\n${lines.map((line) => `${line}\n`).join('')}`;
}

/** The rows of a stored sources CSV (checked again: a bad row is an error naming its line). */
export async function readStoredSources(store: ObjectStore, ref: ObjectRef): Promise<SourceRow[]> {
  const { body } = await store.get(ref);
  const rows: SourceRow[] = [];
  for await (const result of readSources([body], `s3://${ref.bucket}/${ref.key}`)) {
    if ('error' in result) throw new ConfigError(`s3://${ref.bucket}/${ref.key} line ${result.line}: ${result.error}`);
    rows.push(result.row);
  }
  return rows;
}

/** Sources rows as the inventory rows verify, repair and redrive audit (the source bucket's objects at their keys). */
export function inventoryRowsOfSources(rows: readonly SourceRow[], sourceBucket: string = LOCAL_NAMES.sourceBucket): InventoryRow[] {
  return rows.map((row) => ({ Bucket: sourceBucket, Key: encodeInventoryKey(row.key) }));
}

/** The items of a recorded run: its inventory report's rows, or its sources CSV's, as inventory rows. */
export async function runRows(store: ObjectStore, run: Pick<LastRun, 'manifest' | 'sources'>): Promise<InventoryRow[]> {
  if (run.sources) return inventoryRowsOfSources(await readStoredSources(store, run.manifest));
  return readInventoryReport(store, run.manifest, { expectedSourceBucket: LOCAL_NAMES.sourceBucket });
}

/** A row as a person may see it: its key and its URL redacted. */
export function describeSource(row: SourceRow): string {
  return `${row.key} <- ${redactUrl(row.url)}`;
}
