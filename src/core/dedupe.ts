/**
 * Step 1 of a photo (the Dedupe Lambda): decide what work is left.
 *   unchanged     the catalog already has every crop of this very object: nothing is read or written
 *   duplicate     the same bytes were rendered under another key: write only pointers and rows
 *   needs-resize  new content: claim it (so a twin in flight waits instead of rendering twice)
 */
import { changedRows, currentRows, isComplete, originalRow } from './catalog-rows';
import { type StepContext, nowIso } from './context';
import { ContentBusy } from './errors';
import { type ItemEvent, type ItemOutcome, NOTHING_WRITTEN, variantsWritten } from './item';
import { cropKey } from './keys';
import { putPointers } from './library';
import { isOriginalRow } from './layout';
import type { CatalogRow } from './ports';
import { dropStaleSizes } from './stale-sizes';
import { derivedPrefixOf, type InspectedOriginal, inspectOriginal, type SourceRef, sourceOf } from './source';

/** How many other keys with the same content are tried before rendering anyway. */
const MAX_CANDIDATES = 5;
/**
 * How many retries Dedupe waits for a twin that holds the claim (its Resize may have crashed and be
 * retried, or the lease may simply outlive it) before rendering the content itself: rendering twice
 * writes the same content-addressed assets, so patience is an optimisation, never a failure.
 */
export const CONTENT_BUSY_PATIENCE = 6;

export async function dedupe(context: StepContext, event: ItemEvent): Promise<ItemOutcome> {
  const source = sourceOf(event.item, context.presets.map((preset) => preset.name), derivedPrefixOf(context));
  const existing = await context.catalog.rowsForKey(source.key);
  if (source.etag && isComplete(existing, context.presets, { etag: source.etag, bucket: source.bucket })) {
    return { key: source.key, status: 'unchanged', sha256: originalRow(existing)?.sha256, written: NOTHING_WRITTEN };
  }
  // Streamed: an original of up to the size limit is hashed without being held whole (Dedupe has 512 MB).
  const original = await inspectOriginal(context, source);
  const { sha256, bytes: bytesIn } = original;
  const reused = await reuseDuplicate(context, event.runId, source, original, sha256, existing);
  if (reused) return { ...reused, bytesIn, bytesOut: 0 };
  const claimed = await context.catalog.claimContent(sha256, source.key, context.config.claimLeaseMs);
  if (!claimed && (event.retryCount ?? 0) < CONTENT_BUSY_PATIENCE) {
    throw new ContentBusy(`content ${sha256} is being rendered for another key; retrying to reuse its crops`);
  }
  return { key: source.key, status: 'needs-resize', sha256, written: NOTHING_WRITTEN, bytesIn, recordedRows: existing.length };
}

async function reuseDuplicate(
  context: StepContext,
  runId: string,
  source: SourceRef,
  original: InspectedOriginal,
  sha256: string,
  existing: readonly CatalogRow[],
): Promise<ItemOutcome | undefined> {
  const uses = await context.catalog.keysForHash(sha256);
  const candidates = uses.filter((use) => isOriginalRow(use) && use.sourceKey !== source.key).slice(0, MAX_CANDIDATES);
  for (const candidate of candidates) {
    const rows = await context.catalog.rowsForKey(candidate.sourceKey);
    if (!isComplete(rows, context.presets)) continue;
    const updatedAt = nowIso(context);
    const wanted: CatalogRow[] = currentRows(rows, context.presets)
      .map((row) => ({
        ...row,
        sourceKey: source.key,
        logicalKey: isOriginalRow(row) ? source.key : cropKey(row.preset, source.key),
        sourceBucket: source.bucket,
        sourceEtag: original.etag,
        runId,
        updatedAt,
      }));
    const pointers = await putPointers(context, wanted);
    const toWrite = changedRows(wanted, existing);
    if (toWrite.length > 0) await context.catalog.putRows(toWrite, { replaceFailure: true });
    // This key now has another key's content: its on-demand sizes of the old content go.
    const now = [...existing.filter((row) => !wanted.some((w) => w.preset === row.preset)), ...wanted];
    await dropStaleSizes(context, source.key, now);
    return {
      key: source.key,
      status: 'duplicate',
      sha256,
      duplicateOf: candidate.sourceKey,
      written: { assets: 0, pointers, catalogRows: toWrite.length, ...variantsWritten(toWrite, context.presets) },
    };
  }
  return undefined;
}
