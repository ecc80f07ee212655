import { describe, expect, it } from 'vitest';
import { type ExecutionEvent, startExecution, type StateMachineDefinition } from '../../../src/local/asl';
import { errorMatcherProblems, matchesError, RetryPolicy, retryDelayMs } from '../../../src/local/asl/retry';
import { MemoryStore } from '../../helpers/memory-store';

class TransientError extends Error {
  override name = 'TransientError';
}
class ContentBusy extends Error {
  override name = 'ContentBusy';
}

describe('retryDelayMs', () => {
  const retrier = { ErrorEquals: ['X'], IntervalSeconds: 1, BackoffRate: 2, MaxDelaySeconds: 5 };

  it('grows by BackoffRate and stops at MaxDelaySeconds', () => {
    expect([0, 1, 2, 3, 4].map((n) => retryDelayMs(retrier, n))).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect([0, 1, 2].map((n) => retryDelayMs({ ErrorEquals: ['X'], IntervalSeconds: 2, BackoffRate: 1.5 }, n))).toEqual([2000, 3000, 4500]);
  });

  it('defaults to IntervalSeconds 1 and BackoffRate 2, without a cap', () => {
    expect([0, 1, 5].map((n) => retryDelayMs({ ErrorEquals: ['X'] }, n))).toEqual([1000, 2000, 32000]);
  });

  it('with JitterStrategy FULL waits random() × that delay', () => {
    const full = { ...retrier, JitterStrategy: 'FULL' as const };
    expect(retryDelayMs(full, 2, () => 0.25)).toBe(1000);
    expect(retryDelayMs(full, 9, () => 0.5)).toBe(2500);
    expect(retryDelayMs(full, 0, () => 0)).toBe(0);
    expect(retryDelayMs({ ...retrier, JitterStrategy: 'NONE' }, 1, () => 0)).toBe(2000);
  });
});

describe('matchesError', () => {
  it('matches names, States.ALL and States.TaskFailed as Step Functions does', () => {
    expect(matchesError(['TransientError'], 'TransientError')).toBe(true);
    expect(matchesError(['TransientError'], 'PhotoError')).toBe(false);
    expect(matchesError(['A', 'PhotoError'], 'PhotoError')).toBe(true);
    expect(matchesError(['States.ALL'], 'PhotoError')).toBe(true);
    expect(matchesError(['States.ALL'], 'States.Timeout')).toBe(true);
    expect(matchesError(['States.TaskFailed'], 'PhotoError')).toBe(true);
    expect(matchesError(['States.TaskFailed'], 'States.Timeout')).toBe(false);
  });

  it('never matches the terminal States.Runtime and States.DataLimitExceeded', () => {
    for (const names of [['States.ALL'], ['States.Runtime'], ['States.TaskFailed']]) {
      expect(matchesError(names, 'States.Runtime')).toBe(false);
      expect(matchesError(names, 'States.DataLimitExceeded')).toBe(false);
    }
  });
});

describe('RetryPolicy', () => {
  it('counts attempts per retrier, MaxAttempts defaulting to 3', () => {
    const policy = new RetryPolicy([{ ErrorEquals: ['A'], MaxAttempts: 2 }, { ErrorEquals: ['States.ALL'] }]);
    const random = () => 0.5;
    expect(policy.next('A', random)).toEqual({ attempt: 1, delayMs: 1000 });
    expect(policy.next('B', random)).toEqual({ attempt: 1, delayMs: 1000 });
    expect(policy.next('A', random)).toEqual({ attempt: 2, delayMs: 2000 });
    // A's retrier is spent: the first matching retrier decides, the States.ALL one is not asked.
    expect(policy.next('A', random)).toBeUndefined();
    expect(policy.next('B', random)).toEqual({ attempt: 2, delayMs: 2000 });
    expect(policy.next('B', random)).toEqual({ attempt: 3, delayMs: 4000 });
    expect(policy.next('B', random)).toBeUndefined();
  });

  it('MaxAttempts 0 never retries', () => {
    expect(new RetryPolicy([{ ErrorEquals: ['A'], MaxAttempts: 0 }]).next('A', Math.random)).toBeUndefined();
  });
});

