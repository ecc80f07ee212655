/**
 * What every handler tells about its work, with Powertools for AWS Lambda: one structured JSON log
 * line per photo and step (the key, the execution, what was written, how long it took — never photo
 * bytes) and CloudWatch metrics in Embedded Metric Format (namespace `photo-scaler`):
 *
 *   PhotosProcessed  a photo reached its end state (resized, duplicate, unchanged or failed); FindUnchanged
 *                    counts the unchanged photos of its batch
 *   DedupeHits       … as a duplicate of content already in the library
 *   PhotosFailed     … recorded FAILED; dimension `reason` (src/core/errors.ts FAILURE_REASONS)
 *   CropsWritten     crops rendered and stored by Resize
 *   BytesIn          bytes of originals read
 *   BytesOut         bytes of assets written
 *   ResizeDuration   milliseconds of one Resize (decode, every preset, store)
 *
 * On Lambda both go to stdout (CloudWatch Logs turns the EMF lines into metrics). Locally a sink
 * receives the same lines: the local stack appends them to a file under the data dir.
 */
import type { Context } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { BatchEvent, TriagedItem } from '../core/find-unchanged';
import { type ItemEvent, type ItemOutcome, keyOfItem } from '../core/item';

export const SERVICE = 'photo-scaler';
export const NAMESPACE = 'photo-scaler';

/** Where log and EMF lines go instead of stdout (the local stack's log file). */
export type LogSink = (line: string) => void;

export interface Telemetry {
  sink?: LogSink;
}


/** How many causes deep an error's chain is logged (a cycle in the chain ends it too). */
export const MAX_CAUSE_DEPTH = 5;

/**
 * An error as a log line carries it: name, message, stack, its own fields (an SDK error's `code`,
 * `$metadata`, `$fault`…) and its cause, recursively, at most MAX_CAUSE_DEPTH deep. `JSON.stringify`
 * alone keeps only an error's own enumerable fields (`{"name":"TransientError"}`).
 */
export function loggableError(error: Error, depth = 0, seen: Set<unknown> = new Set()): Record<string, unknown> {
  seen.add(error);
  const { name, message, stack, cause, ...fields } = error as Error & Record<string, unknown>;
  const logged: Record<string, unknown> = { name, message, stack, ...fields };
  if (cause === undefined) return logged;
  if (!(cause instanceof Error)) logged.cause = cause;
  else if (seen.has(cause)) logged.cause = `[cycle: ${cause.name}]`;
  else if (depth + 1 >= MAX_CAUSE_DEPTH) logged.cause = `[${cause.name}: ${cause.message} — causes deeper than ${MAX_CAUSE_DEPTH} not logged]`;
  else logged.cause = loggableError(cause, depth + 1, seen);
  return logged;
}

/**
 * The JSON replacer of every log line, on Lambda and locally: Powertools calls it before its own
 * rules (Logger `jsonReplacerFn`: https://docs.aws.amazon.com/powertools/typescript/2.30.0/api/types/_aws-lambda-powertools_logger.types.CustomJsonReplacerFn.html),
 * whose error formatting would follow an unbounded chain of causes.
 */
function replaceErrors(_key: string, value: unknown): unknown {
  return value instanceof Error ? loggableError(value) : value;
}

/** A Logger that prints to its sink when it has one (Powertools prints to stdout). */
class SinkLogger extends Logger {
  sink?: LogSink;

  protected override createLogger(options?: ConstructorParameters<typeof Logger>[0]): Logger {
    return new SinkLogger(options);
  }

  protected override printLog(level: number, log: Parameters<Logger['printLog']>[1]): void {
    // One line per log item, through the same replacer Powertools' own printLog uses.
    if (this.sink) this.sink(JSON.stringify(log.getAttributes(), this.getJsonReplacer()));
    else super.printLog(level, log);
  }
}

/** The one Logger of the process: never given keys of an invocation itself (see makeLogger). */
export const logger = new SinkLogger({ serviceName: SERVICE, jsonReplacerFn: replaceErrors });

/**
 * A logger for one invocation: a child of the module's logger with the invocation's keys as its
 * persistent keys. Handlers run concurrently in one local process: the keys of one invocation live on
 * its own child and never reach another's lines.
 */
export function makeLogger(step: string, telemetry: Telemetry = {}, keys: Record<string, unknown> = {}): Logger {
  const child = logger.createChild({ persistentKeys: { step, ...keys } }) as SinkLogger;
  child.sink = telemetry.sink;
  return child;
}

/** Metrics of one invocation, flushed with `flush`. */
export class StepMetrics {
  private readonly metrics: Metrics;
  private readonly failures: Metrics[] = [];

  constructor(
    readonly step: string,
    private readonly telemetry: Telemetry = {},
  ) {
    this.metrics = this.make();
  }

  private make(): Metrics {
    return new Metrics({ namespace: NAMESPACE, serviceName: SERVICE, defaultDimensions: { step: this.step } });
  }

  /** Photos that reached their end state in this step without an outcome of their own (FindUnchanged). */
  processed(count: number): void {
    if (count > 0) this.metrics.addMetric('PhotosProcessed', MetricUnit.Count, count);
  }

