/**
 * Reads what a run's ResultWriter wrote (manifest.json + SUCCEEDED_n / FAILED_n / PENDING_n files,
 * the same on AWS and locally) and sums it up per photo.
 */
import { causeMessage, type FailureReason, failureOf } from './errors';
import type { ItemOutcome, ItemStatus, Written } from './item';
import { addWritten, keyOfItem, NOTHING_WRITTEN } from './item';
import type { ObjectStore } from './ports';

/** `photo-scaler run --json` prints exactly these fields first (users' scripts depend on them). */
export interface RunSummary {
  items: number;
  succeeded: number;
  failed: number;
  duplicates: number;
  assets: number;
  pointers: number;
  catalogRows: number;
  /** `reason` (machine-readable, src/core/errors.ts FAILURE_REASONS) is an extension after `key` and `error`. */
  failures: Array<{ key: string; error: string; reason: FailureReason }>;
  /** Extensions (never renames): */
  unchanged: number;
  resized: number;
  /** Variant catalog rows written (`<preset>.<format>`, issue 18): present only when non-zero. */
  variants?: number;
  /** A sources run (issue 20): its copy phase. Present only for one. */
  copy?: CopySummary;
}

/** The copy phase of a sources run: what Fetch did, over every row. */
export interface CopySummary {
  /** Rows whose original was copied into the source bucket by this run. */
  fetched: number;
  /** Rows whose object was already there with the row's checksum: nothing fetched. */
  kept: number;
  /** Rows whose Fetch failed (each is also in `failures`, with its reason). */
  failed: number;
  /** Bytes copied. */
  bytes: number;
  /** Milliseconds of Fetch, summed over the rows (in parallel: more than the run took). */
  fetchMs: number;
  /** Fetch failures by reason. */
  failedByReason: Partial<Record<FailureReason, number>>;
}

export interface SummaryOptions {
  /** The run read a sources CSV: its summary has `copy` (a failed outcome without `copied` failed in Fetch). */
  sources?: boolean;
}

export interface ResultWriterDetails {
  Bucket: string;
  Key: string;
}

interface ResultManifest {
  ResultFiles?: Partial<Record<'SUCCEEDED' | 'FAILED' | 'PENDING', Array<{ Key: string }>>>;
}

interface ChildResult {
  Input?: string;
  Output?: string;
  Error?: string;
  Cause?: string;
}

export async function readRunOutcomes(store: ObjectStore, details: ResultWriterDetails): Promise<ItemOutcome[]> {
  const outcomes: ItemOutcome[] = [];
  for await (const outcome of runOutcomes(store, details)) outcomes.push(outcome);
  return outcomes;
}

/** Each photo's outcome, one result file in memory at a time (a run of any size). */
export async function* runOutcomes(store: ObjectStore, details: ResultWriterDetails): AsyncGenerator<ItemOutcome> {
  const manifest = await readJson<ResultManifest>(store, details.Bucket, details.Key);
  for (const file of manifest.ResultFiles?.SUCCEEDED ?? []) {
    for (const child of await readJson<ChildResult[]>(store, details.Bucket, file.Key)) {
      yield* JSON.parse(child.Output ?? '[]') as ItemOutcome[];
    }
  }
  for (const [status, files] of [['FAILED', manifest.ResultFiles?.FAILED], ['PENDING', manifest.ResultFiles?.PENDING]] as const) {
    for (const file of files ?? []) {
      for (const child of await readJson<ChildResult[]>(store, details.Bucket, file.Key)) {
        const error = status === 'PENDING' ? 'not processed: the run stopped first' : `${child.Error ?? 'Error'}: ${child.Cause ?? ''}`;
        const reason: FailureReason = status === 'PENDING' ? 'not-processed' : failureOf(child.Error ?? 'Error', causeMessage(child.Cause)).reason;
        yield* batchItems(child).map((key): ItemOutcome => ({ key, status: 'failed', errorType: child.Error ?? status, error, reason, written: NOTHING_WRITTEN }));
      }
    }
  }
}

/** The run's summary from its result files, streamed: only the failures are kept. */
export async function summarizeRun(store: ObjectStore, details: ResultWriterDetails, options: SummaryOptions = {}): Promise<RunSummary> {
  const summary = new SummaryBuilder(options);
  for await (const outcome of runOutcomes(store, details)) summary.add(outcome);
  return summary.result();
}

export function summarize(outcomes: Iterable<ItemOutcome>, options: SummaryOptions = {}): RunSummary {
  const summary = new SummaryBuilder(options);
  for (const outcome of outcomes) summary.add(outcome);
  return summary.result();
}

class SummaryBuilder {
  private items = 0;
  private readonly counts: Partial<Record<ItemStatus, number>> = {};
  private written: Written = NOTHING_WRITTEN;
  private readonly failures: RunSummary['failures'] = [];
  private readonly copy?: CopySummary;

  constructor(options: SummaryOptions = {}) {
    if (options.sources) this.copy = { fetched: 0, kept: 0, failed: 0, bytes: 0, fetchMs: 0, failedByReason: {} };
  }

  add(outcome: ItemOutcome): void {
    if (this.copy) {
      const copied = outcome.copied;
      if (copied) {
        if (copied.kept) this.copy.kept++;
        else this.copy.fetched++;
        this.copy.bytes += copied.bytes;
        this.copy.fetchMs += copied.ms;
      } else if (outcome.status === 'failed') {
        const reason = failureReasonOf(outcome);
        this.copy.failed++;
        this.copy.failedByReason[reason] = (this.copy.failedByReason[reason] ?? 0) + 1;
      }
    }
    this.items++;
    this.counts[outcome.status] = (this.counts[outcome.status] ?? 0) + 1;
    this.written = addWritten(this.written, outcome.written ?? NOTHING_WRITTEN);
    if (outcome.status === 'failed') this.failures.push({ key: outcome.key, error: outcome.error ?? outcome.errorType ?? 'failed', reason: failureReasonOf(outcome) });
  }

  result(): RunSummary {
    const count = (status: ItemStatus) => this.counts[status] ?? 0;
    return {
      items: this.items,
      succeeded: this.items - this.failures.length,
      failed: this.failures.length,
      duplicates: count('duplicate'),
      assets: this.written.assets,
      pointers: this.written.pointers,
      catalogRows: this.written.catalogRows,
      failures: this.failures,
      unchanged: count('unchanged'),
      resized: count('resized'),
      ...(this.written.variants ? { variants: this.written.variants } : {}),
      ...(this.copy ? { copy: this.copy } : {}),
    };
  }
}

/** A failed outcome's reason; one from a result file written before outcomes carried it, derived from its error name. */
export function failureReasonOf(outcome: Pick<ItemOutcome, 'reason' | 'errorType' | 'error'>): FailureReason {
  return outcome.reason ?? failureOf(outcome.errorType ?? 'Error', outcome.error ?? '').reason;
}

function batchItems(child: ChildResult): string[] {
  try {
    const input = JSON.parse(child.Input ?? '{}') as { Items?: Array<{ key?: string; url?: string }> };
    return (input.Items ?? []).map((item) => keyOfItem(item));
  } catch {
    return [];
  }
}

async function readJson<T>(store: ObjectStore, bucket: string, key: string): Promise<T> {
  const object = await store.get({ bucket, key });
  return JSON.parse(Buffer.from(object.body).toString('utf8')) as T;
}
