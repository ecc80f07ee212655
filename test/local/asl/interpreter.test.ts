import { describe, expect, it } from 'vitest';
import { startExecution, type ExecutionEvent, type StateMachineDefinition } from '../../../src/local/asl';
import { MemoryStore } from '../../helpers/memory-store';

class TransientError extends Error {
  override name = 'TransientError';
}
class PhotoError extends Error {
  override name = 'PhotoError';
}

const fn = (name: string) => ({ 'Fn::GetAtt': [name, 'Arn'] });
const run = (definition: unknown, input: unknown, tasks: Record<string, (e: any) => Promise<unknown>>, events: ExecutionEvent[] = []) =>
  startExecution({ definition: definition as StateMachineDefinition, input, tasks, store: new MemoryStore(), timeScale: 0, random: () => 0.5, onEvent: (e) => events.push(e) });

describe('Task, Retry and Catch', () => {
  const machine = {
    StartAt: 'Work',
    States: {
      Work: {
        Type: 'Task',
        Resource: fn('work'),
        Parameters: { 'value.$': '$.value', 'execution.$': '$$.Execution.Name', fixed: 'x' },
        ResultSelector: { 'doubled.$': '$.doubled' },
        ResultPath: '$.result',
        Retry: [{ ErrorEquals: ['TransientError'], IntervalSeconds: 1, BackoffRate: 2, MaxAttempts: 2, MaxDelaySeconds: 10, JitterStrategy: 'FULL' }],
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Caught' }],
        End: true,
      },
      Caught: { Type: 'Pass', OutputPath: '$.error', End: true },
    },
  };

  it('passes Parameters (with the context object) and places the selected result at ResultPath', async () => {
    let seen: unknown;
    const result = await run(machine, { value: 21, keep: true }, { work: async (event) => ((seen = event), { doubled: event.value * 2, noise: 1 }) });
    expect(seen).toEqual({ value: 21, execution: expect.any(String), fixed: 'x' });
    expect(result).toMatchObject({ status: 'SUCCEEDED', output: { value: 21, keep: true, result: { doubled: 42 } } });
  });

  it('tells a retried task its $$.State.RetryCount', async () => {
    const counting = { StartAt: 'Work', States: { Work: { Type: 'Task', Resource: fn('work'), Parameters: { 'n.$': '$$.State.RetryCount' }, Retry: [{ ErrorEquals: ['TransientError'], MaxAttempts: 3 }], End: true } } };
    const seen: number[] = [];
    const result = await run(counting, {}, { work: async (event) => (seen.push(event.n), seen.length < 3 ? Promise.reject(new TransientError('x')) : 'ok') });
    expect(result.output).toBe('ok');
    expect(seen).toEqual([0, 1, 2]);
  });

  it('retries a transient error with backoff, then succeeds', async () => {
    let calls = 0;
    const events: ExecutionEvent[] = [];
    const result = await run(machine, { value: 1 }, { work: async () => (++calls < 3 ? Promise.reject(new TransientError('SlowDown')) : { doubled: 2 }) }, events);
    expect(calls).toBe(3);
    expect(result.status).toBe('SUCCEEDED');
    expect(events.filter((e) => e.type === 'retry')).toEqual([
      { type: 'retry', state: 'Work', error: 'TransientError', attempt: 1, delayMs: 500 },
      { type: 'retry', state: 'Work', error: 'TransientError', attempt: 2, delayMs: 1000 },
    ]);
  });

  it('after MaxAttempts, or for an error no Retry names, goes to the Catch with {Error, Cause} as Lambda reports it', async () => {
    let calls = 0;
    const exhausted = await run(machine, { value: 1 }, { work: async () => (calls++, Promise.reject(new TransientError('still busy'))) });
    expect(calls).toBe(3);
    expect(exhausted.output).toMatchObject({ Error: 'TransientError' });
    expect(JSON.parse((exhausted.output as { Cause: string }).Cause)).toMatchObject({ errorType: 'TransientError', errorMessage: 'still busy' });

    calls = 0;
    const permanent = await run(machine, { value: 1 }, { work: async () => (calls++, Promise.reject(new PhotoError('corrupt'))) });
    expect(calls).toBe(1);
    expect(permanent.output).toMatchObject({ Error: 'PhotoError' });
  });

  it('fails the execution when nothing catches', async () => {
    const bare = { StartAt: 'Work', States: { Work: { Type: 'Task', Resource: fn('work'), End: true } } };
    expect(await run(bare, {}, { work: async () => Promise.reject(new PhotoError('corrupt')) })).toMatchObject({ status: 'FAILED', error: 'PhotoError' });
  });

  it('times out a task after TimeoutSeconds with States.Timeout', async () => {
    const slow = { StartAt: 'Work', States: { Work: { Type: 'Task', Resource: fn('work'), TimeoutSeconds: 0.05, End: true } } };
    expect(await run(slow, {}, { work: () => new Promise((resolve) => setTimeout(resolve, 500)) })).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
  });
});