  /** The metrics an outcome stands for; `ms` is how long this step took. */
  record(outcome: ItemOutcome, ms: number): void {
    const add = (name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number | undefined) => {
      if (value !== undefined && value > 0) this.metrics.addMetric(name, unit, value);
    };
    if (outcome.status !== 'needs-resize') add('PhotosProcessed', MetricUnit.Count, 1);
    if (outcome.status === 'duplicate') add('DedupeHits', MetricUnit.Count, 1);
    add('CropsWritten', MetricUnit.Count, outcome.crops);
    add('BytesIn', MetricUnit.Bytes, outcome.bytesIn);
    add('BytesOut', MetricUnit.Bytes, outcome.bytesOut);
    if (this.step === 'resize' && outcome.status === 'resized') this.metrics.addMetric('ResizeDuration', MetricUnit.Milliseconds, ms);
    if (outcome.status === 'failed') {
      // Its own metric set: the reason is a dimension of this count only.
      const failure = this.make();
      failure.addDimension('reason', outcome.reason ?? 'internal');
      failure.addMetric('PhotosFailed', MetricUnit.Count, 1);
      this.failures.push(failure);
    }
  }

  flush(): void {
    for (const metrics of [this.metrics, ...this.failures]) {
      if (!metrics.hasStoredMetrics()) continue;
      if (this.telemetry.sink) {
        this.telemetry.sink(JSON.stringify(metrics.serializeMetrics()));
        metrics.clearMetrics();
      } else {
        metrics.publishStoredMetrics();
      }
    }
  }
}

/** Log keys of one photo: decoded key, source bucket and ETag, and the execution (runId). */
function photoKeys(event: ItemEvent): Record<string, unknown> {
  const key = event.item?.key === undefined ? undefined : keyOfItem(event.item);
  return { key, sourceBucket: event.item?.bucket, sourceEtag: event.item?.etag, execution: event.runId, retryCount: event.retryCount };
}

export type StepFunction = (event: ItemEvent) => Promise<ItemOutcome>;

/** What a step does with its answer once it has it: its metrics, its log line, its timed result. */
type Report<R> = (result: R, ms: number, logger: Logger, metrics: StepMetrics) => R;

/**
 * One invocation of a step with its logger (the invocation's keys), its metrics and its clock: the
 * answer goes through `report`; an error is logged (`onError` says what happens next) and rethrown
 * unchanged (the state machine's Retry and Catch decide); the metrics are flushed either way.
 */
async function observed<R>(step: string, telemetry: Telemetry, keys: Record<string, unknown>, lambdaContext: Context | undefined, work: () => Promise<R>, report: Report<R>, onError: string): Promise<R> {
  const logger = makeLogger(step, telemetry, keys);
  if (lambdaContext) logger.addContext(lambdaContext);
  const metrics = new StepMetrics(step, telemetry);
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
  try {
    const result = await work();
    return report(result, elapsed(), logger, metrics);
  } catch (error) {
    logger.warn(`${step}: error (${onError})`, { ms: elapsed(), error: error as Error });
    throw error;
  } finally {
    metrics.flush();
  }
}

/**
 * A Task of the state machine with logs and metrics around it: times the step, adds its duration to
 * the outcome's `timings` (so the run's results hold per-photo times), logs the outcome or the error
 * (rethrown unchanged: the state machine's Retry and Catch decide), and flushes the metrics.
 */
export function observeStep(step: string, run: StepFunction, telemetry: Telemetry = {}) {
  return (event: ItemEvent, lambdaContext?: Context): Promise<ItemOutcome> =>
    observed(step, telemetry, photoKeys(event), lambdaContext, () => run(event), (outcome, ms, logger, metrics) => {
      // A sources run: the copy's figures ride on the item (Fetch's result) into every outcome.
      const copied = outcome.copied ?? event.item?.copied;
      const timed: ItemOutcome = { ...outcome, timings: { ...event.outcome?.timings, ...outcome.timings, [step]: ms }, ...(copied ? { copied } : {}) };
      metrics.record(timed, ms);
      logger.info(`${step}: ${outcome.status}`, {
        status: outcome.status,
        ms,
        written: outcome.written,
        ...(outcome.duplicateOf ? { duplicateOf: outcome.duplicateOf } : {}),
        ...(outcome.bytesIn !== undefined ? { bytesIn: outcome.bytesIn } : {}),
        ...(outcome.bytesOut !== undefined ? { bytesOut: outcome.bytesOut } : {}),
        ...(outcome.status === 'failed' ? { errorType: outcome.errorType, error: outcome.error, reason: outcome.reason } : {}),
      });
      return timed;
    }, 'the state machine retries or catches it');
}

export type BatchStepFunction = (event: BatchEvent) => Promise<TriagedItem[]>;

/**
 * The batch-level FindUnchanged Task with logs and metrics around it: one log line for the batch (how
 * many of its photos end here, the execution, how long), `PhotosProcessed` for those photos, and the
 * step's duration in each of their outcomes' `timings` (as observeStep does for a photo's step).
 */
export function observeBatchStep(step: string, run: BatchStepFunction, telemetry: Telemetry = {}) {
  return (event: BatchEvent, lambdaContext?: Context): Promise<TriagedItem[]> =>
    observed(step, telemetry, { execution: event?.runId, items: Array.isArray(event?.items) ? event.items.length : undefined }, lambdaContext, () => run(event), (items, ms, logger, metrics) => {
      const unchanged = items.filter((item) => item.unchanged).length;
      metrics.processed(unchanged);
      logger.info(`${step}: ${unchanged} of ${items.length} unchanged`, { unchanged, ms });
      return items.map((item) => (item.unchanged ? { ...item, unchanged: { ...item.unchanged, timings: { ...item.unchanged.timings, [step]: ms } } } : item));
    }, 'the state machine sends the batch to Dedupe');
}
