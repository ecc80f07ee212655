/** What a run's ResultWriter wrote, read back and summed up: the same files on AWS and locally. */
import { describe, expect, it } from 'vitest';
import { PhotoError } from '../../src/core/errors';
import { encodeInventoryKey } from '../../src/core/inventory/keys';
import type { ItemOutcome } from '../../src/core/item';
import { describeCaught } from '../../src/core/record-failure';
import { failureReasonOf, readRunOutcomes, summarize, summarizeRun } from '../../src/core/run-results';
import { MemoryStore } from '../helpers/memory-store';

const written = (assets: number, pointers: number, catalogRows: number) => ({ assets, pointers, catalogRows });
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const items = (...keys: string[]) => JSON.stringify({ BatchInput: { runId: 'r' }, Items: keys.map((key) => ({ bucket: 'src', key: encodeInventoryKey(key) })) });

/** A PhotoError as RecordFailure turns it into an outcome (its Cause built as Lambda's runtime builds it). */
function failedOutcome(key: string, error: PhotoError): ItemOutcome {
  const caught = describeCaught({ Error: error.name, Cause: JSON.stringify({ errorType: error.name, errorMessage: error.message, trace: [] }) });
  return { key, status: 'failed', ...caught, written: written(0, 0, 1) };
}

/** A run's result files: two batches that succeeded (one with a failed photo), one that failed, one never run. */
async function resultFiles(): Promise<MemoryStore> {
  const store = new MemoryStore();
  const put = (key: string, value: unknown) => store.put({ bucket: 'lib', key }, json(value), {});
  await put('runs/r/x/manifest.json', {
    ResultFiles: {
      SUCCEEDED: [{ Key: 'runs/r/x/SUCCEEDED_0.json' }],
      FAILED: [{ Key: 'runs/r/x/FAILED_0.json' }],
      PENDING: [{ Key: 'runs/r/x/PENDING_0.json' }],
    },
  });
  await put('runs/r/x/SUCCEEDED_0.json', [
    {
      Input: items('a.jpg', 'b.jpg'),
      Output: JSON.stringify([
        { key: 'a.jpg', status: 'resized', written: written(5, 5, 5) },
        { key: 'b.jpg', status: 'duplicate', duplicateOf: 'a.jpg', written: written(0, 5, 5) },
      ]),
    },
    {
      Input: items('c d.jpg', 'e.jpg'),
      Output: JSON.stringify([
        failedOutcome('c d.jpg', new PhotoError('corrupt', 'cannot decode: VipsJpeg: premature end of JPEG file')),
        { key: 'e.jpg', status: 'unchanged', written: written(0, 0, 0) },
      ]),
    },
  ]);
  // The child execution of this batch failed (RecordFailure itself failed after its retries): its photos have no outcome.
  await put('runs/r/x/FAILED_0.json', [
    { Input: items('f g.jpg'), Error: 'States.Timeout', Cause: 'the task recordFailure did not finish within 15 s' },
  ]);
  await put('runs/r/x/PENDING_0.json', [{ Input: items('h.jpg') }]);
  return store;
}

describe('run results', () => {
  it('reads every photo\'s outcome: the batches\' outputs, then the photos of failed and pending batches as failed', async () => {
    const outcomes = await readRunOutcomes(await resultFiles(), { Bucket: 'lib', Key: 'runs/r/x/manifest.json' });
    expect(outcomes.map((o) => [o.key, o.status, o.reason])).toEqual([
      ['a.jpg', 'resized', undefined],
      ['b.jpg', 'duplicate', undefined],
      ['c d.jpg', 'failed', 'corrupt'],
      ['e.jpg', 'unchanged', undefined],
      // Keys decoded from the inventory's URL encoding.
      ['f g.jpg', 'failed', 'timeout'],
      ['h.jpg', 'failed', 'not-processed'],
    ]);
    expect(outcomes.find((o) => o.key === 'f g.jpg')).toMatchObject({ errorType: 'States.Timeout', error: 'States.Timeout: the task recordFailure did not finish within 15 s' });
    expect(outcomes.find((o) => o.key === 'h.jpg')).toMatchObject({ errorType: 'PENDING', error: 'not processed: the run stopped first' });
  });

  it('sums them up: the --json contract fields first and in order, each failure as key, error, then its reason', async () => {
    const summary = await summarizeRun(await resultFiles(), { Bucket: 'lib', Key: 'runs/r/x/manifest.json' });
    expect(Object.keys(summary)).toEqual(['items', 'succeeded', 'failed', 'duplicates', 'assets', 'pointers', 'catalogRows', 'failures', 'unchanged', 'resized']);
    expect(summary).toMatchObject({ items: 6, succeeded: 3, failed: 3, duplicates: 1, assets: 5, pointers: 10, catalogRows: 11, unchanged: 1, resized: 1 });
    expect(summary.failures).toEqual([
      { key: 'c d.jpg', error: 'cannot decode: VipsJpeg: premature end of JPEG file', reason: 'corrupt' },
      { key: 'f g.jpg', error: 'States.Timeout: the task recordFailure did not finish within 15 s', reason: 'timeout' },
      { key: 'h.jpg', error: 'not processed: the run stopped first', reason: 'not-processed' },
    ]);
    for (const failure of summary.failures) expect(Object.keys(failure)).toEqual(['key', 'error', 'reason']);
  });

  it('an outcome of an older version (no reason) gets the one its error name gives', () => {
    expect(failureReasonOf({ errorType: 'PhotoError', error: 'cannot decode: x' })).toBe('unclassified');
    expect(failureReasonOf({ errorType: 'TransientError', error: 'SlowDown' })).toBe('transient');
    expect(failureReasonOf({ errorType: 'PhotoError', error: 'x', reason: 'empty' })).toBe('empty');
    const summary = summarize([{ key: 'old.jpg', status: 'failed', errorType: 'Lambda.Unknown', error: 'out of memory', written: written(0, 0, 1) }]);
    expect(summary.failures).toEqual([{ key: 'old.jpg', error: 'out of memory', reason: 'internal' }]);
  });

  it('a failure without a message shows its error name', () => {
    const summary = summarize([{ key: 'x.jpg', status: 'failed', errorType: 'ContentBusy', written: written(0, 0, 0) }]);
    expect(summary.failures).toEqual([{ key: 'x.jpg', error: 'ContentBusy', reason: 'busy' }]);
    expect(summarize([])).toMatchObject({ items: 0, succeeded: 0, failed: 0, failures: [] });
  });
});
