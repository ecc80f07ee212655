/** `photo-scaler plan` through the real command, on a report laid out as `aws s3 sync s3://<destination bucket> <dir>` copies it. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLAN_REFUSALS } from '../../src/core/plan';
import { type InventoryObject, writeInventoryReport } from '../../src/local/inventory-writer';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../scripts/photo-scaler.mjs');
let dir: string;
let manifestPath: string;

const lastModified = new Date('2026-01-01T00:00:00Z');
const OBJECTS: InventoryObject[] = [
  { key: 'trip/a b.jpg', size: 3_000_000, etag: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', lastModified },
  { key: 'trip/copy of a b.jpg', size: 3_000_000, etag: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', lastModified },
  { key: 'trip/c+d 100%.png', size: 2_000_000, etag: 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', lastModified },
  { key: 'élan/été.heic', size: 1_500_000, etag: 'cccccccccccccccccccccccccccccccc-2', lastModified },
  // 'small' is a preset: its crops' prefix.
  { key: 'small/x.jpg', size: 10, etag: 'dddddddddddddddddddddddddddddddd', lastModified },
  { key: 'trip/', size: 0, etag: 'd41d8cd98f00b204e9800998ecf8427e', lastModified },
  { key: 'readme.txt', size: 20, etag: 'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee', lastModified },
];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-plan-'));
  ({ manifestPath } = await writeInventoryReport(dir, { sourceBucket: 'my-photos', destinationBucket: 'my-inventory', prefix: 'inventory', configId: 'weekly', objects: OBJECTS, now: new Date('2026-12-01T06:00:00Z'), rowsPerFile: 3 }));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cli = (...args: string[]) => run(process.execPath, [BIN, ...args], { cwd: dir, timeout: 120_000 });

describe('photo-scaler plan --manifest <path>', () => {
  it('reads <dir>/<prefix>/<source bucket>/<config id>/<timestamp>/manifest.json and its data files at <dir>/<files[].key>; --json has the contract fields', async () => {
    expect(manifestPath).toBe(join(dir, 'inventory/my-photos/weekly/2026-12-01T06-00Z/manifest.json'));
    const { stdout } = await cli('plan', '--manifest', manifestPath, '--json');
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const plan = JSON.parse(stdout);
    expect(plan).toMatchObject({
      manifest: manifestPath,
      sourceBucket: 'my-photos',
      objects: 7,
      bytes: OBJECTS.reduce((sum, o) => sum + o.size, 0),
      duplicates: { groups: 1, objects: 2, multipartObjects: 1 },
      toProcess: { objects: 4 },
    });
    expect(Object.keys(plan.refused)).toEqual([...PLAN_REFUSALS]);
    expect(plan.refused).toMatchObject({ 'folder-marker': 1, 'layout-collision': 1, 'not-an-image': 1, empty: 0 });
    expect(plan.largest[0]).toEqual({ key: 'trip/a b.jpg', size: 3_000_000 });
    expect(plan.largest.map((o: { key: string }) => o.key)).toContain('trip/c+d 100%.png');
    expect(plan.largest.map((o: { key: string }) => o.key)).toContain('élan/été.heic');
    expect(typeof plan.estimate.totalUsd).toBe('number');
    expect(plan.estimate.input).toMatchObject({ photos: 4 });
    expect(plan.requestRate).toMatchObject({ maxConcurrency: 20, limits: { putPerSecondPerPrefix: 3500, getPerSecondPerPrefix: 5500 } });
    expect(plan.requestRate.putPerSecond).toBeGreaterThan(0);
    expect(Number.isInteger(plan.requestRate.recommendedMaxConcurrency)).toBe(true);
    expect(plan.requestRate.recommendedMaxConcurrency).toBeLessThanOrEqual(20);
  }, 120_000);

  it('prints the sections a person reads', async () => {
    const { stdout } = await cli('plan', '--manifest', manifestPath);
    expect(stdout).toContain(`${manifestPath}: 7 objects`);
    for (const heading of ['Sizes:', 'Extensions:', 'Largest:', 'Refused before rendering: 3', 'Likely duplicates (same ETag and size): 1 groups, 2 objects', 'To process: 4 photos', 'total (one run)', 'Request rate:']) expect(stdout).toContain(heading);
    expect(stdout).toContain('"trip/": folder marker');
  }, 120_000);

  it('a data file not where aws s3 sync puts it: refused, naming the path it was looked for at', async () => {
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { files: Array<{ key: string }> };
    const missing = manifest.files[1]!.key;
    await unlink(join(dir, missing));
    const failed = await cli('plan', '--manifest', manifestPath, '--json').then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failed).toMatchObject({ code: 1, stdout: '' });
    expect(failed!.stderr).toContain(`${missing}, listed in the manifest, cannot be read: no file ${join(dir, missing)}`);
    expect(failed!.stderr).toContain('aws s3 sync s3://<destination bucket> <dir>');
    expect(failed!.stderr).toContain(`here <dir> is ${dir}`);
  }, 120_000);
});
