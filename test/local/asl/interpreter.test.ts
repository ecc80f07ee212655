import { describe, expect, it } from 'vitest';
import { type ExecutionEvent, InvalidDefinition, startExecution, type StateMachineDefinition } from '../../../src/local/asl';
import { MemoryStore } from '../../helpers/memory-store';

class TransientError extends Error {
  override name = 'TransientError';
}
class PhotoError extends Error {
  override name = 'PhotoError';
}

type Handler = (event: any) => Promise<unknown>;
const fn = (name: string) => ({ 'Fn::GetAtt': [name, 'Arn'] });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function run(definition: unknown, input: unknown, tasks: Record<string, Handler> = {}, options: { events?: ExecutionEvent[]; name?: string; intrinsics?: Record<string, string>; timeScale?: number } = {}) {
  return startExecution({
    definition: definition as StateMachineDefinition,
    input,
    tasks,
    store: new MemoryStore(),
    timeScale: options.timeScale ?? 0,
    random: () => 0.5,
    name: options.name,
    intrinsics: options.intrinsics,
    onEvent: (e) => options.events?.push(e),
  });
}

const single = (state: Record<string, unknown>) => ({ StartAt: 'S', States: { S: { ...state, End: true } as Record<string, unknown> } });

describe('input and output processing', () => {
  it('InputPath → Parameters (with the context object) → handler → ResultSelector → ResultPath → OutputPath', async () => {
    let seen: unknown;
    const machine = single({
      Type: 'Task',
      Resource: fn('work'),
      InputPath: '$.payload',
      Parameters: {
        'value.$': '$.value',
        'execution.$': '$$.Execution.Name',
        'executionId.$': '$$.Execution.Id',
        'started.$': '$$.Execution.StartTime',
        'state.$': '$$.State.Name',
        'machine.$': '$$.StateMachine.Name',
        fixed: 'x',
      },
      ResultSelector: { 'doubled.$': '$.doubled', 'run.$': '$$.Execution.Name' },
      ResultPath: '$.payload.result',
      OutputPath: '$.payload',
    });
    const result = await run(machine, { payload: { value: 21 }, other: true }, { work: async (event) => ((seen = event), { doubled: event.value * 2, noise: 1 }) }, { name: 'run-42' });
    expect(seen).toEqual({
      value: 21,
      execution: 'run-42',
      executionId: 'arn:aws:states:local:000000000000:execution:photo-scaler-migrate-local:run-42',
      started: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      state: 'S',
      machine: 'photo-scaler-migrate-local',
      fixed: 'x',
    });
    expect(result).toEqual({
      executionArn: 'arn:aws:states:local:000000000000:execution:photo-scaler-migrate-local:run-42',
      status: 'SUCCEEDED',
      output: { value: 21, result: { doubled: 42, run: 'run-42' } },
    });
  });

  it('without Parameters the handler gets the effective input; ResultPath $ (default) replaces it', async () => {
    let seen: unknown;
    const result = await run(single({ Type: 'Task', Resource: fn('work') }), { a: 1 }, { work: async (e) => ((seen = e), { b: 2 }) });
    expect(seen).toEqual({ a: 1 });
    expect(result.output).toEqual({ b: 2 });
  });

  it('ResultPath null keeps the input, InputPath/OutputPath null give {}', async () => {
    let seen: unknown;
    const work = async (e: unknown) => ((seen = e), 'ignored');
    expect((await run(single({ Type: 'Task', Resource: fn('work'), ResultPath: null }), { a: 1 }, { work })).output).toEqual({ a: 1 });
    expect((await run(single({ Type: 'Task', Resource: fn('work'), InputPath: null, ResultPath: '$.r' }), { a: 1 }, { work })).output).toEqual({ a: 1, r: 'ignored' });
    expect(seen).toEqual({});
    expect((await run(single({ Type: 'Task', Resource: fn('work'), OutputPath: null }), { a: 1 }, { work })).output).toEqual({});
  });

  it('gives each handler a JSON copy of its input, and keeps a JSON copy of its result, like a Lambda call', async () => {
    const shared = { n: 1, when: new Date('2026-01-01T00:00:00Z'), gone: undefined as unknown };
    const machine = {
      StartAt: 'A',
      States: {
        A: { Type: 'Task', Resource: fn('mutate'), ResultPath: '$.a', Next: 'B' },
        B: { Type: 'Task', Resource: fn('read'), ResultPath: '$.b', End: true },
      },
    };
    let read: unknown;
    const result = await run(machine, { list: [1] }, {
      mutate: async (event) => {
        event.list.push(2);
        return shared;
      },
      read: async (event) => {
        read = structuredClone(event);
        return undefined;
      },
    });
    shared.n = 99;
    expect(read).toEqual({ list: [1], a: { n: 1, when: '2026-01-01T00:00:00.000Z' } });
    expect(result.output).toEqual({ list: [1], a: { n: 1, when: '2026-01-01T00:00:00.000Z' }, b: null });
  });

  it('a path that matches nothing fails the execution with States.Runtime, which no Catch takes', async () => {
    const machine = {
      StartAt: 'S',
      States: {
        S: { Type: 'Task', Resource: fn('work'), Parameters: { 'x.$': '$.missing' }, Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }], End: true },
        Caught: { Type: 'Succeed' },
      },
    };
    const result = await run(machine, {}, { work: async () => 'never' });
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.Runtime', cause: expect.stringMatching(/"x.\$".*\$\.missing matches nothing/) });
  });

  it('a ResultPath that cannot be applied is States.ResultPathMatchFailure', async () => {
    const result = await run(single({ Type: 'Task', Resource: fn('work'), ResultPath: '$.a.b' }), { a: 'text' }, { work: async () => 1 });
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.ResultPathMatchFailure' });
  });
});