describe('errorMatcherProblems', () => {
  it('wants non-empty ErrorEquals, and States.ALL alone and last', () => {
    expect(errorMatcherProblems([{ ErrorEquals: ['A'] }, { ErrorEquals: ['States.ALL'] }], 'Retry')).toEqual([]);
    expect(errorMatcherProblems([{ ErrorEquals: [] }], 'Catch')).toEqual(['Catch[0].ErrorEquals must be a non-empty array of error names']);
    expect(errorMatcherProblems([{ ErrorEquals: ['States.ALL'] }, { ErrorEquals: ['A'] }], 'Retry')).toEqual(['Retry[0]: States.ALL must appear alone, in the last retrier']);
    expect(errorMatcherProblems([{ ErrorEquals: ['A', 'States.ALL'] }], 'Catch')).toEqual(['Catch[0]: States.ALL must appear alone, in the last catcher']);
  });
});

describe('Retry in an execution', () => {
  const machine = (retry: unknown[]) =>
    ({
      StartAt: 'Work',
      States: {
        Work: { Type: 'Task', Resource: { 'Fn::GetAtt': ['work', 'Arn'] }, Parameters: { 'retryCount.$': '$$.State.RetryCount' }, Retry: retry, End: true },
      },
    }) as unknown as StateMachineDefinition;

  async function execute(retry: unknown[], failures: Error[], options: { timeScale: number; random: () => number }) {
    const seen: number[] = [];
    const events: ExecutionEvent[] = [];
    const started = performance.now();
    const result = await startExecution({
      definition: machine(retry),
      input: {},
      tasks: {
        work: async (event) => {
          seen.push((event as { retryCount: number }).retryCount);
          const failure = failures.shift();
          if (failure) throw failure;
          return 'done';
        },
      },
      store: new MemoryStore(),
      ...options,
      onEvent: (event) => events.push(event),
    });
    return { result, seen, retries: events.filter((e) => e.type === 'retry'), elapsed: performance.now() - started };
  }

  it('waits the jittered backoff (scaled by timeScale), capped by MaxDelaySeconds, and tells the task its RetryCount', async () => {
    const randoms = [0.5, 1, 0.25, 1, 0.1];
    const retry = [{ ErrorEquals: ['TransientError'], IntervalSeconds: 1, BackoffRate: 2, MaxAttempts: 6, MaxDelaySeconds: 5, JitterStrategy: 'FULL' }];
    const { result, seen, retries, elapsed } = await execute(retry, Array.from({ length: 5 }, () => new TransientError('SlowDown')), { timeScale: 0.01, random: () => randoms.shift()! });
    expect(result).toMatchObject({ status: 'SUCCEEDED', output: 'done' });
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
    // Delays before jitter: 1, 2, 4, 5 (capped), 5 s; times the injected random numbers.
    expect(retries.map((e) => (e as { delayMs: number }).delayMs)).toEqual([500, 2000, 1000, 5000, 500]);
    expect(retries.map((e) => (e as { attempt: number }).attempt)).toEqual([1, 2, 3, 4, 5]);
    expect(retries[0]).toEqual({ type: 'retry', state: 'Work', error: 'TransientError', attempt: 1, delayMs: 500 });
    expect(elapsed).toBeGreaterThanOrEqual(90 - 5); // 9 000 ms of backoff × 0.01
  });

  it('gives up after MaxAttempts: MaxAttempts + 1 calls, then the execution fails with the last error', async () => {
    const retry = [{ ErrorEquals: ['ContentBusy'], IntervalSeconds: 2, BackoffRate: 1.5, MaxAttempts: 10, MaxDelaySeconds: 30, JitterStrategy: 'FULL' }];
    const { result, seen, retries } = await execute(retry, Array.from({ length: 20 }, () => new ContentBusy('twin is rendering')), { timeScale: 0, random: () => 1 });
    expect(seen).toHaveLength(11);
    expect(result).toMatchObject({ status: 'FAILED', error: 'ContentBusy' });
    const delays = retries.map((e) => (e as { delayMs: number }).delayMs);
    expect(delays).toEqual([2000, 3000, 4500, 6750, 10125, 15188, 22781, 30000, 30000, 30000]);
  });

  it('does not retry an error no retrier names', async () => {
    const { result, seen } = await execute([{ ErrorEquals: ['TransientError'] }], [new ContentBusy('x')], { timeScale: 0, random: () => 0 });
    expect(seen).toEqual([0]);
    expect(result).toMatchObject({ status: 'FAILED', error: 'ContentBusy' });
  });
});
