/**
 * Retry and Catch as Step Functions applies them: the first retrier whose ErrorEquals matches
 * decides (once its MaxAttempts are spent the error goes to Catch); waits grow by BackoffRate, stop
 * at MaxDelaySeconds, and with JitterStrategy FULL are a random part of that delay.
 */
import { States } from './errors';
import type { Catcher, Retrier } from './types';

export type { Catcher, Retrier } from './types';

export const RETRY_DEFAULTS = { IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2 } as const;

/** Errors no Retry or Catch can handle: the execution fails. */
const TERMINAL: ReadonlySet<string> = new Set([States.Runtime, States.DataLimitExceeded]);

export function isTerminal(error: string): boolean {
  return TERMINAL.has(error);
}

/** `States.ALL` matches any error; `States.TaskFailed` any but States.Timeout; never the terminal ones. */
export function matchesError(errorEquals: readonly string[], error: string): boolean {
  if (isTerminal(error)) return false;
  return errorEquals.some((name) => name === error || name === States.ALL || (name === States.TaskFailed && error !== States.Timeout));
}

/** Milliseconds to wait before retry number `retry` (0 = the first retry) of this retrier, before any timeScale. */
export function retryDelayMs(retrier: Retrier, retry: number, random: () => number = Math.random): number {
  const interval = retrier.IntervalSeconds ?? RETRY_DEFAULTS.IntervalSeconds;
  const backoff = retrier.BackoffRate ?? RETRY_DEFAULTS.BackoffRate;
  const grown = interval * backoff ** retry;
  const capped = retrier.MaxDelaySeconds !== undefined ? Math.min(grown, retrier.MaxDelaySeconds) : grown;
  const seconds = retrier.JitterStrategy === 'FULL' ? random() * capped : capped;
  return Math.round(seconds * 1000);
}

/** Tracks the attempts of one state entry: each retrier counts its own. */
export class RetryPolicy {
  private readonly used: number[];

  constructor(private readonly retriers: readonly Retrier[] = []) {
    this.used = retriers.map(() => 0);
  }

  /** The wait before the next attempt, or undefined when the error is not to be retried (any more). */
  next(error: string, random: () => number): { delayMs: number; attempt: number } | undefined {
    const index = this.retriers.findIndex((retrier) => matchesError(retrier.ErrorEquals, error));
    const retrier = this.retriers[index];
    if (!retrier || this.used[index]! >= (retrier.MaxAttempts ?? RETRY_DEFAULTS.MaxAttempts)) return undefined;
    const delayMs = retryDelayMs(retrier, this.used[index]!, random);
    this.used[index]!++;
    return { delayMs, attempt: this.used[index]! };
  }
}

export function findCatcher(catchers: readonly Catcher[] | undefined, error: string): Catcher | undefined {
  return (catchers ?? []).find((catcher) => matchesError(catcher.ErrorEquals, error));
}

/** Problems of a Retry or Catch list (for validation before a run). */
export function errorMatcherProblems(list: ReadonlyArray<{ ErrorEquals?: unknown }>, field: 'Retry' | 'Catch'): string[] {
  const problems: string[] = [];
  list.forEach((entry, index) => {
    const names = entry?.ErrorEquals;
    if (!Array.isArray(names) || names.length === 0 || names.some((name) => typeof name !== 'string')) {
      problems.push(`${field}[${index}].ErrorEquals must be a non-empty array of error names`);
      return;
    }
    if (names.includes(States.ALL) && (names.length > 1 || index !== list.length - 1)) {
      problems.push(`${field}[${index}]: States.ALL must appear alone, in the last ${field === 'Retry' ? 'retrier' : 'catcher'}`);
    }
  });
  return problems;
}
