/**
 * Redrive, locally: run again only the items of the last run that did not succeed (failed, or never
 * run because the run stopped), from its ResultWriter output, as a new inventory report of just them.
 */
import { ConfigError } from '../core/errors';
import { decodeInventoryKey, readInventoryReport } from '../core/inventory';
import { readRunOutcomes } from '../core/run-results';
import { executeMigration, type LocalRunOptions, type LocalRunResult, readLastRun, writeInventoryReport } from './migrate';
import type { LocalStack } from './stack';

export const REDRIVE_PREFIX = 'inventory-redrive';

export async function redriveLocal(stack: LocalStack, options: Pick<LocalRunOptions, 'onProgress' | 'timeScale'> = {}): Promise<{ keys: string[]; result?: LocalRunResult }> {
  const last = await readLastRun(stack.dataDir);
  if (!last.resultWriter) throw new ConfigError(`run ${last.execution} wrote no results (its execution failed before the Map ran); start it again with photo-scaler run`);
  const outcomes = await readRunOutcomes(stack.store, last.resultWriter);
  const seen = new Set(outcomes.map((outcome) => outcome.key));
  const rows = await readInventoryReport(stack.store, last.manifest);
  const retry = new Set(outcomes.filter((outcome) => outcome.status === 'failed').map((outcome) => outcome.key));
  const objects = rows
    .map((row) => ({ row, key: decodeInventoryKey(row.Key!) }))
    .filter(({ key }) => retry.has(key) || !seen.has(key))
    .map(({ row, key }) => ({ key, size: Number(row.Size ?? 0), etag: row.ETag ?? '', lastModified: new Date(row.LastModifiedDate ?? Date.now()) }));
  if (objects.length === 0) return { keys: [] };
  const manifest = await writeInventoryReport(stack, REDRIVE_PREFIX, objects);
  return { keys: objects.map((object) => object.key), result: await executeMigration(stack, manifest, options) };
}
