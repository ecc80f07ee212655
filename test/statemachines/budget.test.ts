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
import { retryDelayMs } from '../../src/local/asl/retry';
import { type AnyState, allStates, loadAslFile } from '../helpers/definition';

export const EXPRESS_LIMIT_SECONDS = 300;
/** Errors a slow attempt ends with: its Task's TimeoutSeconds (States.Timeout) or the function's own timeout. */
const TIMEOUT_ERRORS = ['States.Timeout', 'Sandbox.Timedout'];

interface Budget {
  /** Photos of one batch that run one after another (batch size / EachPhoto's MaxConcurrency, rounded up). */
  waves: number;
  /** One attempt of every step on the longest path of one photo, times the waves. */
  oneAttempt: number;
  /** The same with every timeout retried as often as the timeout retrier allows (each retry as slow as the first, plus its backoff). */
  timeoutsRetried: number;
  /** One attempt of every step plus the longest wait every retrier can add (each failing attempt quick). */
  quickFailuresRetried: number;
}

/** The longest of the paths from a state to the end of its machine, each state costing `cost`. */
function longestPath(machine: AnyState, cost: (state: AnyState) => number, from = machine.StartAt as string, seen = new Set<string>()): number {
  if (seen.has(from)) throw new Error(`a cycle through ${from}: no bound`);
  const state = machine.States[from] as AnyState;
  const next = new Set<string>([state.Next, state.Default, ...(state.Choices ?? []).map((c: AnyState) => c.Next), ...(state.Catch ?? []).map((c: AnyState) => c.Next)].filter(Boolean));
  const rest = Math.max(0, ...[...next].map((name) => longestPath(machine, cost, name, new Set([...seen, from]))));
  return cost(state) + rest;
}

/** Worst-case total wait of a retrier's MaxAttempts retries (FULL jitter waits at most the capped delay). */
function maxWaits(retrier: AnyState): number {
  return Array.from({ length: retrier.MaxAttempts ?? 3 }, (_, n) => retryDelayMs(retrier as never, n, () => 1) / 1000).reduce((a, b) => a + b, 0);
}

export function childBudget(definition: AnyState): Budget {
  const map = definition.States[definition.StartAt];
  const child = map.ItemProcessor;
  const eachPhoto = Object.values(child.States as Record<string, AnyState>).find((state) => state.Type === 'Map');
  if (!eachPhoto) throw new Error('the child has no Map of photos');
  const waves = Math.ceil(map.ItemBatcher.MaxItemsPerBatch / eachPhoto.MaxConcurrency);
  const photo = eachPhoto.ItemProcessor;
  const timeoutOf = (state: AnyState) => {
    if (state.Type !== 'Task') return 0;
    if (!(state.TimeoutSeconds > 0)) throw new Error(`Task without TimeoutSeconds: ${state.Comment}`);
    return state.TimeoutSeconds as number;
  };
  // The child's own states (FindUnchanged) run once; the photos' states once a wave.
  const overChild = (cost: (state: AnyState) => number) => longestPath(child, (state) => (state === eachPhoto ? waves * longestPath(photo, cost) : cost(state)));
  const timeoutRetries = (state: AnyState) => (state.Retry ?? []).filter((r: AnyState) => TIMEOUT_ERRORS.some((e) => r.ErrorEquals.includes(e)));
  const oneAttempt = overChild(timeoutOf);
  const timeoutsRetried = overChild((s) => {
    const retriers = timeoutRetries(s);
    return timeoutOf(s) * (1 + retriers.reduce((n: number, r: AnyState) => n + (r.MaxAttempts ?? 3), 0)) + retriers.reduce((t: number, r: AnyState) => t + maxWaits(r), 0);
  });
  const quickFailuresRetried = overChild((s) => timeoutOf(s) + (s.Retry ?? []).reduce((t: number, r: AnyState) => t + maxWaits(r), 0));
  return { waves, oneAttempt, timeoutsRetried, quickFailuresRetried };
}

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
