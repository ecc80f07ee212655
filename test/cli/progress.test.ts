/** One progress bar: `run`'s live bar and `status`'s line draw the same cells. */
import { describe, expect, it } from 'vitest';
import { bar, progressBar } from '../../src/cli/progress';
import { progressLine } from '../../src/cli/status';
import type { RunStatus } from '../../src/core/run-status';

describe('bar', () => {
  it('draws done of total as 30 cells, rounded; an empty total and overshoot stay 30 wide', () => {
    expect(bar(0, 10)).toBe(`[${'-'.repeat(30)}]`);
    expect(bar(400, 1000)).toBe(`[${'#'.repeat(12)}${'-'.repeat(18)}]`);
    expect(bar(10, 10)).toBe(`[${'#'.repeat(30)}]`);
    expect(bar(0, 0)).toBe(`[${'-'.repeat(30)}]`);
    expect(bar(12, 10)).toBe(`[${'#'.repeat(30)}]`);
    expect(bar(1, 4, 8)).toBe('[##------]');
  });

  it('is the bar of run\'s progress line on a terminal and of status\'s line', () => {
    const written: string[] = [];
    const terminal = { isTTY: true, write: (chunk: string) => written.push(chunk) > 0 };
    const stream = terminal as unknown as NodeJS.WriteStream;
    const progress = progressBar('upload ', stream);
    progress.update(3, 3);
    progress.done();
    expect(written[0]).toMatch(new RegExp(`^\\rupload  ${bar(3, 3).replace(/[[\]]/g, '\\$&')} 3/3 `));
    const items = { total: 1000, pending: 500, running: 100, succeeded: 390, failed: 10, timedOut: 0, aborted: 0 };
    const status = { name: 'run-1', status: 'RUNNING', mapRun: { items, childExecutions: items } } as unknown as RunStatus;
    expect(progressLine(status)).toContain(` ${bar(400, 1000)} 400/1,000 items`);
  });
});
