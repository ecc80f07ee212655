/** The RecordFailure Task of statemachines/migrate.asl.yaml: one photo in, its ItemOutcome out (logged and measured: observe.ts). */
import { recordFailure } from '../core/record-failure';
import type { ItemEvent, ItemOutcome } from '../core/item';
import { type ContextSource, lambdaContext } from './context';
import { observeStep, type Telemetry } from './observe';

export const makeRecordFailureHandler = (context: ContextSource = lambdaContext, telemetry: Telemetry = {}) =>
  observeStep('recordFailure', (event: ItemEvent): Promise<ItemOutcome> => recordFailure(context(), event), telemetry);

export const handler = makeRecordFailureHandler();
