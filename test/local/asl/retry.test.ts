import { describe, expect, it } from 'vitest';
import { matchesError, retryDelayMs } from '../../../src/local/asl/retry';

describe('retryDelayMs', () => {
  const retrier = { ErrorEquals: ['X'], IntervalSeconds: 1, BackoffRate: 2, MaxDelaySeconds: 5 };

  it('grows exponentially and stops at MaxDelaySeconds', () => {
    expect([0, 1, 2, 3, 4].map((n) => retryDelayMs(retrier, n))).toEqual([1000, 2000, 4000, 5000, 5000]);
  });

  it('with JitterStrategy FULL waits a random part of that delay', () => {
    const full = { ...retrier, JitterStrategy: 'FULL' as const };
    expect(retryDelayMs(full, 2, () => 0.25)).toBe(1000);
    expect(retryDelayMs(full, 9, () => 0.5)).toBe(2500);
    expect(retryDelayMs(full, 0, () => 0)).toBe(0);
  });
});

describe('matchesError', () => {
  it('matches names, States.ALL and States.TaskFailed as Step Functions does', () => {
    expect(matchesError(['TransientError'], 'TransientError')).toBe(true);
    expect(matchesError(['TransientError'], 'PhotoError')).toBe(false);
    expect(matchesError(['States.ALL'], 'PhotoError')).toBe(true);
    expect(matchesError(['States.ALL'], 'States.Runtime')).toBe(false);
    expect(matchesError(['States.TaskFailed'], 'PhotoError')).toBe(true);
    expect(matchesError(['States.TaskFailed'], 'States.Timeout')).toBe(false);
  });
});
