/**
 * The Catch target (the RecordFailure Lambda): the photo becomes a FAILED row with its reason, so
 * the run goes on and the failure stays queryable. An identical failure already recorded is not
 * rewritten (a rerun writes nothing).
 */
import { normalizeEtag } from './catalog-rows';
import { type StepContext, nowIso } from './context';
import { causeMessage, type FailureReason, failureOf } from './errors';
import { type CaughtError, type ItemEvent, type ItemOutcome, keyOfItem } from './item';
import { FAILURE, type FailureRow } from './ports';

const MAX_REASON = 1000;

export async function recordFailure(context: StepContext, event: ItemEvent): Promise<ItemOutcome> {
  const key = keyOfItem(event.item);
  const { errorType, error, reason } = describeCaught(event.error);
  const row: FailureRow = {
    sourceKey: key,
    preset: FAILURE,
    sourceBucket: event.item?.bucket ?? '',
    sourceEtag: normalizeEtag(event.item?.etag),
    errorType,
    error,
    reason,
    runId: event.runId,
    updatedAt: nowIso(context),
  };
  const previous = await context.catalog.failureFor(key);
  const same = previous !== undefined && previous.errorType === errorType && previous.error === error && previous.reason === reason && normalizeEtag(previous.sourceEtag) === row.sourceEtag;
  if (!same) await context.catalog.recordFailure(row);
  return { key, status: 'failed', errorType, error, reason, written: { assets: 0, pointers: 0, catalogRows: same ? 0 : 1 } };
}

/**
 * Step Functions' Cause of a Lambda error is the JSON `{errorType, errorMessage, trace}`; of a States.*
 * error, plain text. The reason comes from the error name and the message's mark (errors.ts failureOf).
 */
export function describeCaught(caught: CaughtError | undefined): { errorType: string; error: string; reason: FailureReason } {
  const errorType = caught?.Error ?? 'Unknown';
  const { reason, error } = failureOf(errorType, causeMessage(caught?.Cause));
  return { errorType, error: (error || errorType).slice(0, MAX_REASON), reason };
}
