/** The Dedupe Task of statemachines/migrate.asl.yaml: one photo in, its ItemOutcome out (logged and measured: observe.ts). */
import { dedupe } from '../core/dedupe';
import type { ItemEvent, ItemOutcome } from '../core/item';
import { type ContextSource, lambdaContext } from './context';
import { observeStep, type Telemetry } from './observe';

export const makeDedupeHandler = (context: ContextSource = lambdaContext, telemetry: Telemetry = {}) =>
  observeStep('dedupe', (event: ItemEvent): Promise<ItemOutcome> => dedupe(context(), event), telemetry);

export const handler = makeDedupeHandler();
