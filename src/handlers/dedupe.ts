/** The Dedupe Task of statemachines/migrate.asl.yaml: one photo in, its ItemOutcome out. */
import { dedupe } from '../core/dedupe';
import type { ItemEvent, ItemOutcome } from '../core/item';
import { type ContextSource, lambdaContext } from './context';

export const makeDedupeHandler =
  (context: ContextSource = lambdaContext) =>
  (event: ItemEvent): Promise<ItemOutcome> =>
    dedupe(context(), event);

export const handler = makeDedupeHandler();
