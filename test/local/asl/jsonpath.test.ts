import { describe, expect, it } from 'vitest';
import { StatesError } from '../../../src/local/asl/errors';
import { hasPath, parsePath, readPath, writePath } from '../../../src/local/asl/jsonpath';

const errorOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return error instanceof StatesError ? error.error : String(error);
  }
  return undefined;
};

describe('parsePath', () => {
  it.each([
    ['$', '$', []],
    ['$$', '$$', []],
    ['$.a.b', '$', ['a', 'b']],
    ['$.a[0].b', '$', ['a', 0, 'b']],
    ["$['x y'].z", '$', ['x y', 'z']],
    ['$["a.b"]', '$', ['a.b']],
    ['$$.Map.Item.Value', '$$', ['Map', 'Item', 'Value']],
    ['$.Items[12]', '$', ['Items', 12]],
  ])('%s', (path, root, segments) => {
    expect(parsePath(path)).toEqual({ root, segments });
  });

  it.each(['a.b', '', '$.a[*]', '$..a', '$.a[-1]', '$.a[?(@.x)]', '$.a.', '$ .a'])('refuses %j with States.Runtime', (path) => {
    expect(errorOf(() => parsePath(path))).toBe('States.Runtime');
  });
});

describe('readPath', () => {
  const data = { a: { b: [10, { c: 'x' }], 'sp ace': 1, nul: null, f: false } };
  const context = { Execution: { Name: 'run-1' } };

  it('selects nodes of the input and of the context object', () => {
    expect(readPath(data, '$', context)).toBe(data);
    expect(readPath(data, '$.a.b[1].c', context)).toBe('x');
    expect(readPath(data, "$.a['sp ace']", context)).toBe(1);
    expect(readPath(data, '$.a.nul', context)).toBeNull();
    expect(readPath(data, '$.a.f', context)).toBe(false);
    expect(readPath(data, '$$.Execution.Name', context)).toBe('run-1');
  });

  it('is a States.Runtime error when the path matches nothing', () => {
    for (const path of ['$.missing', '$.a.b[2]', '$.a.b.c', '$.a.nul.x', '$.a.b[0].x', '$$.Map.Item']) expect(errorOf(() => readPath(data, path, context))).toBe('States.Runtime');
    expect(() => readPath(data, '$.nope', context)).toThrow(/the path \$\.nope matches nothing in the input/);
  });

  it('does not find inherited properties', () => {
    expect(hasPath({}, '$.constructor')).toBe(false);
    expect(hasPath({ a: [1] }, '$.a.length')).toBe(false);
    expect(hasPath({ a: 1 }, '$.a')).toBe(true);
    expect(hasPath({}, '$$.Execution.Name', context)).toBe(true);
  });
});

describe('writePath (ResultPath)', () => {
  it('replaces everything at $, sets a field in a copy, creating objects on the way', () => {
    const input = { keep: 1, outcome: { old: true } };
    expect(writePath(input, '$', 'r')).toBe('r');
    expect(writePath(input, '$.outcome', { status: 'ok' })).toEqual({ keep: 1, outcome: { status: 'ok' } });
    expect(writePath(input, '$.deep.er.result', 5)).toEqual({ keep: 1, outcome: { old: true }, deep: { er: { result: 5 } } });
    expect(writePath(input, '$.outcome.new', 2)).toEqual({ keep: 1, outcome: { old: true, new: 2 } });
    expect(input).toEqual({ keep: 1, outcome: { old: true } });
    expect(writePath({ list: [1, 2] }, '$.list[1]', 'b')).toEqual({ list: [1, 'b'] });
  });

  it('is States.ResultPathMatchFailure when the path cannot be set', () => {
    expect(errorOf(() => writePath('text', '$.x', 1))).toBe('States.ResultPathMatchFailure');
    expect(errorOf(() => writePath(null, '$.x', 1))).toBe('States.ResultPathMatchFailure');
    expect(errorOf(() => writePath({ a: 'text' }, '$.a.b', 1))).toBe('States.ResultPathMatchFailure');
    expect(errorOf(() => writePath({ a: [] }, '$.a.b', 1))).toBe('States.ResultPathMatchFailure');
    expect(errorOf(() => writePath({ a: [] }, '$.a[5]', 1))).toBe('States.ResultPathMatchFailure');
    expect(errorOf(() => writePath({}, '$$.Execution', 1))).toBe('States.ResultPathMatchFailure');
  });
});
