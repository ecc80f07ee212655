/** `photo-scaler plan --sources <file.csv>` (issues 19 and 20): a sources file planned and its copy priced, through the real CLI. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../scripts/photo-scaler.mjs');
let dir: string;
const cli = async (...args: string[]) => {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd: dir, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
};

const MD5 = '9e107d9d372bb6826bd81d3542a419d6';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-plan-sources-'));
  await writeFile(
    join(dir, 'sources.csv'),
    [
      'key,url,size,md5',
      `trips/a.jpg,https://acct.blob.core.windows.net/p/a.jpg?sv=2024&sig=SECRET,1000000,${MD5}`,
      `trips/copy of a.jpg,https://acct.blob.core.windows.net/p/a2.jpg?sig=SECRET,1000000,${MD5}`,
      'trips/b.jpg,https://old.example.com/b.jpg,3000000,',
      'trips/pano.tif,https://old.example.com/pano.tif,20000000,',
      'trips/unsized.jpg,https://old.example.com/u.jpg,,',
      'assets/x.jpg,https://old.example.com/x.jpg,5000,',
      'trips/empty.jpg,https://old.example.com/e.jpg,0,',
    ].join('\n') + '\n',
  );
  await writeFile(join(dir, 'bad.csv'), 'key,url\ntrips/a.jpg,ftp://old.example.com/a.jpg?sig=SECRET\n');
}, 30_000);
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('plan --sources', () => {
  it('plans the rows as the objects the copy makes, and prices the copy beside the run (egress named, not priced)', async () => {
    const { code, stdout, stderr } = await cli('plan', '--sources', 'sources.csv', '--json');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const plan = JSON.parse(stdout);
    expect(plan.sources).toBe('sources.csv');
    expect(plan.objects).toBe(7);
    expect(plan.refused).toMatchObject({ 'layout-collision': 1, empty: 1 });
    // Same md5 and size: one group of two (a single-part PutObject's ETag is the MD5 of its bytes).
    expect(plan.duplicates).toMatchObject({ groups: 1, objects: 2 });
    // The run is priced for what is left once refusals are taken out (a handful of photos: cents round to $0).
    expect(plan.toProcess.objects).toBe(5);
    expect(plan.estimate.input.photos).toBe(5);
    expect(plan.estimate.lines.length).toBeGreaterThan(0);
    // The row without a size counts at the sized rows' average: (1e6 + 1e6 + 3e6 + 20e6 + 5000 + 0) / 6.
    expect(plan.copy).toMatchObject({ rows: 7, rowsWithoutSize: 1, assumedSizeBytes: Math.round(25_005_000 / 6) });
    expect(plan.copy.bytes).toBe(25_005_000 + Math.round(25_005_000 / 6));
    // The 20 MB original is a multipart upload of 3 parts (create + 3 + complete); the others one PutObject each.
    expect(plan.copy.lines.find((line: { item: string }) => line.item === 'S3 PUT (originals)').how).toMatch(/^11 requests: .* 3 UploadPart/);
    expect(plan.copy.lines.map((line: { item: string }) => line.item)).toEqual(['Fetch Lambda compute (arm64)', 'Fetch Lambda requests', 'S3 PUT (originals)', 'S3 HEAD (already there?)']);
    expect(plan.copy.egress).toMatch(/billed by the origin/);
    expect(stdout).not.toContain('SECRET');
  }, 60_000);

  it('prints the copy phase in its text, and refuses a file with a bad row (named, no secret) or both inputs', async () => {
    const text = await cli('plan', '--sources', 'sources.csv');
    expect(text.stdout).toMatch(/Copy phase \(sources run\): 7 rows/);
    expect(text.stdout).toMatch(/billed by the origin/);
    const bad = await cli('plan', '--sources', 'bad.csv');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/line 2/);
    expect(bad.stderr).not.toContain('SECRET');
    const both = await cli('plan', '--sources', 'sources.csv', '--manifest', 'x/manifest.json');
    expect(both.stderr).toMatch(/either --manifest <report> or --sources <file.csv>/);
  }, 60_000);
});
