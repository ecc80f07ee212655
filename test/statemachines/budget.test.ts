/**
 * The time budget of one EXPRESS child execution, computed from statemachines/migrate.asl.yaml itself
 * so that a later edit (a bigger batch, a longer timeout, another retrier) cannot break it silently.
 *
 * An Express workflow runs at most 5 minutes (Step Functions Developer Guide, "Standard vs. Express
 * Workflows"); a Distributed Map child that runs longer counts all its items as failed or timed out
 * (Developer Guide, "Tolerated failure threshold for Distributed Map state"), none with a failure row.
 */
import { describe, expect, it } from 'vitest';
import * as errors from '../../src/core/errors';
import { CONTENT_BUSY_PATIENCE } from '../../src/core/dedupe';
import { childBudget, EXPRESS_LIMIT_SECONDS, TIMEOUT_ERRORS } from '../helpers/budget';
import { type AnyState, allStates, loadAslFile } from '../helpers/definition';

export { EXPRESS_LIMIT_SECONDS } from '../helpers/budget';

const tasks = () => [...allStates(loadAslFile())].filter(([, state]) => state.Type === 'Task');

describe('the EXPRESS child fits its 5 minutes', () => {
  it('gives every Task of the child a TimeoutSeconds', () => {
    expect(tasks().map(([name]) => name.split('/').pop()).sort()).toEqual(['Dedupe', 'FindUnchanged', 'RecordFailure', 'Resize']);
    for (const [name, task] of tasks()) expect(task.TimeoutSeconds, name).toBeGreaterThan(0);
  });

  it('one attempt of every step of every photo of a batch takes well under 300 s (at most half)', () => {
    const budget = childBudget(loadAslFile());
    expect(budget.waves).toBe(1);
    expect(budget.oneAttempt).toBe(10 + 25 + 65 + 15);
    expect(budget.oneAttempt).toBeLessThanOrEqual(EXPRESS_LIMIT_SECONDS / 2);
  });

  it('still fits with every timeout retried, or with every retrier\'s longest backoff after quick failures', () => {
    const budget = childBudget(loadAslFile());
    expect(budget.timeoutsRetried).toBeLessThan(EXPRESS_LIMIT_SECONDS);
    expect(budget.quickFailuresRetried).toBeLessThan(EXPRESS_LIMIT_SECONDS);
  });

  it('the budget is computed, not assumed: a bigger batch, a longer timeout or a retried timeout break it', () => {
    const bigger = loadAslFile();
    bigger.States.ProcessInventory.ItemBatcher.MaxItemsPerBatch = 10; // the old 10 photos at 4 at once
    bigger.States.ProcessInventory.ItemProcessor.States.EachPhoto.MaxConcurrency = 4;
    expect(childBudget(bigger)).toMatchObject({ waves: 3, oneAttempt: 10 + 315 });

    const slower = loadAslFile();
    const photo = slower.States.ProcessInventory.ItemProcessor.States.EachPhoto.ItemProcessor;
    photo.States.Resize.TimeoutSeconds = 120;
    expect(childBudget(slower).oneAttempt).toBeGreaterThan(EXPRESS_LIMIT_SECONDS / 2);
    photo.States.Resize.TimeoutSeconds = 65;
    photo.States.Resize.Retry[0].MaxAttempts = 3;
    expect(childBudget(slower).timeoutsRetried).toBeGreaterThan(EXPRESS_LIMIT_SECONDS);

    const untimed = loadAslFile();
    delete untimed.States.ProcessInventory.ItemProcessor.States.EachPhoto.ItemProcessor.States.Dedupe.TimeoutSeconds;
    expect(() => childBudget(untimed)).toThrow(/Task without TimeoutSeconds/);
  });
});

describe('retry rules that can fire, and only those', () => {
  it('retries and catches the timeout names Lambda and Step Functions really report', () => {
    for (const [name, task] of tasks().filter(([name]) => !name.endsWith('/FindUnchanged'))) {
      const retried = task.Retry.flatMap((r: AnyState) => r.ErrorEquals);
      for (const error of [...TIMEOUT_ERRORS, 'Lambda.Unknown']) expect(retried.includes(error) || retried.includes('States.ALL'), `${name} retries ${error}`).toBe(true);
      if (!name.endsWith('/RecordFailure')) expect(task.Catch.flatMap((c: AnyState) => c.ErrorEquals), name).toEqual(['States.ALL']);
    }
  });

  it('names only errors that exist: Step Functions\' own, Lambda\'s, or an error class of src/core/errors.ts', () => {
    const ours = new Set(Object.values(errors).flatMap((value) => (typeof value === 'function' && value.prototype instanceof Error ? [new (value as new (m: string) => Error)('').name] : [])));
    for (const [name, task] of tasks()) {
      for (const error of task.Retry.flatMap((r: AnyState) => r.ErrorEquals)) {
        expect(/^(States|Lambda|Sandbox)\./.test(error) || ours.has(error), `${name}: ${error}`).toBe(true);
      }
    }
  });

  it('FindUnchanged is never a verdict: whatever it fails with, the batch goes on to EachPhoto (Dedupe decides)', () => {
    const [, task] = tasks().find(([name]) => name.endsWith('/FindUnchanged'))!;
    expect(task.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.findUnchangedError', Next: 'EachPhoto' }]);
    expect(task.Next).toBe('EachPhoto');
    expect(task.ResultPath).toBe('$.Items');
  });

  it('ContentBusy is retried on Dedupe only (only Dedupe throws it), more often than Dedupe\'s patience', () => {
    const busy = tasks().filter(([, task]) => task.Retry.some((r: AnyState) => r.ErrorEquals.includes('ContentBusy')));
    expect(busy.map(([name]) => name.split('/').pop())).toEqual(['Dedupe']);
    const retrier = busy[0]![1].Retry.find((r: AnyState) => r.ErrorEquals.includes('ContentBusy'));
    // Dedupe throws ContentBusy while $$.State.RetryCount < CONTENT_BUSY_PATIENCE, then renders itself:
    // with fewer attempts the last ContentBusy would be caught and the photo recorded FAILED.
    expect(CONTENT_BUSY_PATIENCE).toBeLessThan(retrier.MaxAttempts);
  });
});
