/** The Resize Task of statemachines/migrate.asl.yaml: one photo in, its ItemOutcome out (logged and measured: observe.ts). */
import { resize } from '../core/resize';
import type { ItemEvent, ItemOutcome } from '../core/item';
import { type ContextSource, lambdaContext } from './context';
import { observeStep, type Telemetry } from './observe';

export const makeResizeHandler = (context: ContextSource = lambdaContext, telemetry: Telemetry = {}) =>
  observeStep('resize', (event: ItemEvent): Promise<ItemOutcome> => resize(context(), event), telemetry);

export const handler = makeResizeHandler();
