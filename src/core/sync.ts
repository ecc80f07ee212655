/**
 * Live sync: one key of the source bucket was created, overwritten or deleted while (or after) a
 * migration ran. The bucket's current state decides, not the event: S3 delivers events at least once
 * and not in order, so an "created" event for an object that is gone since removes the key, and a
 * "removed" event for a key that exists again syncs it.
 *
 * An object that exists goes through the very steps the state machine runs — dedupe, then resize
 * when needed, recordFailure when the photo is bad — so live sync writes what a migration would.
 * A key that is gone loses its pointers and catalog rows; its assets are deleted only when no other
 * row of the catalog uses them (see pruneAssets).
 */
import { type StepContext } from './context';
import { CONTENT_BUSY_PATIENCE, dedupe } from './dedupe';
import { ContentBusy, TransientError } from './errors';
import { encodeInventoryKey } from './inventory/keys';
import type { InventoryItem, ItemOutcome } from './item';
import { type CatalogRow, FAILURE } from './ports';
import { recordFailure } from './record-failure';
import { resize } from './resize';

/** The runId live sync records in catalog rows (a migration records its execution name). */
export const SYNC_RUN_ID = 'live-sync';

export interface SyncTarget {
  bucket: string;
  /** Decoded key. */
  key: string;
}

export interface AssetsPruned {
  /** Assets deleted: no catalog row uses them any more. */
  deleted: number;
  /** Assets kept: other keys (duplicates, other crops) still use them. */
  kept: number;
}

/** What pruneAssets did, with the keys it deleted (their `/assets/…` URLs are invalidated too). */
interface Pruned extends AssetsPruned {
  deletedKeys: string[];
}

export interface RemovalOutcome {
  key: string;
  status: 'removed';
  deleted: { pointers: number; catalogRows: number; assets: number };
  keptAssets: number;
}

/** What live sync asked the CDN to forget: logical URLs it re-pointed or removed. */
export interface CdnRefresh {
  invalidated?: number;
  /** The CDN refused or could not be reached: the URLs stay cached until their lifetime ends. */
  invalidationError?: string;
}

export type SyncOutcome = ((ItemOutcome & { pruned?: AssetsPruned }) | RemovalOutcome) & CdnRefresh;

/** Errors that a later attempt can cure: they are thrown (the Lambda retries, then its dead-letter queue). */
export function isRetryable(error: unknown): boolean {
  return error instanceof TransientError || error instanceof ContentBusy;
}

export async function syncObject(context: StepContext, target: SyncTarget, runId: string): Promise<SyncOutcome> {
  const head = await context.store.head({ bucket: target.bucket, key: target.key });
  if (!head) {
    const rows = await context.catalog.rowsForKey(target.key);
    const { deletedKeys, ...removed } = await removeKey(context, target.key);
    return { ...removed, ...(await refreshCdn(context, [...rows.map((row) => row.logicalKey), ...deletedKeys])) };
  }
  const item: InventoryItem = { bucket: target.bucket, key: encodeInventoryKey(target.key), size: head.size, etag: head.etag };
  const before = await context.catalog.rowsForKey(target.key);
  try {
    // No Step Functions retrier here to wait out a twin in flight: render at once (same bytes, same
    // content-addressed assets), as Dedupe does once its patience is spent.
    let outcome = await dedupe(context, { item, runId, retryCount: CONTENT_BUSY_PATIENCE });
    if (outcome.status === 'needs-resize') outcome = await resize(context, { item, runId, outcome });
    // An overwritten key no longer uses its old assets: drop those nobody else uses.
    const afterRows = await context.catalog.rowsForKey(target.key);
    const after = new Set(afterRows.map((row) => row.assetKey));
    const { deletedKeys: prunedKeys, ...pruned } = await pruneAssets(context, before.filter((row) => !after.has(row.assetKey)), target.key);
    const refreshed = await refreshCdn(context, [...repointed(before, afterRows), ...prunedKeys]);
    return { ...outcome, ...(pruned.deleted + pruned.kept > 0 ? { pruned } : {}), ...refreshed };
  } catch (error) {
    if (isRetryable(error)) throw error;
    const caught = error instanceof Error ? { Error: error.name, Cause: error.message } : { Error: 'Error', Cause: String(error) };
    return recordFailure(context, { item, runId, error: caught });
  }
}

/**
 * Logical keys that answered something before and now answer something else (or nothing). A key that
 * is new answered a 404 before, cached for `delivery.errorSeconds` only: no invalidation is paid for
 * it (CloudFront bills invalidation paths past the first 1,000 a month).
 */
export function repointed(before: readonly CatalogRow[], after: readonly CatalogRow[]): string[] {
  const now = new Map(after.map((row) => [row.logicalKey, row.assetKey]));
  return before.filter((row) => now.get(row.logicalKey) !== row.assetKey).map((row) => row.logicalKey);
}

/** Best effort: a CDN that cannot be told is logged by the caller; the library itself is already right. */
async function refreshCdn(context: StepContext, logicalKeys: readonly string[]): Promise<CdnRefresh> {
  if (!context.cdn || logicalKeys.length === 0) return {};
  try {
    await context.cdn.invalidate(logicalKeys);
    return { invalidated: logicalKeys.length };
  } catch (error) {
    return { invalidationError: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}

/** The key is gone from the source bucket: its pointers, rows and failure row go; assets nobody else uses go too. */
export async function removeKey(context: StepContext, key: string): Promise<RemovalOutcome & { deletedKeys: string[] }> {
  const rows = await context.catalog.rowsForKey(key);
  const failure = await context.catalog.failureFor(key);
  let pointers = 0;
  for (const row of rows) {
    if (await context.store.head({ bucket: context.libraryBucket, key: row.logicalKey })) {
      await context.store.delete({ bucket: context.libraryBucket, key: row.logicalKey });
      pointers++;
    }
  }
  const presets = [...rows.map((row) => row.preset), ...(failure ? [FAILURE] : [])];
  if (presets.length > 0) await context.catalog.deleteRows(key, presets);
  const pruned = await pruneAssets(context, rows, key);
  return { key, status: 'removed', deleted: { pointers, catalogRows: presets.length, assets: pruned.deleted }, keptAssets: pruned.kept, deletedKeys: pruned.deletedKeys };
}

/**
 * Deletes each asset of `released` (rows `key` no longer has) unless another catalog row still uses
 * it. How we know: the catalog's bySha256 index lists every row whose asset has a given sha-256 —
 * every crop, original, duplicate and on-demand size. The index is eventually consistent (usually
 * well under a second on DynamoDB): a key that starts using the very same content inside that window
 * is not seen yet, and `verify` would report its missing asset.
 */
export async function pruneAssets(context: StepContext, released: readonly CatalogRow[], key: string): Promise<Pruned> {
  const result: Pruned = { deleted: 0, kept: 0, deletedKeys: [] };
  const assets = new Map(released.map((row) => [row.assetKey, row.sha256]));
  for (const [assetKey, sha256] of assets) {
    const users = (await context.catalog.keysForHash(sha256)).filter((use) => use.sourceKey !== key);
    if (users.length > 0) {
      result.kept++;
      continue;
    }
    await context.store.delete({ bucket: context.libraryBucket, key: assetKey });
    result.deleted++;
    result.deletedKeys.push(assetKey);
  }
  return result;
}
