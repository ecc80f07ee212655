/**
 * The Accept rule (src/core/negotiate.ts): explicit media types only, q-values honoured (q=0 refuses),
 * wildcards never imply a modern format, case and spaces do not matter; and the very same rule as the
 * CloudFront Function's code.
 */
import { runInNewContext } from 'node:vm';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { acceptedFormats, FORMAT_HEADER, formatChoice, parseChoice } from '../../src/core/negotiate';
import { BROWSER_ACCEPT } from '../helpers/accept';


describe('formatChoice', () => {
  it('real browsers: Chrome, Safari and Firefox take AVIF first (then WebP); Safari 16 WebP only; curl the primary', () => {
    expect(formatChoice(BROWSER_ACCEPT.chrome)).toBe('avif,webp');
    expect(formatChoice(BROWSER_ACCEPT.safari)).toBe('avif,webp');
    expect(formatChoice(BROWSER_ACCEPT.firefox)).toBe('avif,webp');
    expect(formatChoice(BROWSER_ACCEPT.firefox92)).toBe('avif,webp');
    expect(formatChoice(BROWSER_ACCEPT.safari16)).toBe('webp');
    expect(formatChoice(BROWSER_ACCEPT.curl)).toBe('orig');
  });

  it('wildcards alone never mean AVIF or WebP; no header is the primary', () => {
    for (const accept of ['*/*', 'image/*', 'image/*,*/*;q=0.8', 'image/png,image/jpeg', '', undefined, null]) expect(formatChoice(accept), String(accept)).toBe('orig');
  });

  it('q=0 refuses a format, even with a wildcard that would allow it; other q-values order the two', () => {
    expect(formatChoice('image/webp;q=0,image/avif')).toBe('avif');
    expect(formatChoice('image/avif;q=0,image/webp,*/*')).toBe('webp');
    expect(formatChoice('image/avif;q=0, image/webp;q=0, image/*')).toBe('orig');
    expect(formatChoice('image/avif;q=0.5,image/webp;q=0.9')).toBe('webp,avif');
    expect(formatChoice('image/avif;q=0.9,image/webp;q=0.9')).toBe('avif,webp');
    expect(formatChoice('image/webp;q=0.000')).toBe('orig');
    expect(formatChoice('image/webp;q=0.001')).toBe('webp');
  });

  it('a malformed q-value refuses; the same type named twice takes the lower weight', () => {
    expect(formatChoice('image/webp;q=abc')).toBe('orig');
    expect(formatChoice('image/webp;q=2')).toBe('orig');
    expect(formatChoice('image/webp;q=')).toBe('orig');
    expect(formatChoice('image/webp,image/webp;q=0')).toBe('orig');
  });

  it('case and spaces do not matter; other parameters are ignored', () => {
    expect(formatChoice('IMAGE/AVIF ; Q=1 ,  Image/WebP;q = 0.5')).toBe('avif,webp');
    expect(formatChoice(' image/webp ; foo=bar ; q=0.7 ')).toBe('webp');
    expect(formatChoice('image/avif\t;q=0.2')).toBe('avif');
  });

  it('is not fooled by look-alike types', () => {
    expect(formatChoice('image/webpx,image/avif-sequence,video/webp,application/avif')).toBe('orig');
  });
});

describe('parseChoice / acceptedFormats', () => {
  it('reads back every value formatChoice makes; refuses anything else', () => {
    expect(parseChoice('avif,webp')).toEqual(['avif', 'webp']);
    expect(parseChoice('webp,avif')).toEqual(['webp', 'avif']);
    expect(parseChoice('webp')).toEqual(['webp']);
    expect(parseChoice('orig')).toEqual([]);
    for (const bad of ['jpeg', 'avif,avif', 'avif,webp,avif', '', 'image/avif']) expect(parseChoice(bad), bad).toBeUndefined();
    expect(parseChoice(undefined)).toBeUndefined();
  });

  it('prefers the edge function\'s header, and computes from Accept when it is absent or not a valid choice', () => {
    expect(acceptedFormats({ format: 'orig', accept: BROWSER_ACCEPT.chrome })).toEqual([]);
    expect(acceptedFormats({ accept: BROWSER_ACCEPT.chrome })).toEqual(['avif', 'webp']);
    expect(acceptedFormats({ format: 'garbage', accept: BROWSER_ACCEPT.safari16 })).toEqual(['webp']);
    expect(acceptedFormats({})).toEqual([]);
  });
});

describe('the CloudFront Function', () => {
  const require = createRequire(import.meta.url);
  const { viewerRequest } = require('../../scripts/cloudfront-functions.cjs') as { viewerRequest: string };
  const run = (headers: Record<string, { value: string }>) => {
    const sandbox: { handler?: (event: unknown) => { uri: string; headers: Record<string, { value: string }> } } = {};
    runInNewContext(`${viewerRequest}\nthis.handler = handler;`, sandbox);
    return sandbox.handler!({ request: { uri: '/small/a%20b.jpg', method: 'GET', querystring: {}, headers } });
  };

  it('sets the normalised choice from Accept with the same rule, overwriting a viewer\'s own value', () => {
    for (const accept of [...Object.values(BROWSER_ACCEPT), 'image/webp;q=0,image/avif', 'IMAGE/WEBP']) {
      expect(run({ accept: { value: accept } }).headers[FORMAT_HEADER], accept).toEqual({ value: formatChoice(accept) });
    }
    expect(run({ [FORMAT_HEADER]: { value: 'avif' } }).headers[FORMAT_HEADER]).toEqual({ value: 'orig' });
    expect(run({}).uri).toBe('/small/a%20b.jpg');
  });
});
