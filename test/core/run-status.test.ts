/** Where a run stands, and its failures grouped by reason (what `status` and the report show). */
import { describe, expect, it } from 'vitest';
import type { ItemOutcome } from '../../src/core/item';
import { failureGroups, type ItemCounts, isFinished, itemsDone, type RunStatus } from '../../src/core/run-status';

const failed = (key: string, reason: ItemOutcome['reason'], error: string, errorType = 'PhotoError'): ItemOutcome => ({ key, status: 'failed', errorType, error, reason, written: { assets: 0, pointers: 0, catalogRows: 1 } });
const done = (key: string): ItemOutcome => ({ key, status: 'resized', written: { assets: 5, pointers: 5, catalogRows: 5 } });

describe('failureGroups', () => {
  it('groups the failed photos by reason, most frequent first, each with its count, up to three keys and the first one\'s error', () => {
    const outcomes = [
      done('ok.jpg'),
      failed('a.jpg', 'corrupt', 'cannot decode: VipsJpeg: premature end of JPEG file'),
      failed('b.png', 'too-large', 'too large: 60000x60000 is 3600000000 pixels, limit is 100000000'),
      failed('c.jpg', 'corrupt', 'cannot decode: VipsJpeg: bogus marker length'),
      failed('d.jpg', 'corrupt', 'cannot decode: image has no dimensions'),
      failed('e.jpg', 'corrupt', 'cannot decode: VipsJpeg: premature end of JPEG file'),
      failed('f.txt', 'not-an-image', 'not an image: unrecognised file format'),
    ];
    expect(failureGroups(outcomes)).toEqual([
      { reason: 'corrupt', count: 4, keys: ['a.jpg', 'c.jpg', 'd.jpg'], example: 'cannot decode: VipsJpeg: premature end of JPEG file' },
      // Equal counts: by reason.
      { reason: 'not-an-image', count: 1, keys: ['f.txt'], example: 'not an image: unrecognised file format' },
      { reason: 'too-large', count: 1, keys: ['b.png'], example: 'too large: 60000x60000 is 3600000000 pixels, limit is 100000000' },
    ]);
    expect(failureGroups(outcomes, 1)[0]!.keys).toEqual(['a.jpg']);
  });

  it('groups messages that differ, and outcomes of an older version by the reason their error name gives', () => {
    const outcomes = [
      failed('a.jpg', undefined, 'cannot decode: x'),
      failed('b.jpg', undefined, 'too large: 9 bytes'),
      failed('c.jpg', undefined, 'the task dedupe did not finish within 25 s', 'States.Timeout'),
      failed('d.jpg', undefined, 'Lambda.Unknown: out of memory', 'Lambda.Unknown'),
    ];
    expect(failureGroups(outcomes).map((group) => [group.reason, group.count])).toEqual([
      ['unclassified', 2],
      ['internal', 1],
      ['timeout', 1],
    ]);
  });

  it('is empty when nothing failed', () => {
    expect(failureGroups([done('a.jpg'), done('b.jpg')])).toEqual([]);
  });
});

describe('run status', () => {
  const counts = (values: Partial<ItemCounts>): ItemCounts => ({ pending: 0, running: 0, succeeded: 0, failed: 0, timedOut: 0, aborted: 0, total: 0, resultsWritten: 0, ...values });
  const status = (value: RunStatus['status']): RunStatus => ({ executionArn: 'arn', name: 'n', status: value });

  it('is finished once the execution has ended, whichever way (PENDING_REDRIVE is not: it is about to run again)', () => {
    expect(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'].map((s) => isFinished(status(s as RunStatus['status'])))).toEqual([true, true, true, true]);
    expect(isFinished(status('RUNNING'))).toBe(false);
    expect(isFinished(status('PENDING_REDRIVE'))).toBe(false);
  });

  it('counts the items whose child execution ended, whichever way', () => {
    expect(itemsDone(counts({ pending: 7, running: 3, succeeded: 10, failed: 2, timedOut: 1, aborted: 1, total: 24 }))).toBe(14);
  });
});
