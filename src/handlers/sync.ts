/**
 * Live sync (S3 ObjectCreated / ObjectRemoved on the source bucket): each key of the notification is
 * reconciled with the bucket through the same steps the state machine runs. A retryable error is
 * thrown after the other keys are done, so Lambda retries the event (then sends it to the dead-letter
 * queue); reconciling a key twice writes nothing new.
 */
import { objectEvents, type S3Event } from '../core/s3-events';
import { SYNC_RUN_ID, type SyncOutcome, syncObject } from '../core/sync';
import { type ContextSource, lambdaContext } from './context';

export const makeSyncHandler =
  (context: ContextSource = lambdaContext) =>
  async (event: S3Event): Promise<SyncOutcome[]> => {
    const outcomes: SyncOutcome[] = [];
    const errors: unknown[] = [];
    for (const object of objectEvents(event)) {
      await syncObject(context(), object, SYNC_RUN_ID).then((outcome) => outcomes.push(outcome), (error: unknown) => errors.push(error));
    }
    if (errors.length > 0) throw errors[0];
    return outcomes;
  };

export const handler = makeSyncHandler();
