/**
 * The time budget of one EXPRESS child execution of a Distributed Map state machine, computed from its
 * definition (test/statemachines/budget.test.ts for migrate.asl.yaml, sources-definition.test.ts for
 * migrate-sources.asl.yaml).
 */
import { retryDelayMs } from '../../src/local/asl/retry';
import type { AnyState } from './definition';

export const EXPRESS_LIMIT_SECONDS = 300;
/** Errors a slow attempt ends with: its Task's TimeoutSeconds (States.Timeout) or the function's own timeout. */
export const TIMEOUT_ERRORS = ['States.Timeout', 'Sandbox.Timedout'];

interface Budget {
  /** Photos of one batch that run one after another (batch size / EachPhoto's MaxConcurrency, rounded up). */
  waves: number;
  /** One attempt of every step on the longest path of one photo, times the waves. */
  oneAttempt: number;
  /** The same with every timeout retried as often as the timeout retrier allows (each retry as slow as the first, plus its backoff). */
  timeoutsRetried: number;
  /** One attempt of every step plus the longest wait every retrier can add (each failing attempt quick). */
  quickFailuresRetried: number;
}

/** The longest of the paths from a state to the end of its machine, each state costing `cost`. */
function longestPath(machine: AnyState, cost: (state: AnyState) => number, from = machine.StartAt as string, seen = new Set<string>()): number {
  if (seen.has(from)) throw new Error(`a cycle through ${from}: no bound`);
  const state = machine.States[from] as AnyState;
  const next = new Set<string>([state.Next, state.Default, ...(state.Choices ?? []).map((c: AnyState) => c.Next), ...(state.Catch ?? []).map((c: AnyState) => c.Next)].filter(Boolean));
  const rest = Math.max(0, ...[...next].map((name) => longestPath(machine, cost, name, new Set([...seen, from]))));
  return cost(state) + rest;
}

/** Worst-case total wait of a retrier's MaxAttempts retries (FULL jitter waits at most the capped delay). */
function maxWaits(retrier: AnyState): number {
  return Array.from({ length: retrier.MaxAttempts ?? 3 }, (_, n) => retryDelayMs(retrier as never, n, () => 1) / 1000).reduce((a, b) => a + b, 0);
}

export function childBudget(definition: AnyState): Budget {
  const map = definition.States[definition.StartAt];
  const child = map.ItemProcessor;
  const eachPhoto = Object.values(child.States as Record<string, AnyState>).find((state) => state.Type === 'Map');
  if (!eachPhoto) throw new Error('the child has no Map of photos');
  const waves = Math.ceil(map.ItemBatcher.MaxItemsPerBatch / eachPhoto.MaxConcurrency);
  const photo = eachPhoto.ItemProcessor;
  const timeoutOf = (state: AnyState) => {
    if (state.Type !== 'Task') return 0;
    if (!(state.TimeoutSeconds > 0)) throw new Error(`Task without TimeoutSeconds: ${state.Comment}`);
    return state.TimeoutSeconds as number;
  };
  // The child's own states (migrate's FindUnchanged) run once; the photos' states once a wave.
  const overChild = (cost: (state: AnyState) => number) => longestPath(child, (state) => (state === eachPhoto ? waves * longestPath(photo, cost) : cost(state)));
  const timeoutRetries = (state: AnyState) => (state.Retry ?? []).filter((r: AnyState) => TIMEOUT_ERRORS.some((e) => r.ErrorEquals.includes(e)));
  const oneAttempt = overChild(timeoutOf);
  const timeoutsRetried = overChild((s) => {
    const retriers = timeoutRetries(s);
    return timeoutOf(s) * (1 + retriers.reduce((n: number, r: AnyState) => n + (r.MaxAttempts ?? 3), 0)) + retriers.reduce((t: number, r: AnyState) => t + maxWaits(r), 0);
  });
  const quickFailuresRetried = overChild((s) => timeoutOf(s) + (s.Retry ?? []).reduce((t: number, r: AnyState) => t + maxWaits(r), 0));
  return { waves, oneAttempt, timeoutsRetried, quickFailuresRetried };
}

