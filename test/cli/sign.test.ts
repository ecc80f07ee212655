/**
 * `photo-scaler sign`, through the real command in a child process: it signs only what the
 * on-demand path would render — a size of config.onDemand.sizes — and refuses anything else before
 * printing a thing, as the resolver and the API refuse it (400, checkDynamicRequest).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import { encodeKeyPath } from '../../src/core/cdn';
import { signRequest } from '../../src/core/on-demand';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../scripts/photo-scaler.mjs');
const SECRET = 'a-signing-secret-for-the-sign-command';
const KEY = 'trips/a b.jpg';
// The child inherits no secret from this environment: each case passes --secret or nothing.
const env = { ...process.env, [config.onDemand.signingSecretEnv]: '' };
const sign = (...args: string[]) => run(process.execPath, [BIN, 'sign', ...args], { env, timeout: 100_000 });

describe('photo-scaler sign', () => {
  it('prints the signed path of an allowed size (its canonical spelling: 300x200-cover is 300x200)', async () => {
    expect(config.onDemand.sizes).toContain('300x200');
    const { stdout } = await sign('300x200', KEY, '--secret', SECRET, '--base-url', 'http://127.0.0.1:8081/');
    expect(stdout).toBe(`http://127.0.0.1:8081/dynamic/300x200/${encodeKeyPath(KEY)}?sig=${signRequest(SECRET, '300x200', KEY)}\n`);
    const cover = await sign('300x200-cover', KEY, '--secret', SECRET);
    expect(cover.stdout).toBe(`/dynamic/300x200/${encodeKeyPath(KEY)}?sig=${signRequest(SECRET, '300x200', KEY)}\n`);
  }, 120_000);

  it('refuses a well-formed size that is not in onDemand.sizes: a clear message, exit 1, nothing on stdout', async () => {
    // 1600x1200 is allowed only as 1600x1200-inside.
    for (const size of ['123x45', '1600x1200']) {
      const failure = await sign(size, KEY, '--secret', SECRET).then(
        (ok) => ({ code: 0, ...ok }),
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
      expect(failure.code, size).toBe(1);
      expect(failure.stdout, size).toBe('');
      expect(failure.stderr, size).toMatch(new RegExp(`size ${size} is not allowed; allowed: ${config.onDemand.sizes.join(', ')}`));
    }
  }, 120_000);
});
