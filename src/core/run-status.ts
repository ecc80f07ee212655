/**
 * Where a run stands: the execution, its Distributed Map's item counts, and once it has finished,
 * the per-photo results its ResultWriter wrote. Built from Step Functions on AWS (src/aws/sfn.ts);
 * shown by `photo-scaler status`.
 */
import type { ManifestRef } from './inventory/manifest';
import type { ItemOutcome } from './item';
import type { FailureReason } from './errors';
import { failureReasonOf, type ResultWriterDetails, type RunSummary } from './run-results';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';

/** Items (inventory rows) of the Map Run by the state of the child execution holding them. */
export interface ItemCounts {
  pending: number;
  running: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  aborted: number;
  total: number;
  resultsWritten: number;
}

export interface RunStatus {
  executionArn: string;
  name: string;
  status: ExecutionStatus;
  startDate?: string;
  stopDate?: string;
  error?: string;
  cause?: string;
  /** Step Functions' verdict on RedriveExecution, when the run has stopped. */
  redrive?: { status?: string; reason?: string; count?: number };
  /** From the execution input. */
  manifest?: ManifestRef;
  /** From the execution output, once the Map has written its results. */
  resultWriter?: ResultWriterDetails;
  mapRun?: { arn: string; status: string; items: ItemCounts; childExecutions: ItemCounts };
  /** A sources run (issue 20): the CSV of sources, from the execution input (instead of `manifest`). */
  sources?: ManifestRef;
}

export const FINISHED: ReadonlySet<ExecutionStatus> = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);

export function isFinished(status: RunStatus): boolean {
  return FINISHED.has(status.status);
}

/** Items whose child execution has ended, whichever way. */
export function itemsDone(counts: ItemCounts): number {
  return counts.succeeded + counts.failed + counts.timedOut + counts.aborted;
}

export interface FailureGroup {
  /** Machine-readable (src/core/errors.ts FAILURE_REASONS). */
  reason: FailureReason;
  count: number;
  /** Up to `examples` keys with this reason. */
  keys: string[];
  /** The error of the first of them, as recorded (what a person reads). */
  example: string;
}

/** Photos recorded FAILED, grouped by reason (most frequent first, then by reason). */
export function failureGroups(outcomes: Iterable<Pick<ItemOutcome, 'key' | 'status' | 'error' | 'errorType' | 'reason'>>, examples = 3): FailureGroup[] {
  const groups = new Map<FailureReason, FailureGroup>();
  for (const outcome of outcomes) {
    if (outcome.status !== 'failed') continue;
    const reason = failureReasonOf(outcome);
    const group = groups.get(reason) ?? { reason, count: 0, keys: [], example: outcome.error ?? outcome.errorType ?? 'failed' };
    group.count++;
    if (group.keys.length < examples) group.keys.push(outcome.key);
    groups.set(reason, group);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1));
}

/** The run's figures once finished: the summary of its results and its failures by reason. */
export interface RunResults {
  summary: RunSummary;
  failureGroups: FailureGroup[];
}
