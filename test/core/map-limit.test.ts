/** The one bounded-concurrency loop, in each of the ways its callers use it. */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { mapLimit } from '../../src/core/map-limit';

/** A task that records how many run at once, and finishes after `ms`. */
function meter() {
  let running = 0;
  const seen = { most: 0, started: [] as number[] };
  const task = async (value: number, ms = 5 + (value % 3) * 3): Promise<number> => {
    seen.started.push(value);
    running++;
    seen.most = Math.max(seen.most, running);
    await sleep(ms);
    running--;
    return value * 10;
  };
  return { seen, task };
}

describe('mapLimit', () => {
  it('runs at most `limit` at once, starts in order, and returns the results in the order of the items', async () => {
    const { seen, task } = meter();
    const items = Array.from({ length: 20 }, (_, i) => i);
    expect(await mapLimit(items, 4, (value) => task(value))).toEqual(items.map((i) => i * 10));
    expect(seen.most).toBe(4);
    expect(seen.started).toEqual(items);
  });

  it('with Infinity runs every item of an array at once', async () => {
    const { seen, task } = meter();
    await mapLimit([1, 2, 3, 4, 5, 6], Infinity, (value) => task(value));
    expect(seen.most).toBe(6);
  });

  it('stops at the first failure: nothing further starts, the running ones finish, the first failure is thrown', async () => {
    const { seen, task } = meter();
    const finished: number[] = [];
    const run = mapLimit(Array.from({ length: 10 }, (_, i) => i), 3, async (value) => {
      if (value === 2) throw new Error('two');
      if (value === 4) throw new Error('four');
      await task(value, 20);
      finished.push(value);
    });
    await expect(run).rejects.toThrow('two');
    // 2 failed while 0 and 1 ran: they finished, and 3 onwards never started (4's failure never came).
    expect(seen.started).toEqual([0, 1]);
    expect(finished.sort()).toEqual([0, 1]);
  });

  it('with settle runs every item and returns each outcome', async () => {
    const results = await mapLimit([1, 2, 3, 4], 2, async (value) => {
      if (value % 2 === 0) throw new Error(`even ${value}`);
      return value;
    }, { settle: true });
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([1, 'even 2', 3, 'even 4']);
  });

  it('starts nothing once `stopped` is true, and returns the results of the items it started', async () => {
    let stop = false;
    const results = await mapLimit(Array.from({ length: 10 }, (_, i) => i), 2, async (value) => {
      await sleep(5);
      if (value === 3) stop = true;
      return value;
    }, { stopped: () => stop });
    expect(results).toEqual([0, 1, 2, 3, 4]);
  });

  it('reads an async listing only as slots free up, and closes it when stopped early', async () => {
    let pulled = 0;
    let done = 0;
    let closed = false;
    async function* listing() {
      try {
        for (let i = 0; i < 100; i++) {
          pulled++;
          // Never more than `limit` taken beyond what has finished.
          expect(pulled - done).toBeLessThanOrEqual(3);
          yield i;
        }
      } finally {
        closed = true;
      }
    }
    await expect(mapLimit(listing(), 3, async (value) => {
      await sleep(2);
      done++;
      if (value === 10) throw new Error('ten');
    })).rejects.toThrow('ten');
    expect(pulled).toBeLessThan(15);
    expect(closed).toBe(true);
  });

  it('throws a failing source, whatever the mode', async () => {
    async function* failing() {
      yield 1;
      throw new Error('listing failed');
    }
    await expect(mapLimit(failing(), 2, async (value) => value)).rejects.toThrow('listing failed');
    await expect(mapLimit(failing(), 2, async (value) => value, { settle: true })).rejects.toThrow('listing failed');
  });

  it('refuses a limit that is not a whole number of at least 1, and an unlimited pool over a listing', async () => {
    for (const limit of [0, -1, 1.5, Number.NaN]) await expect(mapLimit([1], limit, async (v) => v), String(limit)).rejects.toThrow(RangeError);
    await expect(mapLimit(new Set([1]), Infinity, async (v) => v)).rejects.toThrow(RangeError);
    expect(await mapLimit([], 4, async (v) => v)).toEqual([]);
  });
});
