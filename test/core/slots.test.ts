/** The one semaphore: the local Resize's CPU slots and the on-demand render gate hold it. */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { RenderGate } from '../../src/core/render-gate';
import { Slots } from '../../src/core/slots';

describe('Slots', () => {
  it('hands out at most `limit` at once, to the waiters in order of asking; a second release is a no-op', async () => {
    const slots = new Slots(2);
    const order: number[] = [];
    let holding = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const release = await slots.take();
        order.push(i);
        most = Math.max(most, ++holding);
        await sleep(3);
        holding--;
        release();
        release();
      }),
    );
    expect(most).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});

describe('RenderGate', () => {
  it('renders at most `limit` keys at once and once per key, counting the joiners', async () => {
    const gate = new RenderGate(2);
    const work = (value: string) => async () => {
      await sleep(5);
      return value;
    };
    const results = await Promise.all(['a', 'b', 'c', 'a', 'd', 'b'].map((key) => gate.run(key, work(key))));
    expect(results).toEqual(['a', 'b', 'c', 'a', 'd', 'b']);
    expect(gate.stats()).toEqual({ started: 4, joined: 2, running: 0, maxRunning: 2 });
    await expect(gate.run('e', async () => Promise.reject(new Error('bad')))).rejects.toThrow('bad');
    expect(gate.stats().running).toBe(0);
  });
});
