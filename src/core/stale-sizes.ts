/**
 * On-demand sizes (`dynamic/<WxH>/<key>`) are crops of the content a key had when they were made.
 * Once the key's original is replaced (a batch rerun, a redrive, live sync, repair), those crops are
 * stale: their pointers and rows go, and the next request renders the size anew from the new content.
 * Their assets stay for `prune` (or live sync's own pruning): another key may use the same bytes.
 */
import { normalizeEtag } from './catalog-rows';
import type { StepContext } from './context';
import { isOriginalRow, rowKind } from './layout';
import type { CatalogRow } from './ports';

export function isOnDemandSize(row: Pick<CatalogRow, 'preset'>): boolean {
  return rowKind(row.preset).kind === 'dynamic';
}

/** The key's on-demand size rows made from another original than its current one (another sha-256 or ETag). */
export function staleSizes(rows: readonly CatalogRow[]): CatalogRow[] {
  const current = rows.find(isOriginalRow);
  if (!current) return [];
  return rows.filter((row) => isOnDemandSize(row) && !madeFrom(row, current));
}

/** The row was made from this original: the same content (sha-256) under the same ETag. */
export function madeFrom(row: CatalogRow, original: CatalogRow): boolean {
  return row.sourceSha256 === original.sha256 && normalizeEtag(row.sourceEtag) === normalizeEtag(original.sourceEtag);
}

/**
 * Drops the stale on-demand sizes of `key` — pointers first (a row never outlives what it describes
 * being served), then the rows — and returns them. `rows`: the key's rows as they are now, when the
 * caller has them (the new ORIGINAL row included); otherwise they are read.
 */
export async function dropStaleSizes(context: StepContext, key: string, rows?: readonly CatalogRow[]): Promise<CatalogRow[]> {
  const stale = staleSizes(rows ?? (await context.catalog.rowsForKey(key)));
  if (stale.length === 0) return [];
  await Promise.all(stale.map((row) => context.store.delete({ bucket: context.libraryBucket, key: row.logicalKey })));
  await context.catalog.deleteRows(key, stale.map((row) => row.preset));
  return stale;
}
