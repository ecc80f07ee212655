/** The fetch Lambda handler: one log line per row, the URL redacted in every one, the error rethrown for the Catch. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors';
import { DEFAULT_FETCH_OPTIONS, type FetchContext } from '../../src/core/fetch/fetch';
import { makeFetchHandler, parseAllowlist, redactText } from '../../src/handlers/fetch';
import { noiseJpeg } from '../helpers/images';
import { MemoryStore, MemoryUploads } from '../helpers/memory-store';
import { type Origin, startOrigin } from '../helpers/origin';

let origin: Origin;
beforeAll(async () => {
  origin = await startOrigin({ photos: { 'a.jpg': await noiseJpeg(200, 150, 3) } });
});
afterAll(() => origin?.close());

describe('fetch handler', () => {
  it('logs each row with its URL redacted, success or failure, and rethrows the FetchError', async () => {
    const lines: string[] = [];
    const store = new MemoryStore();
    const context: FetchContext = {
      store,
      uploads: new MemoryUploads(store),
      sourceBucket: 'source',
      maxInputBytes: 10_000_000,
      presetNames: [],
      derivedPrefixBytes: 0,
      options: { ...DEFAULT_FETCH_OPTIONS, allowlist: parseAllowlist([origin.host]), lookup: async () => [] },
    };
    const handler = makeFetchHandler(() => context, { sink: (line) => lines.push(line) });
    const item = await handler({ row: { key: 'a.jpg', url: `${origin.url('/photo/a.jpg')}?sig=SECRET-1` }, runId: 'run-1' });
    expect(item).toMatchObject({ bucket: 'source', key: 'a.jpg', copied: { attempts: 1 } });
    await expect(handler({ row: { key: 'b.jpg', url: `${origin.url('/missing/b.jpg')}?sig=SECRET-2` }, runId: 'run-1' })).rejects.toMatchObject({ name: 'FetchError', reason: 'http-4xx' });
    const logged = lines.map((line) => JSON.parse(line) as Record<string, any>);
    expect(logged.map((l) => [l.step, l.key, l.message])).toEqual([
      ['fetch', 'a.jpg', 'fetch: copied'],
      ['fetch', 'b.jpg', 'fetch: failed (the state machine catches it)'],
    ]);
    expect(logged[0]!.from).toBe(`${origin.url('/photo/a.jpg')}?***`);
    expect(logged[1]!.error.message).toMatch(/answered 404/);
    expect(lines.join('\n')).not.toContain('SECRET');
  });

  it('reads the allowlist (commas or spaces), refusing a bad entry; redacts any URL left in a text', () => {
    expect(parseAllowlist(['a.example, b.example:8443', '*.blob.core.windows.net'])).toEqual([{ host: 'a.example' }, { host: 'b.example', port: 8443 }, { host: '*.blob.core.windows.net' }]);
    expect(parseAllowlist([''])).toEqual([]);
    expect(() => parseAllowlist(['http://a.example'])).toThrow(ConfigError);
    expect(redactText('GET https://x.example/a.jpg?sig=S3CR3T failed; s3://b/k?v=1')).toBe('GET https://x.example/a.jpg?*** failed; s3://b/k?***');
  });
});
