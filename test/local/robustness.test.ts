/**
 * Nothing lost: hostile inputs, injected faults, crashes mid-item, reruns, parallel runs, redrive and
 * the verify audit — all through the real state machine on the emulators.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import { readInventoryReport } from '../../src/core/inventory/read';
import { validateConfig } from '../../src/core/presets';
import { verifyRun, type VerifyContext } from '../../src/core/verify';
import { executeMigration, type LocalRunResult, runLocalMigration } from '../../src/local/migrate';
import { redriveLocal } from '../../src/local/redrive';
import { LOCAL_NAMES, type LocalStack, openLocalStack } from '../../src/local/stack';
import { hostileLibrary, noiseJpeg } from '../helpers/images';
import { isLibraryContent, listKeys } from '../helpers/library';

const presets = validateConfig(config);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-robust-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeFiles(root: string, files: Record<string, Buffer>): Promise<void> {
  for (const [name, body] of Object.entries(files)) {
    await mkdir(dirname(join(root, name)), { recursive: true });
    await writeFile(join(root, name), body);
  }
}

const verifyContext = (stack: LocalStack): VerifyContext => ({ store: stack.store, catalog: stack.context.catalog, libraryBucket: LOCAL_NAMES.libraryBucket, presets });
const audit = async (stack: LocalStack, run: LocalRunResult) => verifyRun(verifyContext(stack), await readInventoryReport(stack.store, run.manifest));

describe('hostile and odd inputs', () => {
  let stack: LocalStack;
  let run: LocalRunResult;
  let files: Record<string, Buffer>;

  beforeAll(async () => {
    files = await hostileLibrary();
    await writeFiles(join(dir, 'hostile'), files);
    stack = await openLocalStack(join(dir, 'hostile-data'));
    run = await runLocalMigration({ photosDir: join(dir, 'hostile'), dataDir: '', stack, timeScale: 0 });
  }, 120_000);
  afterAll(async () => stack?.close());

  it('processes each correctly or records it FAILED with its reason, and the batch goes on', () => {
    expect(run.status).toBe('SUCCEEDED');
    expect(run.summary.items).toBe(Object.keys(files).length);
    const reasons = Object.fromEntries(run.summary.failures.map((f) => [f.key, f.error]));
    expect(reasons).toEqual({
      'odd/truncated.jpg': expect.stringMatching(/cannot decode/),
      'odd/empty.jpg': 'empty file (0 bytes)',
      'odd/notes.jpg': 'not an image: unrecognised file format',
      'odd/bomb.png': expect.stringMatching(/^too large: 60000x60000/),
      'odd/external.svg': expect.stringMatching(/^refused: SVG/),
    });
    expect(run.summary.succeeded).toBe(Object.keys(files).length - 5);
  });

  it('gives each failure its machine-readable reason, the same in the run\'s results and in its failure row', async () => {
    const expected = { 'odd/truncated.jpg': 'corrupt', 'odd/empty.jpg': 'empty', 'odd/notes.jpg': 'not-an-image', 'odd/bomb.png': 'too-large', 'odd/external.svg': 'unsupported' };
    expect(Object.fromEntries(run.summary.failures.map((f) => [f.key, f.reason]))).toEqual(expected);
    for (const [key, reason] of Object.entries(expected)) {
      // The row keeps the message without the reason's mark, as run --json shows it.
      const row = await stack.context.catalog.failureFor(key);
      expect(row).toMatchObject({ errorType: 'PhotoError', reason, error: run.summary.failures.find((f) => f.key === key)!.error });
      expect(row!.error).not.toMatch(/^\[/);
    }
  });

  it('renders the odd-but-valid ones upright, in sRGB, 8-bit; an animated GIF stays an animated GIF (issue 18), every frame at the preset size', async () => {
    for (const key of ['odd/sixteen-bit.png', 'odd/cmyk-with-icc.jpg', 'odd/cmyk-no-icc.jpg', 'odd/animated.gif', 'odd/grey.jpg', 'odd/alpha.png']) {
      const small = (await stack.context.catalog.rowsForKey(key)).find((row) => row.preset === 'small')!;
      const body = (await stack.store.get({ bucket: LOCAL_NAMES.libraryBucket, key: small.assetKey })).body;
      const meta = await sharp(body).metadata();
      const animated = key === 'odd/animated.gif';
      const source = animated ? await sharp(files[key]!).metadata() : undefined;
      expect([meta.width, meta.pageHeight ?? meta.height, meta.space, meta.depth, meta.pages ?? 1], key).toEqual([300, 200, 'srgb', 'uchar', source?.pages ?? 1]);
      expect(meta.format, key).toBe(key === 'odd/alpha.png' ? 'png' : animated ? 'gif' : 'jpeg');
    }
    for (let orientation = 1; orientation <= 8; orientation++) {
      const large = (await stack.context.catalog.rowsForKey(`odd/orientation-${orientation}.jpg`)).find((row) => row.preset === 'large')!;
      expect([large.width, large.height], `orientation ${orientation}`).toEqual([600, 400]);
    }
  });

  it('leaves verify with no discrepancy', async () => {
    const report = await audit(stack, run);
    expect(report).toMatchObject({ items: Object.keys(files).length, failed: 5, incomplete: 0, discrepancies: [] });
  });
});

describe('injected faults, crashes, reruns, parallel runs, redrive', () => {
  let stack: LocalStack;
  let run: LocalRunResult;
  const photos: Record<string, Buffer> = {};

  beforeAll(async () => {
    for (let i = 0; i < 16; i++) photos[`set/photo ${i}.jpg`] = await noiseJpeg(480 + i * 8, 360, 100 + i);
    photos['set/copy of photo 3.jpg'] = photos['set/photo 3.jpg']!;
    photos['set/broken.jpg'] = photos['set/photo 5.jpg']!.subarray(0, 4000);
    await writeFiles(join(dir, 'set'), photos);
    stack = await openLocalStack(join(dir, 'faulty-data'), {
      faults: { slowDown: 0.05, internalError: 0.01, throttle: 0.15, crash: 0.15, seed: 7 },
    });
    run = await runLocalMigration({ photosDir: join(dir, 'set'), dataDir: '', stack, timeScale: 0.001 });
  }, 240_000);
  afterAll(async () => stack?.close());

  it('absorbs SlowDown, 500s, throttling and crashed Lambdas: every item DONE or FAILED, verify clean', async () => {
    expect(run.status).toBe('SUCCEEDED');
    expect(run.injected!.slowDown + run.injected!.internalError).toBeGreaterThan(0);
    expect(run.injected!.throttle).toBeGreaterThan(0);
    expect(run.injected!.crash).toBeGreaterThan(0);
    expect(run.retries).toBeGreaterThan(0);
    // Most S3/DynamoDB faults never reach the state machine: the SDK's own retries absorb them.
    expect(run.sdkRetries).toBeGreaterThan(0);
    expect(run.sdkRetries).toBeLessThanOrEqual(run.injected!.slowDown + run.injected!.internalError + run.injected!.throttle);
    expect(run.summary).toMatchObject({ items: 18, failed: 1 });
    expect(run.summary.failures).toEqual([{ key: 'set/broken.jpg', error: expect.stringMatching(/cannot decode/), reason: 'corrupt' }]);
    const report = await audit(stack, run);
    expect(report).toMatchObject({ items: 18, done: 17, failed: 1, incomplete: 0, discrepancies: [] });
  });

  it('an immediate rerun writes no object and changes no row', async () => {
    const before = (await listKeys(stack.s3, LOCAL_NAMES.libraryBucket)).filter(isLibraryContent);
    const rowsBefore = await stack.context.catalog.rowsForKey('set/photo 1.jpg');
    const again = await executeMigration(stack, run.manifest, { timeScale: 0.001 });
    expect(again.summary).toMatchObject({ items: 18, assets: 0, pointers: 0, catalogRows: 0 });
    expect((await listKeys(stack.s3, LOCAL_NAMES.libraryBucket)).filter(isLibraryContent)).toEqual(before);
    expect(await stack.context.catalog.rowsForKey('set/photo 1.jpg')).toEqual(rowsBefore);
  });

  it('two runs of a new inventory in parallel (every batch delivered twice) leave one row per crop', async () => {
    const fresh: Record<string, Buffer> = {};
    for (let i = 0; i < 6; i++) fresh[`twice/p${i}.jpg`] = await noiseJpeg(300, 300, 500 + i);
    await writeFiles(join(dir, 'twice'), fresh);
    const first = await runLocalMigration({ photosDir: join(dir, 'twice'), dataDir: '', stack, timeScale: 0.001 });
    expect(first.manifest.key).not.toBe(run.manifest.key); // same minute, yet its own report
    await Promise.all([executeMigration(stack, first.manifest, { timeScale: 0.001 }), executeMigration(stack, first.manifest, { timeScale: 0.001 })]);
    for (const key of Object.keys(fresh)) {
      const rows = await stack.context.catalog.rowsForKey(key);
      expect(rows.map((row) => row.preset).sort(), key).toEqual(['large', 'medium', 'original', 'small', 'thumb']);
    }
    expect((await audit(stack, first)).discrepancies).toEqual([]);
  });

  it('verify reports a missing asset and a re-pointed pointer, and only those', async () => {
    const rows = await stack.context.catalog.rowsForKey('set/photo 2.jpg');
    const thumb = rows.find((row) => row.preset === 'thumb')!;
    const small = rows.find((row) => row.preset === 'small')!;
    await stack.store.delete({ bucket: LOCAL_NAMES.libraryBucket, key: thumb.assetKey });
    await stack.store.put({ bucket: LOCAL_NAMES.libraryBucket, key: small.logicalKey }, new Uint8Array(0), { redirectLocation: '/assets/elsewhere.jpg' });
    const report = await audit(stack, run);
    expect(report.incomplete).toBe(1);
    expect(report.discrepancies).toHaveLength(2);
    expect(report.discrepancies).toEqual(
      expect.arrayContaining([
        { key: 'set/photo 2.jpg', problem: `thumb: asset ${thumb.assetKey} is missing` },
        { key: 'set/photo 2.jpg', problem: `small: pointer ${small.logicalKey} points at /assets/elsewhere.jpg, not /${small.assetKey}` },
      ]),
    );
  });

  it('redrive runs only the failed item again; once its original is fixed, it is DONE', async () => {
    const last = await executeMigration(stack, run.manifest, { timeScale: 0.001 });
    expect(last.summary.failures.map((f) => f.key)).toEqual(['set/broken.jpg']);
    await stack.store.put({ bucket: LOCAL_NAMES.sourceBucket, key: 'set/broken.jpg' }, await noiseJpeg(500, 400, 999), { contentType: 'image/jpeg' });
    const { keys, result } = await redriveLocal(stack, { timeScale: 0.001 });
    expect(keys).toEqual(['set/broken.jpg']);
    // Not the summary's asset count: with crashes injected, an attempt may write assets and die, and
    // the retry that succeeds finds them there. What counts is what the bucket and catalog hold.
    expect(result!.summary).toMatchObject({ items: 1, succeeded: 1, failed: 0, resized: 1 });
    expect(await stack.context.catalog.failureFor('set/broken.jpg')).toBeUndefined();
    const rows = await stack.context.catalog.rowsForKey('set/broken.jpg');
    expect(rows.length).toBe(5);
    for (const row of rows) expect((await stack.store.head({ bucket: LOCAL_NAMES.libraryBucket, key: row.assetKey }))?.size).toBe(row.bytes);
    expect(await redriveLocal(stack, { timeScale: 0.001 })).toMatchObject({ keys: [], found: { failedKeys: [], unfinishedKeys: [], damagedKeys: ['set/photo 2.jpg'] } });
  });
});
