/**
 * The Catch target (the RecordFailure Lambda): the photo becomes a FAILED row with its reason, so
 * the run goes on and the failure stays queryable. An identical failure already recorded is not
 * rewritten (a rerun writes nothing).
 */
import { normalizeEtag } from './catalog-rows';
import { type StepContext, nowIso } from './context';
import { decodeInventoryKeyOrRaw } from './inventory/keys';
import type { CaughtError, ItemEvent, ItemOutcome } from './item';
import { FAILURE, type FailureRow } from './ports';

const MAX_REASON = 1000;

export async function recordFailure(context: StepContext, event: ItemEvent): Promise<ItemOutcome> {
  const key = decodeInventoryKeyOrRaw(event.item?.key ?? '');
  const { errorType, error } = describeCaught(event.error);
  const row: FailureRow = {
    sourceKey: key,
    preset: FAILURE,
    sourceBucket: event.item?.bucket ?? '',
    sourceEtag: normalizeEtag(event.item?.etag),
    errorType,
    error,
    runId: event.runId,
    updatedAt: nowIso(context),
  };
  const previous = await context.catalog.failureFor(key);
  const same = previous !== undefined && previous.errorType === errorType && previous.error === error && normalizeEtag(previous.sourceEtag) === row.sourceEtag;
  if (!same) await context.catalog.recordFailure(row);
  return { key, status: 'failed', errorType, error, written: { assets: 0, pointers: 0, catalogRows: same ? 0 : 1 } };
}

/** Step Functions' Cause of a Lambda error is the JSON `{errorType, errorMessage, trace}`; of a States.* error, plain text. */
export function describeCaught(caught: CaughtError | undefined): { errorType: string; error: string } {
  const errorType = caught?.Error ?? 'Unknown';
  let error = caught?.Cause ?? '';
  try {
    const cause = JSON.parse(error) as { errorMessage?: unknown };
    if (typeof cause?.errorMessage === 'string') error = cause.errorMessage;
  } catch {
    // plain-text cause
  }
  return { errorType, error: (error || errorType).slice(0, MAX_REASON) };
}
