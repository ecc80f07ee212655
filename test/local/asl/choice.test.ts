import { describe, expect, it } from 'vitest';
import { globToRegExp, matchesRule, ruleProblems } from '../../../src/local/asl/choice';

const input = {
  status: 'needs-resize',
  other: 'needs-resize',
  n: 11,
  ten: 10,
  yes: true,
  nothing: null,
  at: '2026-11-24T10:00:00Z',
  later: '2026-11-24T12:00:00.500+01:00',
  key: 'photos/2026/a*b.jpg',
  list: [1],
};
const context = { Execution: { Name: 'run-1' } };
const match = (rule: Record<string, unknown>) => matchesRule({ ...rule, Next: 'X' }, input, context);

describe('Choice comparisons', () => {
  it.each([
    [{ Variable: '$.status', StringEquals: 'needs-resize' }, true],
    [{ Variable: '$.status', StringEquals: 'resized' }, false],
    [{ Variable: '$.status', StringEqualsPath: '$.other' }, true],
    [{ Variable: '$.status', StringLessThan: 'o' }, true],
    [{ Variable: '$.status', StringGreaterThanEquals: 'needs-resize' }, true],
    [{ Variable: '$.n', StringEquals: '11' }, false],
    [{ Variable: '$.n', NumericEquals: 11 }, true],
    [{ Variable: '$.n', NumericGreaterThan: 10 }, true],
    [{ Variable: '$.n', NumericGreaterThanPath: '$.ten' }, true],
    [{ Variable: '$.n', NumericLessThanEquals: 10 }, false],
    [{ Variable: '$.ten', NumericLessThanEquals: 10 }, true],
    [{ Variable: '$.status', NumericEquals: 11 }, false],
    [{ Variable: '$.yes', BooleanEquals: true }, true],
    [{ Variable: '$.yes', BooleanEqualsPath: '$.yes' }, true],
    [{ Variable: '$.n', BooleanEquals: true }, false],
    [{ Variable: '$.at', TimestampLessThan: '2026-11-24T10:00:01Z' }, true],
    [{ Variable: '$.at', TimestampEquals: '2026-11-24T11:00:00+01:00' }, true],
    [{ Variable: '$.later', TimestampGreaterThanPath: '$.at' }, true],
    [{ Variable: '$.status', TimestampEquals: '2026-11-24T10:00:00Z' }, false],
    [{ Variable: '$$.Execution.Name', StringEquals: 'run-1' }, true],
  ])('%j → %s', (rule, expected) => {
    expect(match(rule)).toBe(expected);
  });

  it.each([
    [{ Variable: '$.status', IsPresent: true }, true],
    [{ Variable: '$.missing', IsPresent: true }, false],
    [{ Variable: '$.missing', IsPresent: false }, true],
    [{ Variable: '$.nothing', IsNull: true }, true],
    [{ Variable: '$.n', IsNull: false }, true],
    [{ Variable: '$.n', IsNumeric: true }, true],
    [{ Variable: '$.status', IsString: true }, true],
    [{ Variable: '$.yes', IsBoolean: true }, true],
    [{ Variable: '$.at', IsTimestamp: true }, true],
    [{ Variable: '$.status', IsTimestamp: true }, false],
  ])('type test %j → %s', (rule, expected) => {
    expect(match(rule)).toBe(expected);
  });

  it('StringMatches with * wildcards and \\* for a literal asterisk', () => {
    expect(match({ Variable: '$.key', StringMatches: 'photos/*.jpg' })).toBe(true);
    expect(match({ Variable: '$.key', StringMatches: '*a\\*b.jpg' })).toBe(true);
    expect(match({ Variable: '$.key', StringMatches: '*a\\*c.jpg' })).toBe(false);
    expect(match({ Variable: '$.key', StringMatches: 'photos/2026/a.b.jpg' })).toBe(false);
    expect(globToRegExp('a\\\\b*').test('a\\bcd')).toBe(true);
    expect(globToRegExp('(x)+?').test('(x)+?')).toBe(true);
  });

  it('And, Or and Not, nested', () => {
    expect(match({ And: [{ Variable: '$.n', IsPresent: true }, { Variable: '$.n', NumericGreaterThan: 10 }] })).toBe(true);
    expect(match({ And: [{ Variable: '$.n', NumericGreaterThan: 10 }, { Variable: '$.yes', BooleanEquals: false }] })).toBe(false);
    expect(match({ Or: [{ Variable: '$.n', NumericLessThan: 0 }, { Not: { Variable: '$.missing', IsPresent: true } }] })).toBe(true);
    expect(match({ Not: { Or: [{ Variable: '$.status', StringEquals: 'x' }, { Variable: '$.status', StringEquals: 'y' }] } })).toBe(true);
  });

  it('a Variable that matches nothing is a States.Runtime error (IsPresent aside)', () => {
    expect(() => match({ Variable: '$.missing', StringEquals: 'x' })).toThrow(/States.Runtime/);
    expect(() => match({ Variable: '$.n', NumericEqualsPath: '$.missing' })).toThrow(/States.Runtime/);
  });
});

describe('ruleProblems', () => {
  it('accepts valid rules and names what is wrong with others', () => {
    expect(ruleProblems({ Variable: '$.a', StringEquals: 'x', Next: 'N' }, true)).toEqual([]);
    expect(ruleProblems({ And: [{ Variable: '$.a', IsPresent: true }], Next: 'N' }, true)).toEqual([]);
    expect(ruleProblems({ Variable: '$.a', StringEquals: 'x' }, true)).toEqual(['a Choice rule needs Next']);
    expect(ruleProblems({ Variable: '$.a', StringContains: 'x', Next: 'N' }, true)).toEqual(['the Choice operator StringContains is not supported']);
    expect(ruleProblems({ Variable: 'a', StringEquals: 'x', StringMatches: 'y', Next: 'N' }, true)).toEqual([
      'Variable "a" is not a reference path',
      'a Choice rule needs exactly one comparison operator (has StringEquals, StringMatches)',
    ]);
    expect(ruleProblems({ Or: [], Next: 'N' }, true)).toEqual(['Or must be a non-empty array of rules']);
    expect(ruleProblems({ Not: { Variable: '$.a', IsNull: 'yes', Next: 'N' }, Next: 'N' }, true)).toEqual(['a nested Choice rule cannot have Next', 'IsNull needs true or false']);
  });
});
