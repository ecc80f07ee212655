/**
 * Redrive, locally: run again the items of the last run that are not DONE — recorded FAILED, or never
 * finished (a run cut short by Ctrl-C, a kill or a full disk never wrote them). What is done is read
 * from the catalog and the library (the audit `verify` makes), not from the run's results, which a run
 * cut short may never have written. The redrive is recorded with the run: `verify` then audits the
 * whole run again.
 */
import { validateConfig } from '../core/presets';
import { decodeInventoryKey } from '../core/inventory/keys';
import { readInventoryReport } from '../core/inventory/read';
import { type VerifyReport, verifyRun } from '../core/verify';
import { executeMigration, type LastRun, type LocalRunOptions, type LocalRunResult, readLastRun, writeInventoryReport } from './migrate';
import { LOCAL_NAMES, type LocalStack } from './stack';
import { parseAllowlist } from '../handlers/fetch';
import { inventoryRowsOfSources, readStoredSources, writeSourcesFile } from './sources';

export const REDRIVE_PREFIX = 'inventory-redrive';

export interface LocalRedrive {
  run: LastRun;
  /** The audit the redrive was decided on. */
  found: VerifyReport;
  keys: string[];
  result?: LocalRunResult;
}

export async function redriveLocal(stack: LocalStack, options: Pick<LocalRunOptions, 'onProgress' | 'timeScale' | 'signal'> = {}): Promise<LocalRedrive> {
  const run = await readLastRun(stack.dataDir);
  if (run.sources) return redriveSources(stack, run, options);
  const rows = await readInventoryReport(stack.store, run.manifest, { expectedSourceBucket: LOCAL_NAMES.sourceBucket });
  const context = { store: stack.store, catalog: stack.context.catalog, libraryBucket: LOCAL_NAMES.libraryBucket, presets: validateConfig(stack.context.config) };
  const found = await verifyRun(context, rows);
  // Damaged items (finished, the library wrong) are `repair`'s: a rerun would find them finished.
  const redo = new Set([...found.failedKeys, ...found.unfinishedKeys]);
  const objects = rows
    .map((row) => ({ row, key: decodeInventoryKey(row.Key!) }))
    .filter(({ key }) => redo.has(key))
    .map(({ row, key }) => ({ key, size: Number(row.Size ?? 0), etag: row.ETag ?? '', lastModified: new Date(row.LastModifiedDate ?? Date.now()) }));
  if (objects.length === 0) return { run, found, keys: [] };
  const manifest = await writeInventoryReport(stack, REDRIVE_PREFIX, objects);
  const result = await executeMigration(stack, manifest, { ...options, record: 'redrive' });
  return { run, found, keys: objects.map((object) => object.key), result };
}

/**
 * A sources run's redrive: the rows not done (FAILED, or never finished) go into a new sources CSV
 * (with their URLs: Fetch copies them again, unless the source bucket has them already) and run again.
 */
async function redriveSources(stack: LocalStack, run: LastRun, options: Pick<LocalRunOptions, 'onProgress' | 'timeScale' | 'signal'>): Promise<LocalRedrive> {
  const sources = await readStoredSources(stack.store, run.manifest);
  const context = { store: stack.store, catalog: stack.context.catalog, libraryBucket: LOCAL_NAMES.libraryBucket, presets: validateConfig(stack.context.config) };
  const found = await verifyRun(context, inventoryRowsOfSources(sources));
  const redo = new Set([...found.failedKeys, ...found.unfinishedKeys]);
  const rows = sources.filter((row) => redo.has(row.key));
  if (rows.length === 0) return { run, found, keys: [] };
  stack.fetchOptions.allowlist = parseAllowlist(run.allowHosts ?? []);
  const ref = await writeSourcesFile(stack, rows, SOURCES_REDRIVE_PREFIX);
  const result = await executeMigration(stack, ref, { ...options, record: 'redrive', sources: true });
  return { run, found, keys: rows.map((row) => row.key), result };
}

export const SOURCES_REDRIVE_PREFIX = 'sources-redrive';
