/**
 * Stopping an execution (the executor's `signal`, as StopExecution): it ends ABORTED, no Retry or
 * Catch sees the stop, no waiting is waited out, no Task and no Distributed Map child starts after
 * it, the children running finish and the ResultWriter still writes what is known.
 */
import { describe, expect, it } from 'vitest';
import { startExecution, type StateMachineDefinition } from '../../../src/local/asl';
import { MemoryStore } from '../../helpers/memory-store';

class TransientError extends Error {
  override name = 'TransientError';
}

const fn = (name: string) => ({ 'Fn::GetAtt': [name, 'Arn'] });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function execute(definition: unknown, tasks: Record<string, (event: any) => Promise<unknown>>, signal: AbortSignal, store = new MemoryStore()) {
  return startExecution({ definition: definition as StateMachineDefinition, input: {}, tasks, intrinsics: { ResultsBucket: 'results' }, store, timeScale: 1, signal });
}

describe('a stopped execution', () => {
  it('does not wait out a retry (IntervalSeconds 60) and no Catch sees the stop: ABORTED at once', async () => {
    const stop = new AbortController();
    let calls = 0;
    const definition = {
      StartAt: 'Work',
      States: {
        Work: { Type: 'Task', Resource: fn('work'), Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 60, MaxAttempts: 5 }], Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }], End: true },
        Caught: { Type: 'Pass', End: true },
      },
    };
    const started = Date.now();
    const result = await execute(definition, { work: async () => (calls++, setTimeout(() => stop.abort(), 20), Promise.reject(new TransientError('busy'))) }, stop.signal);
    expect(result).toMatchObject({ status: 'ABORTED', error: 'ExecutionAborted' });
    expect(calls).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('does not wait out a Wait state and runs nothing after it', async () => {
    const stop = new AbortController();
    let ran = false;
    const definition = { StartAt: 'Pause', States: { Pause: { Type: 'Wait', Seconds: 60, Next: 'Work' }, Work: { Type: 'Task', Resource: fn('work'), End: true } } };
    setTimeout(() => stop.abort(), 20);
    const result = await execute(definition, { work: async () => (ran = true) }, stop.signal);
    expect(result).toMatchObject({ status: 'ABORTED', cause: expect.stringMatching(/Pause/) });
    expect(ran).toBe(false);
  });

  it('Distributed Map: children running finish, no new child starts, ResultWriter writes the finished ones and the rest PENDING', async () => {
    const stop = new AbortController();
    const store = new MemoryStore();
    const started: number[] = [];
    const definition = {
      StartAt: 'Run',
      States: {
        Run: {
          Type: 'Map',
          ItemsPath: '$.items',
          MaxConcurrency: 2,
          ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' }, StartAt: 'Work', States: { Work: { Type: 'Task', Resource: fn('work'), End: true } } },
          ResultWriter: { Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: 'results', Prefix: 'runs' } },
          End: true,
        },
      },
    };
    const result = await startExecution({
      definition: definition as StateMachineDefinition,
      input: { items: [0, 1, 2, 3, 4, 5, 6, 7] },
      tasks: {
        work: async (event: unknown) => {
          const n = event as number;
          started.push(n);
          if (n === 1) stop.abort();
          await sleep(30);
          return n;
        },
      },
      store,
      timeScale: 1,
      signal: stop.signal,
    });
    expect(result.status).toBe('ABORTED');
    expect(started.sort()).toEqual([0, 1]);
    const json = async (key: string) => JSON.parse(Buffer.from((await store.get({ bucket: 'results', key })).body).toString('utf8'));
    const manifest = await json(store.keys('results').find((k) => k.endsWith('/manifest.json'))!);
    const [succeeded, pending] = [manifest.ResultFiles.SUCCEEDED, manifest.ResultFiles.PENDING];
    expect(succeeded).toHaveLength(1);
    expect(pending).toHaveLength(1);
    expect((await json(succeeded[0].Key)).map((child: { Output: string }) => JSON.parse(child.Output)).sort()).toEqual([0, 1]);
    expect((await json(pending[0].Key)).map((child: { Input: string }) => JSON.parse(child.Input))).toEqual([2, 3, 4, 5, 6, 7]);
  });

  it('a Task asked to start after the stop is refused; a handler told the signal sees it aborted', async () => {
    const stop = new AbortController();
    let second = false;
    let seen: AbortSignal | undefined;
    const definition = { StartAt: 'First', States: { First: { Type: 'Task', Resource: fn('first'), Next: 'Second' }, Second: { Type: 'Task', Resource: fn('second'), End: true } } };
    const result = await startExecution({
      definition: definition as StateMachineDefinition,
      tasks: {
        first: Object.assign(async (_event: unknown, invocation?: { signal?: AbortSignal }) => ((seen = invocation?.signal), stop.abort(), 'ok')),
        second: async () => (second = true),
      },
      store: new MemoryStore(),
      signal: stop.signal,
    });
    expect(result).toMatchObject({ status: 'ABORTED', cause: expect.stringMatching(/before second started/) });
    expect(second).toBe(false);
    expect(seen?.aborted).toBe(true);
  });
});

describe('many states waiting at once on one stop signal', () => {
  it('raises no MaxListenersExceededWarning: one listener a sleeper (a 5,000-photo run printed one), each removed when it wakes', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const stop = new AbortController();
      const definition = {
        StartAt: 'Each',
        States: {
          Each: {
            Type: 'Map',
            ItemsPath: '$.items',
            MaxConcurrency: 0,
            ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: 'Nap', States: { Nap: { Type: 'Wait', Seconds: 0.05, End: true } } },
            End: true,
          },
        },
      };
      const result = await startExecution({ definition: definition as StateMachineDefinition, input: { items: Array.from({ length: 30 }, (_, i) => i) }, tasks: {}, store: new MemoryStore(), timeScale: 1, signal: stop.signal });
      expect(result.status).toBe('SUCCEEDED');
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });
});
