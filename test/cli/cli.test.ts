/** The CLI contract, through the real `photo-scaler` command in a child process. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_NAMES, openLocalStack } from '../../src/local/stack';
import { noiseJpeg } from '../helpers/images';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../scripts/photo-scaler.mjs');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-cli-'));
  await mkdir(join(dir, 'photos/sub dir'), { recursive: true });
  await writeFile(join(dir, 'photos/sub dir/a+b 50%.jpg'), await noiseJpeg(640, 480, 11));
  await writeFile(join(dir, 'photos/c.jpg'), await noiseJpeg(500, 500, 12));
  await writeFile(join(dir, 'photos/README.txt'), 'not a photo, not uploaded');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cli = (...args: string[]) => run(process.execPath, [BIN, ...args], { cwd: dir, timeout: 120_000 });

describe('photo-scaler run --json', () => {
  it('prints exactly one JSON object with the contract fields, and an unchanged rerun writes 0', async () => {
    const { stdout } = await cli('run', '--photos', join(dir, 'photos'), '--data-dir', join(dir, 'data'), '--json');
    const result = JSON.parse(stdout);
    expect(Object.keys(result).slice(0, 8)).toEqual(['items', 'succeeded', 'failed', 'duplicates', 'assets', 'pointers', 'catalogRows', 'failures']);
    expect(result).toMatchObject({ items: 2, succeeded: 2, failed: 0, duplicates: 0, assets: 10, pointers: 10, catalogRows: 10, failures: [] });

    const again = JSON.parse((await cli('run', '--photos', join(dir, 'photos'), '--data-dir', join(dir, 'data'), '--json')).stdout);
    expect(again).toMatchObject({ items: 2, succeeded: 2, assets: 0, pointers: 0, catalogRows: 0 });
  }, 180_000);

  it('refuses a missing folder with a clear message and a non-zero exit', async () => {
    await expect(cli('run', '--photos', join(dir, 'nope'), '--data-dir', join(dir, 'data2'))).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/photos folder not found/),
    });
  });
});

describe('photo-scaler verify and redrive', () => {
  it('audits the last run (exit 0), reports a broken pointer (exit 1), and redrives nothing when all succeeded', async () => {
    const ok = JSON.parse((await cli('verify', '--data-dir', join(dir, 'data'), '--json')).stdout);
    expect(ok).toMatchObject({ items: 2, done: 2, failed: 0, incomplete: 0, discrepancies: [] });
    const redrive = JSON.parse((await cli('redrive', '--data-dir', join(dir, 'data'), '--json')).stdout);
    expect(redrive).toMatchObject({ items: 0, redriven: [], found: { items: 2, done: 2, failed: 0, notFinished: 0, damaged: 0 } });

    const stack = await openLocalStack(join(dir, 'data'));
    await stack.store.put({ bucket: LOCAL_NAMES.libraryBucket, key: 'thumb/c.jpg' }, new Uint8Array(0), { redirectLocation: '/assets/wrong.jpg' });
    await stack.close();
    const broken = await cli('verify', '--data-dir', join(dir, 'data'), '--json').then(
      () => undefined,
      (error: { code: number; stdout: string }) => error,
    );
    expect(broken?.code).toBe(1);
    expect(JSON.parse(broken!.stdout).discrepancies).toEqual([{ key: 'c.jpg', problem: expect.stringMatching(/^thumb: pointer thumb\/c.jpg points at \/assets\/wrong.jpg/) }]);
  });
});

describe('photo-scaler estimate', () => {
  it('prices a migration from the state machine shape and the timings file', async () => {
    const timings = join(dir, 'timings.json');
    await writeFile(timings, JSON.stringify({ source: 'test', renderMsPerMegapixel: 10, sha256MBps: 1000, cropBytesPerMegapixel: 20000 }));
    const { stdout } = await cli('estimate', '--photos', '1000000', '--avg-megapixels', '12', '--timings', timings, '--json');
    const result = JSON.parse(stdout);
    expect(result.input).toMatchObject({ photos: 1_000_000, avgMegapixels: 12, avgMB: 4, memoryMB: 1769, concurrency: 160, batchSize: 8 });
    expect(result.timings).toBe(`test (${timings})`);
    expect(result.lines.map((l: { item: string }) => l.item)).toEqual([
      'Lambda compute (arm64)', 'Lambda requests', 'Step Functions Standard (parent)', 'Step Functions Express (children)',
      'S3 GET/HEAD', 'S3 PUT (assets + pointers)', 'DynamoDB writes', 'DynamoDB reads',
    ]);
    expect(result.totalUsd).toBeGreaterThan(0);
    expect(result.wallClockHours).toBeGreaterThan(0);
    // Serving: a million CDN misses at the deployed resolver, next to Lambda@Edge.
    expect(result.serving.input).toEqual({ avgKB: 60, resolveMemoryMB: 1769 });
    expect(result.serving.resolver.usdPerMillionMisses).toBeGreaterThan(0);
    expect(result.serving.lambdaAtEdge.usdPerMillionMisses).toBeGreaterThan(0);
  });

  it('--formats prices extra formats not yet configured: more PUTs, rows, storage and Lambda time, a `formats` field last', async () => {
    const timings = join(dir, 'timings.json');
    await writeFile(timings, JSON.stringify({ source: 'test', renderMsPerMegapixel: 10, sha256MBps: 1000, cropBytesPerMegapixel: 20000 }));
    const args = ['estimate', '--photos', '1000000', '--timings', timings, '--json'];
    const plain = JSON.parse((await cli(...args)).stdout);
    const priced = JSON.parse((await cli(...args, '--formats', 'webp,avif')).stdout);
    expect(plain).not.toHaveProperty('formats');
    expect(Object.keys(priced)).toEqual([...Object.keys(plain), 'formats']);
    expect(priced.formats.perFormat.map((f: { format: string; presets: number; putsPerPhoto: number }) => [f.format, f.presets, f.putsPerPhoto])).toEqual([['webp', 4, 8], ['avif', 4, 8]]);
    expect(priced.formats).toMatchObject({ addedPuts: 16_000_000, addedCatalogRows: 8_000_000 });
    expect([priced.totalUsd > plain.totalUsd, priced.storagePerMonthUsd > plain.storagePerMonthUsd, priced.perPhoto.resizeMs > plain.perPhoto.resizeMs]).toEqual([true, true, true]);
    expect(priced.formats.addedUsd).toBeCloseTo(priced.totalUsd - plain.totalUsd, 1);
    const human = (await cli('estimate', '--photos', '1000', '--formats', 'webp')).stdout;
    expect(human).toMatch(/Extra formats \(included above\): \+\$[\d.]+ per run/);
    await expect(cli('estimate', '--photos', '1000', '--formats', 'jpeg')).rejects.toMatchObject({ stderr: expect.stringMatching(/--formats takes webp, avif/) });
  });

  it('refuses a bad count', async () => {
    await expect(cli('estimate', '--photos', 'many')).rejects.toMatchObject({ stderr: expect.stringMatching(/--photos must be a positive number/) });
  });
});

describe('photo-scaler serve', () => {
  let server: ChildProcess | undefined;
  afterAll(() => {
    server?.kill('SIGTERM');
  });

  it('serves what run stored: the banner names the CDN view, where the crop answers 200 with its bytes; on the website its pointer answers 301', async () => {
    server = spawn(process.execPath, [BIN, 'serve', '--data-dir', join(dir, 'data'), '--port', '0', '--cdn-port', '0'], { cwd: dir });
    const banner = await new Promise<string>((resolve, reject) => {
      let out = '';
      server!.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (/^Website .*\n/m.test(out)) resolve(out);
      });
      server!.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
    });
    const cdnLine = banner.split('\n').find((line) => line.startsWith('CDN'));
    const cdn = /http:\/\/127\.0\.0\.1:\d+/.exec(cdnLine ?? '')?.[0];
    const website = /http:\/\/127\.0\.0\.1:\d+/.exec(banner.split('\n').find((line) => line.startsWith('Website')) ?? '')?.[0];
    expect(cdn, banner).toBeDefined();
    expect(website).not.toBe(cdn);

    const image = await fetch(`${cdn}/thumb/sub%20dir/a%2Bb%2050%25.jpg`, { redirect: 'manual' });
    expect(image.status).toBe(200);
    const meta = await sharp(Buffer.from(await image.arrayBuffer())).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 80, 80]);
    const pointer = await fetch(`${website}/thumb/sub%20dir/a%2Bb%2050%25.jpg`, { redirect: 'manual' });
    expect(pointer.status).toBe(301);
  }, 60_000);
});
