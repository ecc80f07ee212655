/**
 * Live sync (S3 ObjectCreated / ObjectRemoved on the source bucket): each key of the notification is
 * reconciled with the bucket through the same steps the state machine runs. A retryable error is
 * thrown after the other keys are done, so Lambda retries the event (then sends it to the dead-letter
 * queue); reconciling a key twice writes nothing new.
 */
import { objectEvents, type S3Event } from '../core/s3-events';
import { SYNC_RUN_ID, type SyncOutcome, syncObject } from '../core/sync';
import { type ContextSource, lambdaContext } from './context';
import { makeLogger, StepMetrics, type Telemetry } from './observe';

export const makeSyncHandler =
  (context: ContextSource = lambdaContext, telemetry: Telemetry = {}) =>
  async (event: S3Event): Promise<SyncOutcome[]> => {
    const outcomes: SyncOutcome[] = [];
    const errors: unknown[] = [];
    for (const object of objectEvents(event)) {
      const logger = makeLogger('sync', telemetry, { key: object.key, sourceBucket: object.bucket, event: object.eventName, sequencer: object.sequencer });
      const metrics = new StepMetrics('sync', telemetry);
      const started = performance.now();
      try {
        const outcome = await syncObject(context(), object, SYNC_RUN_ID);
        const ms = Math.round(performance.now() - started);
        if (outcome.status !== 'removed') metrics.record(outcome, ms);
        logger.info(`sync: ${outcome.status}`, {
          ms,
          ...(outcome.status === 'removed' ? { deleted: outcome.deleted, keptAssets: outcome.keptAssets } : { written: outcome.written, pruned: outcome.pruned, error: outcome.error }),
          ...(outcome.invalidated ? { invalidated: outcome.invalidated } : {}),
        });
        if (outcome.invalidationError) logger.warn('sync: the CDN could not be told; its copies expire with their lifetime', { invalidationError: outcome.invalidationError });
        outcomes.push(outcome);
      } catch (error) {
        logger.warn('sync: error (Lambda retries the event, then sends it to the dead-letter queue)', { error: error as Error });
        errors.push(error);
      } finally {
        metrics.flush();
      }
    }
    if (errors.length > 0) throw errors[0];
    return outcomes;
  };

export const handler = makeSyncHandler();