describe('Choice and Pass', () => {
  it('routes on rules and falls back to Default', async () => {
    const machine = {
      StartAt: 'Route',
      States: {
        Route: {
          Type: 'Choice',
          Choices: [
            { Variable: '$.status', StringEquals: 'needs-resize', Next: 'Resize' },
            { And: [{ Variable: '$.n', IsPresent: true }, { Variable: '$.n', NumericGreaterThan: 10 }], Next: 'Big' },
          ],
          Default: 'Other',
        },
        Resize: { Type: 'Pass', Result: 'resize', End: true },
        Big: { Type: 'Pass', Result: 'big', End: true },
        Other: { Type: 'Pass', Result: 'other', End: true },
      },
    };
    expect((await run(machine, { status: 'needs-resize' }, {})).output).toBe('resize');
    expect((await run(machine, { status: 'x', n: 11 }, {})).output).toBe('big');
    expect((await run(machine, { status: 'x' }, {})).output).toBe('other');
  });
});

describe('inline Map', () => {
  it('runs each item through the processor, never more than MaxConcurrency at once, results in order', async () => {
    let inFlight = 0;
    let peak = 0;
    const machine = {
      StartAt: 'Each',
      States: {
        Each: {
          Type: 'Map',
          ItemsPath: '$.items',
          ItemSelector: { 'value.$': '$$.Map.Item.Value', 'index.$': '$$.Map.Item.Index', 'tag.$': '$.tag' },
          MaxConcurrency: 3,
          ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: 'Work', States: { Work: { Type: 'Task', Resource: fn('work'), End: true } } },
          End: true,
        },
      },
    };
    const result = await run(machine, { items: [5, 6, 7, 8, 9, 10, 11], tag: 't' }, {
      work: async (event) => {
        peak = Math.max(peak, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 10));
        inFlight--;
        return `${event.tag}${event.index}:${event.value}`;
      },
    });
    expect(result.output).toEqual(['t0:5', 't1:6', 't2:7', 't3:8', 't4:9', 't5:10', 't6:11']);
    expect(peak).toBe(3);
  });
});

describe('validation before anything runs', () => {
  it('refuses a definition whose transitions or resources do not resolve', async () => {
    let called = false;
    const broken = { StartAt: 'A', States: { A: { Type: 'Task', Resource: fn('work'), Next: 'Nowhere' }, B: { Type: 'Task', Resource: fn('missing'), End: true } } };
    // Like CreateStateMachine, an invalid definition is refused: no execution starts.
    const attempt = run(broken, {}, { work: async () => (called = true) });
    await expect(attempt).rejects.toThrow(/Next "Nowhere" is not a state/);
    await expect(attempt).rejects.toThrow(/no local handler for Resource .*missing/);
    expect(called).toBe(false);
  });
});
