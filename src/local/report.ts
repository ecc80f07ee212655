/**
 * The report of the last local run: what its ResultWriter recorded per photo (status, what was
 * written, per-step timings) joined with what the catalog holds now for those photos (every crop
 * with its size, failure rows with their reasons). report-html.ts turns it into a page.
 */
import type { FailureReason } from '../core/errors';
import { decodeInventoryKey } from '../core/inventory/keys';
import type { ItemOutcome, ItemStatus } from '../core/item';
import { isOriginalRow, ORIGINAL, rowKind } from '../core/layout';
import type { CatalogRow } from '../core/ports';
import { readRunOutcomes, type RunSummary, summarize } from '../core/run-results';
import { type FailureGroup, failureGroups } from '../core/run-status';
import { type LastRun, readLastRun } from './migrate';
import { runRows } from './sources';
import type { Skipped } from './photos';
import type { LocalStack } from './stack';

export interface ReportImage {
  /** ORIGINAL or a preset name. */
  preset: string;
  logicalKey: string;
  width: number;
  height: number;
  bytes: number;
}

export interface ReportPhoto {
  key: string;
  status: ItemStatus;
  duplicateOf?: string;
  /** Sum of the step timings (ms); undefined when the run did not record them. */
  ms?: number;
  timings?: Record<string, number>;
  sha256?: string;
  /** The original first, then each preset in configuration order. */
  images: ReportImage[];
}

export interface ReportData {
  run: LastRun;
  generatedAt: string;
  summary: RunSummary;
  /** Items per second of the state machine execution. */
  itemsPerSecond?: number;
  /** What the catalog holds now for the run's photos. */
  catalog: { photos: number; rows: number; crops: number; failures: number; distinctAssets: number; variants?: number };
  photos: ReportPhoto[];
  /** Photos with identical content (same sha-256), two or more keys each. */
  duplicateGroups: Array<{ sha256: string; keys: string[] }>;
  failures: Array<{ key: string; errorType: string; error: string; reason: FailureReason }>;
  failureGroups: FailureGroup[];
  /** Files of the run's folder left out of it, with their reasons (local runs; see src/local/photos.ts). */
  skipped: Skipped[];
  presets: string[];
}

export async function buildReport(stack: LocalStack, run?: LastRun): Promise<ReportData> {
  const last = run ?? (await readLastRun(stack.dataDir));
  const outcomes = last.resultWriter ? await readRunOutcomes(stack.store, last.resultWriter) : [];
  const byKey = new Map(outcomes.map((outcome) => [outcome.key, outcome]));
  const keys = (await runRows(stack.store, last)).map((row) => decodeInventoryKey(row.Key ?? ''));
  const presets = stack.context.presets.map((preset) => preset.name);
  const order = new Map([ORIGINAL, ...presets].map((name, index) => [name, index]));

  const photos: ReportPhoto[] = [];
  const failures: ReportData['failures'] = [];
  const catalog: ReportData['catalog'] = { photos: 0, rows: 0, crops: 0, failures: 0, distinctAssets: 0 };
  // Variants (`<preset>.<format>`, issue 18) are crops too (counted in `crops`, listed after their
  // preset, as validateConfig orders them); `variants` counts them apart, when there are some.
  const variants = new Set(stack.context.presets.filter((preset) => preset.variantOf !== undefined).map((preset) => preset.name));
  let variantRows = 0;
  const assets = new Set<string>();
  for (const key of keys) {
    const rows = await stack.context.catalog.rowsForKey(key);
    const failure = await stack.context.catalog.failureFor(key);
    const outcome: ItemOutcome | undefined = byKey.get(key);
    catalog.rows += rows.length;
    catalog.crops += rows.filter((row) => order.has(row.preset) && rowKind(row.preset).kind === 'preset').length;
    variantRows += rows.filter((row) => variants.has(row.preset)).length;
    if (rows.some(isOriginalRow)) catalog.photos++;
    for (const row of rows) assets.add(row.assetKey);
    if (failure) {
      catalog.failures++;
      failures.push({ key, errorType: failure.errorType, error: failure.error, reason: failure.reason });
    }
    const images = rows
      .filter((row) => order.has(row.preset))
      .sort((a, b) => order.get(a.preset)! - order.get(b.preset)!)
      .map((row: CatalogRow) => ({ preset: row.preset, logicalKey: row.logicalKey, width: row.width, height: row.height, bytes: row.bytes }));
    const timings = outcome?.timings;
    photos.push({
      key,
      status: outcome?.status ?? (failure ? 'failed' : 'unchanged'),
      duplicateOf: outcome?.duplicateOf,
      timings,
      ms: timings ? Object.values(timings).reduce((sum, ms) => sum + ms, 0) : undefined,
      sha256: rows.find(isOriginalRow)?.sha256,
      images,
    });
  }
  catalog.distinctAssets = assets.size;
  if (variantRows > 0) catalog.variants = variantRows;

  const bySha = new Map<string, string[]>();
  for (const photo of photos) if (photo.sha256) bySha.set(photo.sha256, [...(bySha.get(photo.sha256) ?? []), photo.key]);
  const duplicateGroups = [...bySha.entries()].filter(([, keys]) => keys.length > 1).map(([sha256, keys]) => ({ sha256, keys: keys.sort() }));

  // A sources run (issue 20): its summary has the copy phase (summary.copy).
  const summary = summarize(outcomes, { sources: last.sources === true });
  return {
    run: last,
    generatedAt: new Date().toISOString(),
    summary,
    itemsPerSecond: last.executionSeconds ? summary.items / last.executionSeconds : undefined,
    catalog,
    photos,
    duplicateGroups,
    failures,
    failureGroups: failureGroups(outcomes),
    skipped: last.skipped ?? [],
    presets,
  };
}
