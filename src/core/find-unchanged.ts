/**
 * Step 0 of a batch (the FindUnchanged Lambda): which photos of the batch the catalog already has in
 * full, from this very object — a rerun's usual case. One BatchGetItem for the batch answers what one
 * Dedupe invocation and one Query per photo answered before: those photos end here, and only the
 * others go on to Dedupe (statemachines/migrate.asl.yaml, IsUnchanged).
 *
 * The rule is Dedupe's own (catalog-rows.ts isComplete: the ORIGINAL row has this ETag and bucket, and
 * every preset has its row of that content); a photo this step cannot judge (no ETag, a key Dedupe
 * would refuse) is left to Dedupe, which then judges or fails it with its reason. An optimisation, never
 * a verdict of its own: when this step fails, the state machine sends the whole batch to Dedupe.
 */
import { isComplete, originalRow } from './catalog-rows';
import type { StepContext } from './context';
import { type InventoryItem, type ItemOutcome, NOTHING_WRITTEN } from './item';
import { ORIGINAL } from './layout';
import { derivedPrefixOf, type SourceRef, sourceOf } from './source';

/** The FindUnchanged Task's input: the batch's items (`$.Items`) and the run (`$.BatchInput.runId`). */
export interface BatchEvent {
  items: InventoryItem[];
  runId: string;
}

/** An item as FindUnchanged hands it on: `unchanged` is its outcome when the catalog has it whole. */
export type TriagedItem = InventoryItem & { unchanged?: ItemOutcome };

export async function findUnchanged(context: StepContext, event: BatchEvent): Promise<TriagedItem[]> {
  if (!event || !Array.isArray(event.items)) throw new TypeError('FindUnchanged takes {items: [...], runId}');
  const names = context.presets.map((preset) => preset.name);
  const prefixBytes = derivedPrefixOf(context);
  const sources = event.items.map((item): SourceRef | undefined => {
    try {
      const source = sourceOf(item, names, prefixBytes);
      return source.etag ? source : undefined;
    } catch {
      return undefined; // Dedupe refuses it, with its reason.
    }
  });
  const keys = sources.flatMap((source) => (source ? [source.key] : []));
  const rows = keys.length > 0 ? await context.catalog.rowsForKeys(keys, [ORIGINAL, ...names]) : new Map();
  return event.items.map((item, index) => {
    const source = sources[index];
    const existing = source && rows.get(source.key);
    if (!source || !existing || !isComplete(existing, context.presets, { etag: source.etag, bucket: source.bucket })) return item;
    const unchanged: ItemOutcome = { key: source.key, status: 'unchanged', sha256: originalRow(existing)?.sha256, written: NOTHING_WRITTEN };
    return { ...item, unchanged };
  });
}
