/** src/local/asl/README.md's feature table is features.ts, and both are what validation does: refused fields refused, supported ones accepted. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { existsSync, rmSync } from 'node:fs';
import { acceptanceFileOf, aslValidatorProblems } from '../../../src/local/asl/asl-schema';
import { FEATURES, type Scope } from '../../../src/local/asl/features';
import { definitionProblems, InvalidDefinition, loadDefinition, resolveRefs, startExecution, type StateMachineDefinition } from '../../../src/local/asl';
import { MemoryStore } from '../../helpers/memory-store';

const README = new URL('../../../src/local/asl/README.md', import.meta.url);
const STATE_MACHINE_FILE = new URL('../../../statemachines/migrate.asl.yaml', import.meta.url);
const S3_GET = 'arn:aws:states:::s3:getObject';
const S3_PUT = 'arn:aws:states:::s3:putObject';
const TASKS = ['work'];

type Fields = Record<string, unknown>;
const fn = (name: string) => ({ 'Fn::GetAtt': [name, 'Arn'] });

/** The table's rows: Where | Fields | supported or refused | Note. */
function readmeTable(): Record<string, { supported: string[]; refused: string[] }> {
  const table: Record<string, { supported: string[]; refused: string[] }> = {};
  for (const line of readFileSync(README, 'utf8').split('\n')) {
    const cells = line.split('|').slice(1, -1).map((cell) => cell.trim());
    if (cells.length !== 4 || !['supported', 'refused'].includes(cells[2]!)) continue;
    const [where, fields, status] = cells as [string, string, 'supported' | 'refused'];
    const row = (table[where] ??= { supported: [], refused: [] });
    row[status].push(...[...fields.matchAll(/`([^`]+)`/g)].map((match) => match[1]!));
  }
  return table;
}

/** `patch` applied to `base`: an undefined value removes that field. */
const patched = (base: Fields, patch: Fields): Fields => Object.fromEntries(Object.entries({ ...base, ...patch }).filter(([, value]) => value !== undefined));

const machine = (state: Fields): Fields => ({ StartAt: 'S', States: { S: state, T: { Type: 'Succeed' } } });
const processor = (config: Fields = { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' }): Fields => ({ ProcessorConfig: config, StartAt: 'W', States: { W: { Type: 'Succeed' } } });
const distributedMap = (fields: Fields): Fields => machine({ Type: 'Map', ItemProcessor: processor(), ...fields, End: true });
const reader: Fields = { Resource: S3_GET, ReaderConfig: { InputType: 'JSON' }, Parameters: { Bucket: 'b', Key: 'k' } };
const writer: Fields = { Resource: S3_PUT, Parameters: { Bucket: 'b' } };
const rule: Fields = { Variable: '$.x', IsPresent: true };
const template = { 'a.$': '$.a' };
const next = { Next: 'T', End: undefined };

/** Where each scope sits in a small valid definition, and a patch of its minimal form that uses each supported field not in that form. */
const PLACES: Record<Scope, { base: Fields; wrap: (fields: Fields) => Fields; samples: Record<string, Fields> }> = {
  'State machine': { base: machine({ Type: 'Succeed' }), wrap: (m) => m, samples: { Comment: { Comment: 'c' }, QueryLanguage: { QueryLanguage: 'JSONPath' }, Version: { Version: '1.0' } } },
  Branch: {
    base: { StartAt: 'B', States: { B: { Type: 'Succeed' } } },
    wrap: (branch) => machine({ Type: 'Parallel', Branches: [branch], End: true }),
    samples: { Comment: { Comment: 'c' } },
  },
  ItemProcessor: {
    base: { StartAt: 'W', States: { W: { Type: 'Succeed' } } },
    wrap: (p) => machine({ Type: 'Map', ItemProcessor: p, End: true }),
    samples: { Comment: { Comment: 'c' }, ProcessorConfig: { ProcessorConfig: { Mode: 'INLINE' } } },
  },
  'Every state': { base: { Type: 'Pass', End: true }, wrap: machine, samples: { Comment: { Comment: 'c' }, QueryLanguage: { QueryLanguage: 'JSONPath' } } },
  Task: {
    base: { Type: 'Task', Resource: fn('work'), End: true },
    wrap: machine,
    samples: {
      Next: next,
      InputPath: { InputPath: '$.in' },
      OutputPath: { OutputPath: '$.out' },
      Parameters: { Parameters: template },
      ResultSelector: { ResultSelector: template },
      ResultPath: { ResultPath: '$.r' },
      Retry: { Retry: [{ ErrorEquals: ['States.ALL'] }] },
      Catch: { Catch: [{ ErrorEquals: ['States.ALL'], Next: 'T' }] },
      TimeoutSeconds: { TimeoutSeconds: 5 },
      TimeoutSecondsPath: { TimeoutSecondsPath: '$.timeout' },
    },
  },
  Pass: {
    base: { Type: 'Pass', End: true },
    wrap: machine,
    samples: { Next: next, InputPath: { InputPath: '$.in' }, OutputPath: { OutputPath: '$.out' }, Result: { Result: { x: 1 } }, Parameters: { Parameters: template }, ResultPath: { ResultPath: '$.r' } },
  },
  Choice: {
    base: { Type: 'Choice', Choices: [{ ...rule, Next: 'T' }] },
    wrap: machine,
    samples: { Default: { Default: 'T' }, InputPath: { InputPath: '$.in' }, OutputPath: { OutputPath: '$.out' } },
  },
  'Choice rule': {
    base: { ...rule, Next: 'T' },
    wrap: (r) => machine({ Type: 'Choice', Choices: [r] }),
    samples: {
      Comment: { Comment: 'c' },
      And: { And: [rule, rule], Variable: undefined, IsPresent: undefined },
      Or: { Or: [rule, rule], Variable: undefined, IsPresent: undefined },
      Not: { Not: rule, Variable: undefined, IsPresent: undefined },
    },
  },
  Wait: {
    base: { Type: 'Wait', Seconds: 1, End: true },
    wrap: machine,
    samples: {
      Next: next,
      InputPath: { InputPath: '$.in' },
      OutputPath: { OutputPath: '$.out' },
      SecondsPath: { SecondsPath: '$.s', Seconds: undefined },
      Timestamp: { Timestamp: '2026-11-24T10:00:00Z', Seconds: undefined },
      TimestampPath: { TimestampPath: '$.t', Seconds: undefined },
    },
  },
  Succeed: { base: { Type: 'Succeed' }, wrap: machine, samples: { InputPath: { InputPath: '$.in' }, OutputPath: { OutputPath: '$.out' } } },
  Fail: { base: { Type: 'Fail' }, wrap: machine, samples: { Error: { Error: 'E' }, ErrorPath: { ErrorPath: '$.e' }, Cause: { Cause: 'c' }, CausePath: { CausePath: '$.c' } } },
  Parallel: {
    base: { Type: 'Parallel', Branches: [{ StartAt: 'B', States: { B: { Type: 'Succeed' } } }], End: true },
    wrap: machine,
    samples: {
      Next: next,
      InputPath: { InputPath: '$.in' },
      OutputPath: { OutputPath: '$.out' },
      Parameters: { Parameters: template },
      ResultSelector: { ResultSelector: template },
      ResultPath: { ResultPath: '$.r' },
      Retry: { Retry: [{ ErrorEquals: ['States.ALL'] }] },
      Catch: { Catch: [{ ErrorEquals: ['States.ALL'], Next: 'T' }] },
    },
  },
  Map: {
    base: { Type: 'Map', ItemProcessor: processor(), End: true },
    wrap: machine,
    samples: {
      Next: next,
      InputPath: { InputPath: '$.in' },
      OutputPath: { OutputPath: '$.out' },
      Iterator: { Iterator: processor({ Mode: 'INLINE' }), ItemProcessor: undefined },
      ItemsPath: { ItemsPath: '$.items' },
      ItemSelector: { ItemSelector: { 'v.$': '$$.Map.Item.Value' } },
      Parameters: { Parameters: { 'v.$': '$$.Map.Item.Value' } },
      MaxConcurrency: { MaxConcurrency: 2 },
      MaxConcurrencyPath: { MaxConcurrencyPath: '$.n' },
      ResultSelector: { ResultSelector: template },
      ResultPath: { ResultPath: '$.r' },
      Retry: { Retry: [{ ErrorEquals: ['States.ALL'] }] },
      Catch: { Catch: [{ ErrorEquals: ['States.ALL'], Next: 'T' }] },
      ItemReader: { ItemReader: reader },
      ItemBatcher: { ItemBatcher: { MaxItemsPerBatch: 2 } },
      ResultWriter: { ResultWriter: writer },
      ToleratedFailurePercentage: { ToleratedFailurePercentage: 5 },
      ToleratedFailurePercentagePath: { ToleratedFailurePercentagePath: '$.p' },
      ToleratedFailureCount: { ToleratedFailureCount: 1 },
      ToleratedFailureCountPath: { ToleratedFailureCountPath: '$.c' },
      Label: { Label: 'Photos' },
    },
  },
  Retrier: {
    base: { ErrorEquals: ['States.ALL'] },
    wrap: (r) => machine({ Type: 'Task', Resource: fn('work'), Retry: [r], End: true }),
    samples: { IntervalSeconds: { IntervalSeconds: 1 }, MaxAttempts: { MaxAttempts: 2 }, BackoffRate: { BackoffRate: 2 }, MaxDelaySeconds: { MaxDelaySeconds: 5 }, JitterStrategy: { JitterStrategy: 'FULL' } },
  },
  Catcher: {
    base: { ErrorEquals: ['States.ALL'], Next: 'T' },
    wrap: (c) => machine({ Type: 'Task', Resource: fn('work'), Catch: [c], End: true }),
    samples: { ResultPath: { ResultPath: '$.error' } },
  },
  'lambda:invoke Parameters': {
    base: { FunctionName: fn('work') },
    wrap: (p) => machine({ Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: p, End: true }),
    samples: { Payload: { 'Payload.$': '$' } },
  },
  ProcessorConfig: { base: { Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' }, wrap: (c) => machine({ Type: 'Map', ItemProcessor: processor(c), End: true }), samples: {} },
  ItemReader: { base: reader, wrap: (r) => distributedMap({ ItemReader: r }), samples: {} },
  ReaderConfig: {
    base: { InputType: 'JSON' },
    wrap: (c) => distributedMap({ ItemReader: { ...reader, ReaderConfig: c } }),
    samples: {
      CSVHeaderLocation: { InputType: 'CSV', CSVHeaderLocation: 'FIRST_ROW' },
      CSVHeaders: { InputType: 'CSV', CSVHeaderLocation: 'GIVEN', CSVHeaders: ['Bucket', 'Key'] },
      MaxItems: { MaxItems: 5 },
      MaxItemsPath: { MaxItemsPath: '$.max' },
    },
  },
  'ItemReader Parameters': { base: { Bucket: 'b', 'Key.$': '$.key' }, wrap: (p) => distributedMap({ ItemReader: { ...reader, Parameters: p } }), samples: {} },
  ItemBatcher: {
    base: { MaxItemsPerBatch: 2 },
    wrap: (b) => distributedMap({ ItemBatcher: b }),
    samples: {
      MaxItemsPerBatchPath: { MaxItemsPerBatchPath: '$.n', MaxItemsPerBatch: undefined },
      MaxInputBytesPerBatch: { MaxInputBytesPerBatch: 1024 },
      MaxInputBytesPerBatchPath: { MaxInputBytesPerBatchPath: '$.bytes' },
      BatchInput: { BatchInput: { 'run.$': '$$.Execution.Name' } },
    },
  },
  ResultWriter: { base: writer, wrap: (w) => distributedMap({ ResultWriter: w }), samples: { WriterConfig: { WriterConfig: { Transformation: 'NONE', OutputType: 'JSON' } } } },
  WriterConfig: { base: { Transformation: 'NONE' }, wrap: (c) => distributedMap({ ResultWriter: { ...writer, WriterConfig: c } }), samples: { OutputType: { OutputType: 'JSON' } } },
  'ResultWriter Parameters': { base: { Bucket: 'b' }, wrap: (p) => distributedMap({ ResultWriter: { ...writer, Parameters: p } }), samples: { Prefix: { Prefix: 'runs' } } },
};

const SCOPES = Object.keys(FEATURES) as Scope[];
const fieldsOf = (fields: Fields) => Object.keys(fields).map((key) => key.replace(/\.\$$/, ''));

describe('the feature table (src/local/asl/README.md)', () => {
  it('lists exactly the supported and refused fields of features.ts, place by place', () => {
    const sorted = (list: readonly string[]) => [...list].sort();
    const fromCode = Object.fromEntries(SCOPES.map((scope) => [scope, { supported: sorted(FEATURES[scope].supported), refused: sorted(FEATURES[scope].refused) }]));
    const fromReadme = Object.fromEntries(Object.entries(readmeTable()).map(([scope, row]) => [scope, { supported: sorted(row.supported), refused: sorted(row.refused) }]));
    expect(fromReadme).toEqual(fromCode);
  });

  it('lists no field as both supported and refused', () => {
    for (const scope of SCOPES) expect(FEATURES[scope].supported.filter((field) => (FEATURES[scope].refused as readonly string[]).includes(field)), scope).toEqual([]);
  });
});

describe.each(SCOPES)('%s', (scope) => {
  const { base, wrap, samples } = PLACES[scope];
  const problems = (fields: Fields) => definitionProblems(wrap(fields), TASKS);

  it('its minimal form is valid', () => {
    expect(problems(base)).toEqual([]);
  });

  it.each([...FEATURES[scope].supported])('accepts the supported field %s', (field) => {
    const fields = samples[field] ? patched(base, samples[field]) : base;
    expect(fieldsOf(fields), 'the sample uses the field').toContain(field);
    expect(problems(fields)).toEqual([]);
  });

  it.each([...FEATURES[scope].refused])('refuses the field %s as not supported by the local executor', (field) => {
    expect(problems(patched(base, { [field]: 'x' }))).toContainEqual(expect.stringContaining(`field "${field}" is not supported by the local executor`));
  });

  it('refuses a field that is no ASL field there', () => {
    const expected = scope === 'Choice rule' ? 'the Choice operator Nxt is not supported' : `field "Nxt" is not ${FEATURES[scope === 'Every state' ? 'Pass' : scope].unknown}`;
    expect(problems(patched(base, { Nxt: 'x' }))).toContainEqual(expect.stringContaining(expected));
  });
});

describe('the executor refuses what it does not implement, before running anything', () => {
  const start = (definition: Fields, called: { value: boolean } = { value: false }) =>
    startExecution({ definition: definition as unknown as StateMachineDefinition, tasks: { work: async () => (called.value = true) }, store: new MemoryStore(), timeScale: 0 });
  const refusal = (definition: Fields) => start(definition).then(() => '', (error: Error) => (expect(error).toBeInstanceOf(InvalidDefinition), error.message));
  const task = (fields: Fields = {}) => machine({ Type: 'Task', Resource: fn('work'), ...fields, End: true });

  it('Assign (variables), naming the field and the state', async () => {
    const called = { value: false };
    await expect(start(task({ Assign: { seen: true } }), called)).rejects.toThrow('definition.S: field "Assign" is not supported by the local executor');
    expect(called.value).toBe(false);
  });

  it('a top-level TimeoutSeconds (no execution timeout locally)', async () => {
    expect(await refusal({ ...task(), TimeoutSeconds: 300 })).toContain('definition: field "TimeoutSeconds" is not supported by the local executor');
  });

  it('an unknown field, as no ASL field', async () => {
    expect(await refusal({ StartAt: 'S', States: { S: { Type: 'Pass', Nxt: 'T' }, T: { Type: 'Succeed' } } })).toContain('definition.S: field "Nxt" is not an ASL field of a Pass state');
  });

  it("reports asl-validator's errors with its own: a fractional TimeoutSeconds passes the local checks, not asl-validator", async () => {
    const definition = task({ TimeoutSeconds: 0.5 });
    expect(definitionProblems(definition, TASKS)).toEqual([]);
    const message = await refusal(definition);
    expect(message).toMatch(/asl-validator: SCHEMA_VALIDATION_FAILED: \/States\/S\/TimeoutSeconds is invalid/);
  });

  it('lists the local problems and the asl-validator errors in one message', async () => {
    // T is never reached: CreateStateMachine (and asl-validator) refuse that, the local checks do not look.
    const message = await refusal(task({ Assign: {} }));
    expect(message).toContain('field "Assign" is not supported by the local executor');
    expect(message).toContain('asl-validator: MISSING_TRANSITION_TARGET: State T is not reachable');
  });
});

describe('asl-validator\'s verdicts kept across processes (node_modules/.cache)', () => {
  const machine = (next: string) => ({ StartAt: 'A', States: { A: { Type: 'Pass', Next: next }, B: { Type: 'Succeed' } } });

  it('remembers an accepted definition by its exact content, and never a rejected one', () => {
    const accepted = machine('B');
    const rejected = machine('Nowhere');
    for (const definition of [accepted, rejected]) rmSync(acceptanceFileOf(definition)!, { force: true });
    expect(aslValidatorProblems(accepted)).toEqual([]);
    expect(existsSync(acceptanceFileOf(accepted)!)).toBe(true);
    expect(aslValidatorProblems(rejected).join('\n')).toMatch(/asl-validator: MISSING_TRANSITION_TARGET/);
    expect(existsSync(acceptanceFileOf(rejected)!)).toBe(false);
    expect(acceptanceFileOf(rejected)).not.toBe(acceptanceFileOf(accepted));
  });
});

describe('statemachines/migrate.asl.yaml', () => {
  it('passes both the local checks and asl-validator once its LibraryBucket is resolved', async () => {
    const definition = resolveRefs(await loadDefinition(fileURLToPath(STATE_MACHINE_FILE)), { LibraryBucket: 'library' });
    expect(definitionProblems(definition, ['findUnchanged', 'dedupe', 'resize', 'recordFailure'])).toEqual([]);
    expect(aslValidatorProblems(definition)).toEqual([]);
  });
});
