/**
 * What every handler tells about its work, with Powertools for AWS Lambda: one structured JSON log
 * line per photo and step (the key, the execution, what was written, how long it took — never photo
 * bytes) and CloudWatch metrics in Embedded Metric Format (namespace `photo-scaler`):
 *
 *   PhotosProcessed  a photo reached its end state (resized, duplicate, unchanged or failed)
 *   DedupeHits       … as a duplicate of content already in the library
 *   PhotosFailed     … recorded FAILED; dimension `reason` (the error type)
 *   CropsWritten     crops rendered and stored by Resize
 *   BytesIn          bytes of originals read
 *   BytesOut         bytes of assets written
 *   ResizeDuration   milliseconds of one Resize (decode, every preset, store)
 *
 * On Lambda both go to stdout (CloudWatch Logs turns the EMF lines into metrics). Locally a sink
 * receives the same lines: the local stack appends them to a file under the data dir.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { decodeInventoryKeyOrRaw } from '../core/inventory/keys';
import type { ItemEvent, ItemOutcome } from '../core/item';

export const SERVICE = 'photo-scaler';
export const NAMESPACE = 'photo-scaler';

/** Where log and EMF lines go instead of stdout (the local stack's log file). */
export type LogSink = (line: string) => void;

export interface Telemetry {
  sink?: LogSink;
}

/** The Lambda context fields the logs carry (Powertools adds them with addContext). */
interface LambdaContextLike {
  functionName: string;
  awsRequestId: string;
  [field: string]: unknown;
}

/** A Logger that prints to the sink when there is one (Powertools prints to stdout). */
class SinkLogger extends Logger {
  constructor(
    options: ConstructorParameters<typeof Logger>[0],
    private readonly sink: LogSink,
  ) {
    super(options);
  }

  protected override printLog(_level: number, log: Parameters<Logger['printLog']>[1]): void {
    this.sink(JSON.stringify(log.getAttributes()));
  }
}

/** A logger for one invocation (handlers run concurrently in one local process: no shared keys). */
export function makeLogger(step: string, telemetry: Telemetry = {}, keys: Record<string, unknown> = {}): Logger {
  const options = { serviceName: SERVICE, persistentKeys: { step, ...keys } };
  return telemetry.sink ? new SinkLogger(options, telemetry.sink) : new Logger(options);
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
      failure.addDimension('reason', outcome.errorType ?? 'Error');
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
  const key = event.item?.key === undefined ? undefined : decodeInventoryKeyOrRaw(event.item.key);
  return { key, sourceBucket: event.item?.bucket, sourceEtag: event.item?.etag, execution: event.runId, retryCount: event.retryCount };
}

export type StepFunction = (event: ItemEvent) => Promise<ItemOutcome>;

/**
 * A Task of the state machine with logs and metrics around it: times the step, adds its duration to
 * the outcome's `timings` (so the run's results hold per-photo times), logs the outcome or the error
 * (rethrown unchanged: the state machine's Retry and Catch decide), and flushes the metrics.
 */
export function observeStep(step: string, run: StepFunction, telemetry: Telemetry = {}) {
  return async (event: ItemEvent, lambdaContext?: LambdaContextLike): Promise<ItemOutcome> => {
    const logger = makeLogger(step, telemetry, photoKeys(event));
    if (lambdaContext) logger.addContext(lambdaContext as never);
    const metrics = new StepMetrics(step, telemetry);
    const started = performance.now();
    try {
      const outcome = await run(event);
      const ms = Math.round((performance.now() - started) * 10) / 10;
      const timed: ItemOutcome = { ...outcome, timings: { ...event.outcome?.timings, ...outcome.timings, [step]: ms } };
      metrics.record(timed, ms);
      logger.info(`${step}: ${outcome.status}`, {
        status: outcome.status,
        ms,
        written: outcome.written,
        ...(outcome.duplicateOf ? { duplicateOf: outcome.duplicateOf } : {}),
        ...(outcome.bytesIn !== undefined ? { bytesIn: outcome.bytesIn } : {}),
        ...(outcome.bytesOut !== undefined ? { bytesOut: outcome.bytesOut } : {}),
        ...(outcome.status === 'failed' ? { errorType: outcome.errorType, error: outcome.error } : {}),
      });
      return timed;
    } catch (error) {
      const ms = Math.round((performance.now() - started) * 10) / 10;
      logger.warn(`${step}: error (the state machine retries or catches it)`, { ms, error: error as Error });
      throw error;
    } finally {
      metrics.flush();
    }
  };
}
