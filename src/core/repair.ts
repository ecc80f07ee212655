/**
 * Repair: what `verify` finds, mended. Every item the deep audit flags as damaged (finished, but an
 * asset is missing or its bytes are not what its key says, a pointer is missing or points elsewhere)
 * or unfinished (catalog rows missing) is rendered again from its original, forced: corrupt assets are
 * deleted first (an asset is content-addressed, so the conditional write would otherwise keep the bad
 * bytes), then the same Resize step the state machine runs writes assets, pointers and rows. Then the
 * run is audited again. Items recorded FAILED are left to `redrive` (their photo is the problem).
 * Works on any ports: the emulators locally, S3 + DynamoDB on AWS (rendering on this machine).
 */
import type { StepContext } from './context';
import { errorMessage } from './errors';
import type { InventoryRow } from './inventory/data-files';
import { decodeInventoryKey } from './inventory/keys';
import { sha256Hex } from './library';
import { resize } from './resize';
import { type VerifyReport, verifyRun } from './verify';

export interface RepairReport {
  /** The deep audit repair acted on, and the one after. */
  before: VerifyReport;
  after: VerifyReport;
  /** Keys rendered again. */
  repaired: string[];
  /** Assets deleted because their bytes did not hash to their key. */
  corruptAssetsDeleted: number;
  /** Keys that could not be rendered again (their original is gone or bad: `verify` still lists them). */
  failed: Array<{ key: string; error: string }>;
}

export async function repairRun(context: StepContext, items: readonly InventoryRow[], runId: string): Promise<RepairReport> {
  const verifyContext = { store: context.store, catalog: context.catalog, libraryBucket: context.libraryBucket, presets: context.presets };
  const before = await verifyRun(verifyContext, items, { deep: true });
  const targets = new Set([...before.damagedKeys, ...before.unfinishedKeys]);
  const report: RepairReport = { before, after: before, repaired: [], corruptAssetsDeleted: 0, failed: [] };
  for (const item of items) {
    const key = decodeInventoryKey(item.Key ?? '');
    if (!targets.has(key)) continue;
    try {
      report.corruptAssetsDeleted += await deleteCorruptAssets(context, key);
      await resize(context, { item: { bucket: item.Bucket ?? '', key: item.Key ?? '', size: item.Size, etag: item.ETag }, runId });
      report.repaired.push(key);
    } catch (error) {
      report.failed.push({ key, error: errorMessage(error) });
    }
  }
  report.after = targets.size > 0 ? await verifyRun(verifyContext, items, { deep: true }) : before;
  return report;
}

/** Deletes every asset of the key whose bytes do not hash to the sha-256 its key and row carry. */
async function deleteCorruptAssets(context: StepContext, key: string): Promise<number> {
  let deleted = 0;
  for (const row of await context.catalog.rowsForKey(key)) {
    const ref = { bucket: context.libraryBucket, key: row.assetKey };
    if (!(await context.store.head(ref))) continue;
    const actual = sha256Hex((await context.store.get(ref)).body);
    if (actual === row.sha256 && row.assetKey.includes(actual)) continue;
    await context.store.delete(ref);
    deleted++;
  }
  return deleted;
}
