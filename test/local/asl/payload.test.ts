import { describe, expect, it } from 'vitest';
import { applyTemplate, templateProblems } from '../../../src/local/asl/payload';

const context = {
  Execution: { Id: 'arn:exec', Name: 'run-7', StartTime: '2026-11-24T10:00:00.000Z', Input: {} },
  StateMachine: { Id: 'arn:sm', Name: 'sm' },
  State: { Name: 'Dedupe', EnteredTime: '2026-11-24T10:00:01.000Z', RetryCount: 2 },
  Map: { Item: { Index: 3, Value: { Key: 'a+b.jpg' } } },
};

describe('applyTemplate', () => {
  it('resolves ".$" fields from the input and the context object, copies the rest, nested and in arrays', () => {
    const template = {
      'item.$': '$$.Map.Item.Value',
      'index.$': '$$.Map.Item.Index',
      'runId.$': '$$.Execution.Name',
      'id.$': '$$.Execution.Id',
      'started.$': '$$.Execution.StartTime',
      'state.$': '$$.State.Name',
      'retries.$': '$$.State.RetryCount',
      'whole.$': '$',
      fixed: 'literal $.not.a.path',
      nested: { 'deep.$': '$.a.b', list: [{ 'x.$': '$.a.b' }, 'plain', 7] },
    };
    expect(applyTemplate(template, { a: { b: 42 } }, context)).toEqual({
      item: { Key: 'a+b.jpg' },
      index: 3,
      runId: 'run-7',
      id: 'arn:exec',
      started: '2026-11-24T10:00:00.000Z',
      state: 'Dedupe',
      retries: 2,
      whole: { a: { b: 42 } },
      fixed: 'literal $.not.a.path',
      nested: { deep: 42, list: [{ x: 42 }, 'plain', 7] },
    });
  });

  it('passes non-object templates through', () => {
    expect(applyTemplate('x', {}, context)).toBe('x');
    expect(applyTemplate(null, {}, context)).toBeNull();
    expect(applyTemplate([1, { 'a.$': '$.v' }], { v: 2 }, context)).toEqual([1, { a: 2 }]);
  });

  it('names the field whose path matches nothing (States.Runtime)', () => {
    expect(() => applyTemplate({ 'bucket.$': '$.manifest.bucket' }, {}, context)).toThrow(/States.Runtime: the field "bucket.\$": the path \$\.manifest\.bucket matches nothing/);
  });

  it('refuses intrinsic functions and non-path values clearly', () => {
    expect(() => applyTemplate({ 'id.$': 'States.UUID()' }, {}, context)).toThrow(/intrinsic function States.UUID, which the local executor does not support/);
    expect(() => applyTemplate({ 'n.$': 3 }, {}, context)).toThrow(/must be a path string/);
  });
});

describe('templateProblems', () => {
  it('lists every field that cannot be evaluated, for validation before a run', () => {
    expect(templateProblems({ 'a.$': '$.x', b: { 'c.$': "States.Format('{}', $.x)" }, d: [{ 'e.$': 'x' }] })).toEqual([
      expect.stringMatching(/"c.\$" uses the intrinsic function States.Format/),
      expect.stringMatching(/"e.\$": not a reference path/),
    ]);
    expect(templateProblems(undefined)).toEqual([]);
  });
});
