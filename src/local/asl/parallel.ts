/** The Parallel state: every branch on the same input at once; the first failure fails the state; results in branch order. */
import { executionContext } from './context';
import { applyTemplate } from './payload';
import { mapLimit } from '../../core/map-limit';
import type { ContextObject, ParallelState, RunMachine, Runtime } from './types';

export async function runParallel(state: ParallelState, effective: unknown, context: ContextObject, runtime: Runtime, run: RunMachine): Promise<unknown[]> {
  const input = state.Parameters !== undefined ? applyTemplate(state.Parameters, effective, context) : effective;
  const base = executionContext(context);
  return mapLimit(state.Branches, Infinity, (branch) => run(branch, input, base, runtime));
}
