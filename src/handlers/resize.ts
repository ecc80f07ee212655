/** The Resize Task of statemachines/migrate.asl.yaml: one photo in, its ItemOutcome out. */
import { resize } from '../core/resize';
import type { ItemEvent, ItemOutcome } from '../core/item';
import { type ContextSource, lambdaContext } from './context';

export const makeResizeHandler =
  (context: ContextSource = lambdaContext) =>
  (event: ItemEvent): Promise<ItemOutcome> =>
    resize(context(), event);

export const handler = makeResizeHandler();
