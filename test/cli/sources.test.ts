/** `photo-scaler run --sources … --allow-host …` through the real command in a child process, fetching from an origin on 127.0.0.1 in this process. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noiseJpeg } from '../helpers/images';
import { type Origin, startOrigin } from '../helpers/origin';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../scripts/photo-scaler.mjs');
let dir: string;
let origin: Origin;
const cli = (...args: string[]) => run(process.execPath, [BIN, ...args], { cwd: dir, timeout: 180_000 });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-cli-sources-'));
  origin = await startOrigin({ photos: { 'a.jpg': await noiseJpeg(400, 300, 21), 'b.jpg': await noiseJpeg(300, 300, 22) } });
  await writeFile(
    join(dir, 'sources.csv'),
    `key,url\nold/a.jpg,${origin.url('/photo/a.jpg')}?sig=SECRET-CLI\nold/b.jpg,${origin.url('/photo/b.jpg')}?sig=SECRET-CLI\nold/gone.jpg,${origin.url('/missing/c.jpg')}?sig=SECRET-CLI\n`,
  );
  await writeFile(join(dir, 'bad.csv'), `key,url\nx.jpg,ftp://h.example/x?sig=SECRET-CLI\n,https://h.example/y\n`);
});

afterAll(async () => {
  await origin?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('photo-scaler run --sources', () => {
  it('prints the same --json summary as a folder run, with the copy phase last; a rerun copies nothing; verify passes', async () => {
    const { stdout, stderr } = await cli('run', '--sources', join(dir, 'sources.csv'), '--allow-host', origin.host, '--data-dir', join(dir, 'data'), '--json');
    const result = JSON.parse(stdout);
    expect(Object.keys(result).slice(0, 8)).toEqual(['items', 'succeeded', 'failed', 'duplicates', 'assets', 'pointers', 'catalogRows', 'failures']);
    expect(Object.keys(result).at(-1)).toBe('copy');
    expect(result).toMatchObject({ items: 3, succeeded: 2, failed: 1, failures: [{ key: 'old/gone.jpg', reason: 'http-4xx' }], copy: { fetched: 2, kept: 0, failed: 1, failedByReason: { 'http-4xx': 1 } } });
    expect(result.failures[0].error).toContain('?***');
    expect(`${stdout}${stderr}`).not.toContain('SECRET');

    const before = origin.total();
    const again = JSON.parse((await cli('run', '--sources', join(dir, 'sources.csv'), '--allow-host', origin.host, '--data-dir', join(dir, 'data'), '--json')).stdout);
    expect(again).toMatchObject({ items: 3, unchanged: 2, assets: 0, copy: { fetched: 0, kept: 2, bytes: 0 } });
    // Only the row that failed was asked for again.
    expect(origin.total() - before).toBe(1);
    const audit = JSON.parse((await cli('verify', '--data-dir', join(dir, 'data'), '--json')).stdout);
    expect(audit).toMatchObject({ items: 3, done: 2, failed: 1, discrepancies: [] });
  }, 240_000);

  it('without --allow-host, every row fails host-refused and nothing is requested', async () => {
    const before = origin.total();
    const result = JSON.parse((await cli('run', '--sources', join(dir, 'sources.csv'), '--data-dir', join(dir, 'data-closed'), '--json').catch((e: { stdout: string }) => e)).stdout);
    expect(result.copy).toMatchObject({ fetched: 0, failed: 3, failedByReason: { 'host-refused': 3 } });
    expect(origin.total()).toBe(before);
  }, 240_000);

  it('refuses a CSV with bad rows (each named, no secret) and --photos with --sources, running nothing', async () => {
    const bad = await cli('run', '--sources', join(dir, 'bad.csv'), '--data-dir', join(dir, 'data-bad')).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: expect.any(Number) });
    expect((bad as { stderr: string }).stderr).toMatch(/2 bad rows, nothing was run:[\s\S]*line 2: x\.jpg: url ftp:\/\/h\.example\/x\?\*\*\* is not https[\s\S]*line 3: empty key/);
    expect((bad as { stderr: string }).stderr).not.toContain('SECRET');
    const both = await cli('run', '--sources', join(dir, 'sources.csv'), '--photos', dir).catch((e: { stderr: string }) => e);
    expect((both as { stderr: string }).stderr).toMatch(/--photos <dir> \(a folder\) or --sources <file\.csv>/);
  });
});
