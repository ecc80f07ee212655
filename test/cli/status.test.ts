import { describe, expect, it } from 'vitest';
import { progressLine, renderStatus } from '../../src/cli/status';
import { summarize } from '../../src/core/run-results';
import { failureGroups, type ItemCounts, type RunStatus } from '../../src/core/run-status';

const arn = 'arn:aws:states:eu-west-1:123456789012:execution:photo-scaler-migrate-prod:inventory-2026-11-24T01-00Z-0123456789abcdef';
const counts = (values: Partial<ItemCounts>): ItemCounts => ({ pending: 0, running: 0, succeeded: 0, failed: 0, timedOut: 0, aborted: 0, total: 0, resultsWritten: 0, ...values });
const running: RunStatus = {
  executionArn: arn,
  name: 'inventory-2026-11-24T01-00Z-0123456789abcdef',
  status: 'RUNNING',
  startDate: '2026-11-24T01:00:00.000Z',
  mapRun: { arn: 'm', status: 'RUNNING', items: counts({ pending: 500, running: 100, succeeded: 390, failed: 10, total: 1000 }), childExecutions: counts({ total: 10 }) },
};

describe('status rendering', () => {
  it('draws a bar of items done with the counts by state', () => {
    expect(progressLine(running)).toBe(`${running.name} [############------------------] 400/1,000 items · pending 500 · running 100 · succeeded 390 · failed 10`);
    expect(progressLine({ ...running, mapRun: undefined })).toBe(`${running.name}: RUNNING, reading the inventory report…`);
  });

  it('sums up a finished run: photos, writes, failures by reason, how to redrive', () => {
    const outcomes = [
      { key: 'a.jpg', status: 'resized' as const, written: { assets: 5, pointers: 5, catalogRows: 5 } },
      { key: 'b.jpg', status: 'duplicate' as const, written: { assets: 0, pointers: 5, catalogRows: 5 } },
      { key: 'c.jpg', status: 'failed' as const, error: 'cannot decode: VipsJpeg: premature end of JPEG file', errorType: 'PhotoError', reason: 'corrupt' as const },
      { key: 'd.jpg', status: 'failed' as const, error: 'cannot decode: VipsJpeg: bogus marker length', errorType: 'PhotoError', reason: 'corrupt' as const },
      { key: 'e.png', status: 'failed' as const, error: 'too large: 40000x40000 is 1600000000 pixels, limit is 100000000', errorType: 'PhotoError', reason: 'too-large' as const },
    ];
    const results = { summary: summarize(outcomes as never), failureGroups: failureGroups(outcomes) };
    const failed: RunStatus = {
      ...running,
      status: 'FAILED',
      stopDate: '2026-11-24T02:05:03.000Z',
      error: 'States.ExceedToleratedFailureThreshold',
      redrive: { status: 'REDRIVABLE' },
      resultWriter: { Bucket: 'lib', Key: 'runs/x/manifest.json' } as never,
    };
    const text = renderStatus(failed, results);
    expect(text).toContain('  FAILED after 1 h 5 min (started 2026-11-24T01:00:00.000Z)');
    expect(text).toContain('  photos   2 done (resized 1, duplicates 1, unchanged 0), 3 recorded FAILED');
    expect(text).toContain('  wrote    5 assets, 10 pointers, 10 catalog rows');
    // One line per reason: its count, the first photo's error, and up to three keys.
    expect(text).toContain('  failures by reason:\n'
      + '         2  corrupt        cannot decode: VipsJpeg: premature end of JPEG file  (e.g. c.jpg, d.jpg)\n'
      + '         1  too-large      too large: 40000x40000 is 1600000000 pixels, limit is 100000000  (e.g. e.png)\n');
    expect(text).toContain(`  redrive  npx photo-scaler redrive ${arn}`);
    expect(renderStatus({ ...failed, redrive: { status: 'NOT_REDRIVABLE', reason: 'Execution is older than 14 days' } })).toContain('  redrive  not possible: Execution is older than 14 days');
  });
});
