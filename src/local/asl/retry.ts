/** Retry and Catch matching, and the wait before a retry (backoff, MaxDelaySeconds, JitterStrategy FULL). */

export interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: 'FULL' | 'NONE';
}

export interface Catcher {
  ErrorEquals: string[];
  Next: string;
  ResultPath?: string | null;
}

export function matchesError(errorEquals: readonly string[], error: string): boolean {
  return errorEquals.some(
    (name) => name === error || (name === 'States.ALL' && error !== 'States.Runtime') || (name === 'States.TaskFailed' && !error.startsWith('States.')),
  );
}

/** Milliseconds to wait before retry number `retry` (0 = first retry) of this retrier. */
export function retryDelayMs(retrier: Retrier, retry: number, random: () => number = Math.random): number {
  const base = (retrier.IntervalSeconds ?? 1) * (retrier.BackoffRate ?? 2) ** retry;
  const capped = retrier.MaxDelaySeconds !== undefined ? Math.min(base, retrier.MaxDelaySeconds) : base;
  const seconds = retrier.JitterStrategy === 'FULL' ? random() * capped : capped;
  return seconds * 1000;
}
