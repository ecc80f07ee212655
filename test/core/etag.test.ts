/** One ETag rule: bare for storing and comparing, one pair of quotes in an HTTP header. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { normalizeEtag, quoteEtag, unquoteEtag } from '../../src/core/etag';

const md5 = createHash('md5').update('photo bytes').digest('hex');

describe('ETags', () => {
  it('unquote S3\'s quoted form, a weak validator and a bare one alike', () => {
    for (const spelling of [`"${md5}"`, md5, `W/"${md5}"`]) expect(unquoteEtag(spelling), spelling).toBe(md5);
    expect(unquoteEtag('"3858f62230ac3c915f300c664312c11f-2"')).toBe('3858f62230ac3c915f300c664312c11f-2');
    expect(unquoteEtag(undefined)).toBeUndefined();
  });

  it('compare bare, none as the empty tag', () => {
    expect(normalizeEtag(`"${md5}"`)).toBe(normalizeEtag(md5));
    expect(normalizeEtag(undefined)).toBe('');
  });

  it('go into a header quoted once, however they were stored', () => {
    for (const spelling of [`"${md5}"`, md5, `W/"${md5}"`]) expect(quoteEtag(spelling)).toBe(`"${md5}"`);
  });
});