describe('Task, Retry and Catch', () => {
  const machine = {
    StartAt: 'Work',
    States: {
      Work: {
        Type: 'Task',
        Resource: fn('work'),
        ResultPath: '$.result',
        Retry: [{ ErrorEquals: ['TransientError'], IntervalSeconds: 1, BackoffRate: 2, MaxAttempts: 2, MaxDelaySeconds: 10, JitterStrategy: 'FULL' }],
        Catch: [
          { ErrorEquals: ['PhotoError'], ResultPath: '$.error', Next: 'RecordFailure' },
          { ErrorEquals: ['States.ALL'], Next: 'Other' },
        ],
        Next: 'Done',
      },
      RecordFailure: { Type: 'Pass', Parameters: { 'caught.$': '$.error', 'original.$': '$.value' }, Next: 'Done' },
      Other: { Type: 'Pass', Result: 'other', Next: 'Done' },
      Done: { Type: 'Succeed' },
    },
  };

  it('retries a transient error with backoff, then goes on', async () => {
    let calls = 0;
    const events: ExecutionEvent[] = [];
    const result = await run(machine, { value: 1 }, { work: async () => (++calls < 3 ? Promise.reject(new TransientError('SlowDown')) : 'ok') }, { events });
    expect(calls).toBe(3);
    expect(result).toMatchObject({ status: 'SUCCEEDED', output: { value: 1, result: 'ok' } });
    expect(events).toEqual([
      { type: 'retry', state: 'Work', error: 'TransientError', attempt: 1, delayMs: 500 },
      { type: 'retry', state: 'Work', error: 'TransientError', attempt: 2, delayMs: 1000 },
    ]);
  });

  it('routes a caught error to the matching catcher\'s Next, with {Error, Cause} at its ResultPath in the raw input', async () => {
    const result = await run(machine, { value: 7 }, { work: async () => Promise.reject(new PhotoError('corrupt JPEG')) });
    expect(result.status).toBe('SUCCEEDED');
    const { caught, original } = result.output as { caught: { Error: string; Cause: string }; original: number };
    expect(original).toBe(7);
    expect(caught.Error).toBe('PhotoError');
    const cause = JSON.parse(caught.Cause);
    expect(Object.keys(cause)).toEqual(['errorType', 'errorMessage', 'trace']);
    expect(cause).toMatchObject({ errorType: 'PhotoError', errorMessage: 'corrupt JPEG' });
    expect(cause.trace[0]).toBe('PhotoError: corrupt JPEG');
    expect(cause.trace.length).toBeGreaterThan(1);
  });

  it('an exhausted retrier goes to Catch; the default catcher ResultPath replaces the input', async () => {
    let calls = 0;
    const result = await run(machine, { value: 1 }, { work: async () => (calls++, Promise.reject(new TransientError('still busy'))) });
    expect(calls).toBe(3);
    expect(result).toMatchObject({ status: 'SUCCEEDED', output: 'other' });
  });

  it('a handler that throws synchronously or a non-Error is reported like Lambda does', async () => {
    const bare = single({ Type: 'Task', Resource: fn('work') });
    const sync = await run(bare, {}, { work: (() => {
      throw new PhotoError('sync');
    }) as unknown as Handler });
    expect(sync).toMatchObject({ status: 'FAILED', error: 'PhotoError' });
    expect(JSON.parse(sync.cause!)).toMatchObject({ errorType: 'PhotoError', errorMessage: 'sync' });
    const text = await run(bare, {}, { work: () => Promise.reject('plain string') });
    expect(text).toMatchObject({ status: 'FAILED', error: 'Error' });
    expect(JSON.parse(text.cause!)).toMatchObject({ errorMessage: 'plain string' });
  });

  it('times out a task after TimeoutSeconds with States.Timeout, which States.TaskFailed does not catch', async () => {
    const slow = {
      StartAt: 'Work',
      States: {
        // TimeoutSeconds is a positive integer (asl-validator refuses 0.05): the smallest is 1 s.
        Work: { Type: 'Task', Resource: fn('work'), TimeoutSeconds: 1, Catch: [{ ErrorEquals: ['States.TaskFailed'], Next: 'Caught' }], End: true },
        Caught: { Type: 'Succeed' },
      },
    };
    expect(await run(slow, {}, { work: () => sleep(1300) })).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
  });

  it('a TimeoutSecondsPath that selects no positive integer is States.Runtime, never "no timeout"', async () => {
    let called = false;
    const machine = single({ Type: 'Task', Resource: fn('work'), TimeoutSecondsPath: '$.timeout', Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }] });
    const withCaught = { ...machine, States: { ...machine.States, Caught: { Type: 'Succeed' } } };
    expect(await run(withCaught, { timeout: 'soon' }, { work: async () => (called = true) })).toMatchObject({ status: 'FAILED', error: 'States.Runtime', cause: expect.stringMatching(/TimeoutSecondsPath \$\.timeout must select a positive integer/) });
    expect(called).toBe(false);
  });

  it('arn:aws:states:::lambda:invoke wraps the result as {Payload} and passes Parameters.Payload', async () => {
    let seen: unknown;
    const machine = single({
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: fn('work'), 'Payload.$': '$.event' },
      ResultSelector: { 'body.$': '$.Payload' },
    });
    const result = await run(machine, { event: { x: 1 } }, { work: async (e) => ((seen = e), { y: 2 }) });
    expect(seen).toEqual({ x: 1 });
    expect(result.output).toEqual({ body: { y: 2 } });
    const raw = await run(single({ Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: fn('work') } }), {}, { work: async () => 'r' });
    expect(raw.output).toMatchObject({ Payload: 'r', StatusCode: 200 });
  });

  it('a Lambda ARN resource names its function too', async () => {
    const result = await run(single({ Type: 'Task', Resource: 'arn:aws:lambda:eu-west-1:123456789012:function:work' }), { a: 1 }, { work: async (e) => e });
    expect(result.output).toEqual({ a: 1 });
  });
});

