/** The RecordFailure Task of statemachines/migrate.asl.yaml: one photo in, its ItemOutcome out. */
import { recordFailure } from '../core/record-failure';
import type { ItemEvent, ItemOutcome } from '../core/item';
import { type ContextSource, lambdaContext } from './context';

export const makeRecordFailureHandler =
  (context: ContextSource = lambdaContext) =>
  (event: ItemEvent): Promise<ItemOutcome> =>
    recordFailure(context(), event);

export const handler = makeRecordFailureHandler();
