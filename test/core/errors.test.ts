import { describe, expect, it } from 'vitest';
import { causeMessage, errorMessage, FAILURE_REASONS, failureOf, PHOTO_REASONS, PhotoError, TransientError } from '../../src/core/errors';

describe('PhotoError', () => {
  it('keeps its name (what the state machine matches), its reason, and its message for people apart from the mark that carries the reason', () => {
    const error = new PhotoError('too-large', 'too large: 9 bytes, limit is 8');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('PhotoError');
    expect(error.reason).toBe('too-large');
    expect(error.detail).toBe('too large: 9 bytes, limit is 8');
    expect(error.message).toBe('[too-large] too large: 9 bytes, limit is 8');
    expect(errorMessage(error)).toBe('too large: 9 bytes, limit is 8');
    expect(errorMessage(new TransientError('SlowDown'))).toBe('SlowDown');
  });
});

describe('failureOf: the one place a caught error becomes a reason', () => {
  it('reads every PhotoError reason back from its message, without the mark', () => {
    for (const reason of PHOTO_REASONS) {
      const error = new PhotoError(reason, `what happened (${reason})`);
      expect(failureOf(error.name, error.message)).toEqual({ reason, error: `what happened (${reason})` });
    }
  });

  it('names the errors that are not the photo\'s fault by the Step Functions error that reached the Catch', () => {
    const cases: Array<[string, string]> = [
      ['States.Timeout', 'timeout'],
      ['Sandbox.Timedout', 'timeout'],
      ['TransientError', 'transient'],
      ['Lambda.TooManyRequestsException', 'transient'],
      ['Lambda.ServiceException', 'transient'],
      ['ContentBusy', 'busy'],
      ['AccessDenied', 'access-denied'],
      ['AccessDeniedException', 'access-denied'],
      ['NotFoundError', 'gone'],
      ['Lambda.Unknown', 'internal'],
      ['ConfigError', 'internal'],
      ['Error', 'internal'],
    ];
    for (const [errorType, reason] of cases) expect(failureOf(errorType, 'detail')).toEqual({ reason, error: 'detail' });
  });

  it('a PhotoError recorded before reasons existed is unclassified; a mark that is no reason is left in the message', () => {
    expect(failureOf('PhotoError', 'cannot decode: VipsJpeg: premature end')).toEqual({ reason: 'unclassified', error: 'cannot decode: VipsJpeg: premature end' });
    expect(failureOf('PhotoError', '[sic] the photo')).toEqual({ reason: 'unclassified', error: '[sic] the photo' });
    // The reason comes from the error name too: a marked message under another name does not make it a photo's fault.
    expect(failureOf('Lambda.Unknown', '[corrupt] x')).toEqual({ reason: 'internal', error: 'x' });
  });

  it('every reason is one word of lowercase letters and dashes (a metric dimension and a JSON value)', () => {
    for (const reason of FAILURE_REASONS) expect(reason).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    expect(new Set(FAILURE_REASONS).size).toBe(FAILURE_REASONS.length);
  });
});

describe('causeMessage', () => {
  it('is the errorMessage of a Lambda error\'s JSON Cause, or the plain text of a States.* Cause', () => {
    expect(causeMessage(JSON.stringify({ errorType: 'PhotoError', errorMessage: '[empty] empty file (0 bytes)', trace: [] }))).toBe('[empty] empty file (0 bytes)');
    expect(causeMessage('the task dedupe did not finish within 25 s')).toBe('the task dedupe did not finish within 25 s');
    expect(causeMessage('42')).toBe('42');
    expect(causeMessage(undefined)).toBe('');
  });
});
