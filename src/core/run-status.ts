/**
 * Where a run stands: the execution, its Distributed Map's item counts, and once it has finished,
 * the per-photo results its ResultWriter wrote. Built from Step Functions on AWS (src/aws/sfn.ts);
 * shown by `photo-scaler status`.
 */
import type { ManifestRef } from './inventory/manifest';
import type { ItemOutcome } from './item';
import type { ResultWriterDetails, RunSummary } from './run-results';

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
  reason: string;
  count: number;
  /** Up to `examples` keys with this reason. */
  keys: string[];
}

/**
 * Photos recorded FAILED, grouped by reason (most frequent first). Reasons that differ only by what
 * they name of the photo (its key, an S3 URL, a size) fall in one group.
 */
export function failureGroups(outcomes: readonly Pick<ItemOutcome, 'key' | 'status' | 'error' | 'errorType'>[], examples = 3): FailureGroup[] {
  const groups = new Map<string, FailureGroup>();
  for (const outcome of outcomes) {
    if (outcome.status !== 'failed') continue;
    const reason = reasonOf(outcome.error ?? outcome.errorType ?? 'failed', outcome.key);
    const group = groups.get(reason) ?? { reason, count: 0, keys: [] };
    group.count++;
    if (group.keys.length < examples) group.keys.push(outcome.key);
    groups.set(reason, group);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1));
}

function reasonOf(error: string, key: string): string {
  const general = (key ? error.split(key).join('<key>') : error)
    .replace(/s3:\/\/\S+/g, 's3://…')
    .replace(/\d+/g, 'N');
  return general.length > 160 ? `${general.slice(0, 159)}…` : general;
}

/** The run's figures once finished: the summary of its results and its failures by reason. */
export interface RunResults {
  summary: RunSummary;
  failureGroups: FailureGroup[];
}