describe('Choice, Pass, Wait, Succeed, Fail', () => {
  const router = {
    StartAt: 'Route',
    States: {
      Route: {
        Type: 'Choice',
        InputPath: '$.outcome',
        OutputPath: '$.status',
        Choices: [
          { Variable: '$.status', StringEquals: 'needs-resize', Next: 'Resize' },
          { And: [{ Variable: '$.n', IsPresent: true }, { Variable: '$.n', NumericGreaterThan: 10 }], Next: 'Big' },
        ],
        Default: 'Other',
      },
      Resize: { Type: 'Pass', Parameters: { 'was.$': '$' }, End: true },
      Big: { Type: 'Pass', Result: 'big', End: true },
      Other: { Type: 'Pass', Result: { fixed: true }, End: true },
    },
  };

  it('routes on the first matching rule, else Default', async () => {
    expect((await run(router, { outcome: { status: 'needs-resize' } })).output).toEqual({ was: 'needs-resize' });
    expect((await run(router, { outcome: { status: 'x', n: 11 } })).output).toBe('big');
    expect((await run(router, { outcome: { status: 'x' } })).output).toEqual({ fixed: true });
  });

  it('fails with States.NoChoiceMatched without a Default', async () => {
    // Without Default, Other is unreachable (which asl-validator refuses, as CreateStateMachine does): dropped too.
    const { Default: _, ...noDefault } = router.States.Route;
    const { Other: __, ...states } = router.States;
    const result = await run({ ...router, States: { ...states, Route: noDefault } }, { outcome: { status: 'x' } });
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.NoChoiceMatched' });
  });

  it('Wait waits Seconds × timeScale, SecondsPath and Timestamp too', async () => {
    const wait = (state: Record<string, unknown>) => ({ StartAt: 'W', States: { W: { Type: 'Wait', ...state, Next: 'End' }, End: { Type: 'Succeed' } } });
    let started = performance.now();
    expect((await run(wait({ Seconds: 10 }), { a: 1 }, {}, { timeScale: 0.005 })).output).toEqual({ a: 1 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    started = performance.now();
    await run(wait({ SecondsPath: '$.s' }), { s: 10 }, {}, { timeScale: 0.005 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    expect(await run(wait({ Timestamp: '2020-01-01T00:00:00Z' }), {}, {}, { timeScale: 1 })).toMatchObject({ status: 'SUCCEEDED' });
    expect(await run(wait({ SecondsPath: '$.s' }), { s: 'soon' })).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
  });

  it('Fail ends the execution with its Error and Cause (or ErrorPath/CausePath)', async () => {
    expect(await run({ StartAt: 'F', States: { F: { Type: 'Fail', Error: 'Broken', Cause: 'because' } } }, {})).toMatchObject({ status: 'FAILED', error: 'Broken', cause: 'because' });
    expect(await run({ StartAt: 'F', States: { F: { Type: 'Fail', ErrorPath: '$.e', CausePath: '$.c' } } }, { e: 'E', c: 'C' })).toMatchObject({ error: 'E', cause: 'C' });
  });

  it('Succeed ends with its (filtered) input', async () => {
    expect((await run({ StartAt: 'S', States: { S: { Type: 'Succeed', InputPath: '$.a', OutputPath: '$.b' } } }, { a: { b: 2 } })).output).toBe(2);
  });
});

describe('Parallel', () => {
  it('runs every branch on the input, results in branch order; a failing branch fails the state (catchable)', async () => {
    const branch = (name: string) => ({ StartAt: name, States: { [name]: { Type: 'Task', Resource: fn(name), End: true } } });
    const machine = {
      StartAt: 'P',
      States: {
        P: { Type: 'Parallel', Branches: [branch('slow'), branch('fast')], ResultPath: '$.results', Catch: [{ ErrorEquals: ['PhotoError'], ResultPath: '$.error', Next: 'Caught' }], End: true },
        Caught: { Type: 'Pass', End: true },
      },
    };
    const ok = await run(machine, { x: 1 }, { slow: async (e) => (await sleep(20), `slow${e.x}`), fast: async (e) => `fast${e.x}` });
    expect(ok.output).toEqual({ x: 1, results: ['slow1', 'fast1'] });
    const failed = await run(machine, { x: 1 }, { slow: async () => 's', fast: async () => Promise.reject(new PhotoError('bad')) });
    expect(failed.output).toMatchObject({ x: 1, error: { Error: 'PhotoError' } });
  });
});

describe('inline Map', () => {
  function mapMachine(maxConcurrency: number) {
    return {
      StartAt: 'Each',
      States: {
        Each: {
          Type: 'Map',
          ItemsPath: '$.items',
          ItemSelector: { 'value.$': '$$.Map.Item.Value', 'index.$': '$$.Map.Item.Index', 'tag.$': '$.tag', 'map.$': '$$.State.Name' },
          MaxConcurrency: maxConcurrency,
          ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: 'Work', States: { Work: { Type: 'Task', Resource: fn('work'), End: true } } },
          ResultPath: '$.results',
          End: true,
        },
      },
    };
  }

  function measured(fail?: (event: any) => boolean) {
    const state = { inFlight: 0, peak: 0, started: 0 };
    const work: Handler = async (event) => {
      state.started++;
      state.peak = Math.max(state.peak, ++state.inFlight);
      await sleep(5 + (event.index % 3) * 3);
      state.inFlight--;
      if (fail?.(event)) throw new PhotoError(`item ${event.index}`);
      return `${event.map}:${event.tag}${event.index}:${event.value}`;
    };
    return { state, work };
  }

  it('runs each item through the processor, never more than MaxConcurrency at once, results in order', async () => {
    const { state, work } = measured();
    const items = Array.from({ length: 12 }, (_, i) => i * 10);
    const result = await run(mapMachine(3), { items, tag: 't' }, { work });
    expect(result.output).toEqual({ items, tag: 't', results: items.map((value, index) => `Each:t${index}:${value}`) });
    expect(state.peak).toBe(3);
  });

  it('MaxConcurrency 0 runs every item at once', async () => {
    const { state, work } = measured();
    await run(mapMachine(0), { items: [1, 2, 3, 4, 5, 6, 7], tag: '' }, { work });
    expect(state.peak).toBe(7);
  });

  it('the first failing iteration fails the Map; no new iteration starts after it', async () => {
    const { state, work } = measured((event) => event.index === 1);
    const result = await run(mapMachine(2), { items: Array.from({ length: 10 }, (_, i) => i), tag: '' }, { work });
    expect(result).toMatchObject({ status: 'FAILED', error: 'PhotoError' });
    expect(state.started).toBeLessThan(10);
  });

  it('an ItemsPath that is not an array is States.Runtime', async () => {
    expect(await run(mapMachine(1), { items: 'nope', tag: '' }, { work: async () => 1 })).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
  });
});

describe('validation before anything runs', () => {
  it('refuses a definition whose transitions, resources, paths or Refs do not resolve, listing every problem', async () => {
    let called = false;
    const broken = {
      StartAt: 'A',
      States: {
        A: { Type: 'Task', Resource: fn('work'), Parameters: { 'id.$': 'States.UUID()' }, Next: 'Nowhere' },
        B: { Type: 'Task', Resource: fn('missing'), Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Gone' }], End: true },
        C: { Type: 'Choice', Choices: [{ Variable: '$.x', StringEquals: 'y', Next: 'Lost' }], Default: 'A' },
        D: { Type: 'Pass', InputPath: 'x', Result: { Ref: 'Unknown' }, End: true },
        E: { Type: 'Task', Resource: 'arn:aws:states:::s3:putObject', End: true },
        F: { Type: 'Wait', End: true },
        G: { Type: 'Task', Resource: fn('work'), Retry: [{ ErrorEquals: ['States.ALL'] }, { ErrorEquals: ['X'] }], End: true },
      },
    };
    const attempt = run(broken, {}, { work: async () => (called = true) });
    await expect(attempt).rejects.toThrow(InvalidDefinition);
    const message = await attempt.catch((error: Error) => error.message);
    for (const expected of [
      /A: Next "Nowhere" is not a state/,
      /A.Parameters: the field "id.\$" uses the intrinsic function States.UUID/,
      /B: no local handler "missing"/,
      /B: Catch\[0\].Next "Gone" is not a state/,
      /C.Choices\[0\]: Next "Lost" is not a state/,
      /D: InputPath "x" is not a reference path/,
      /D.Result: \{"Ref": "Unknown"\} has no local value/,
      /E: Resource "arn:aws:states:::s3:putObject" names no function/,
      /F: a Wait state needs exactly one of Seconds/,
      /G: Retry\[0\]: States.ALL must appear alone, in the last retrier/,
    ]) {
      expect(message).toMatch(expected);
    }
    expect(called).toBe(false);
  });

  it('refuses JSONata, an unknown StartAt and unknown state types', async () => {
    await expect(run({ QueryLanguage: 'JSONata', StartAt: 'A', States: { A: { Type: 'Succeed' } } }, {})).rejects.toThrow(/JSONPath only/);
    await expect(run({ StartAt: 'Z', States: { A: { Type: 'Succeed' } } }, {})).rejects.toThrow(/StartAt "Z" is not a state/);
    await expect(run({ StartAt: 'A', States: { A: { Type: 'Activity', End: true } } }, {})).rejects.toThrow(/unknown Type "Activity"/);
  });

  it('resolves {Ref} objects anywhere from intrinsics, without changing the definition given', async () => {
    const definition = single({ Type: 'Pass', Result: { bucket: { Ref: 'LibraryBucket' }, list: [{ Ref: 'LibraryBucket' }] } });
    const result = await run(definition, {}, {}, { intrinsics: { LibraryBucket: 'local-library' } });
    expect(result.output).toEqual({ bucket: 'local-library', list: ['local-library'] });
    expect(definition.States.S.Result).toEqual({ bucket: { Ref: 'LibraryBucket' }, list: [{ Ref: 'LibraryBucket' }] });
  });

  it('names an execution with a UUID when no name is given', async () => {
    const result = await run(single({ Type: 'Pass', Parameters: { 'name.$': '$$.Execution.Name' } }), {});
    const name = (result.output as { name: string }).name;
    expect(name).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.executionArn).toBe(`arn:aws:states:local:000000000000:execution:photo-scaler-migrate-local:${name}`);
  });
});
