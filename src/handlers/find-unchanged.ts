/** The FindUnchanged Task of statemachines/migrate.asl.yaml: one batch in, its items (the unchanged ones with their outcome) out. */
import { type BatchEvent, findUnchanged, type TriagedItem } from '../core/find-unchanged';
import { type ContextSource, lambdaContext } from './context';
import { observeBatchStep, type Telemetry } from './observe';

export const makeFindUnchangedHandler = (context: ContextSource = lambdaContext, telemetry: Telemetry = {}) =>
  observeBatchStep('findUnchanged', (event: BatchEvent): Promise<TriagedItem[]> => findUnchanged(context(), event), telemetry);

export const handler = makeFindUnchangedHandler();
