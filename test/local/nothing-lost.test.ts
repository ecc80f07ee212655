/**
 * Nothing lost when the machine dies or misbehaves, through the real `photo-scaler` command: a run
 * stopped by Ctrl-C or killed is recorded and finished by `redrive`; odd and damaged objects are
 * per-photo problems, never the end of a command; `repair` mends what `verify --deep` finds; a full
 * disk stops a run with a clear message and loses nothing; a run at high fault rates ends all DONE.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readInventoryReport } from '../../src/core/inventory/read';
import { repairRun } from '../../src/core/repair';
import { verifyRun } from '../../src/core/verify';
import { parseFaults } from '../../src/local/faults';
import { LAST_RUN_FILE, readLastRun, runLocalMigration } from '../../src/local/migrate';
import { OBJECTS_DIR } from '../../src/local/object-files';
import { LOCAL_NAMES, type LocalStack, openLocalStack } from '../../src/local/stack';
import { noiseJpeg, twoToneJpeg } from '../helpers/images';

const exec = promisify(execFile);
const BIN = join(import.meta.dirname, '../../scripts/photo-scaler.mjs');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-nothing-lost-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The CLI, its exit code and output (never throws on a non-zero exit). */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], { cwd: dir, timeout: 180_000, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function photos(folder: string, count: number, size: [number, number]): Promise<void> {
  await mkdir(folder, { recursive: true });
  for (let i = 0; i < count; i++) await writeFile(join(folder, `p${String(i).padStart(2, '0')}.jpg`), await noiseJpeg(size[0] + i, size[1], 500 + i));
}

/** Starts `photo-scaler run`, resolves once the run is recorded as started (last-run.json RUNNING). */
async function startRun(photosDir: string, dataDir: string) {
  const child = spawn(process.execPath, [BIN, 'run', '--photos', photosDir, '--data-dir', dataDir], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + 9 : null))));
  for (;;) {
    const text = await readFile(join(dataDir, LAST_RUN_FILE), 'utf8').catch(() => '');
    if (text.includes('"RUNNING"')) break;
    if (child.exitCode !== null) throw new Error(`run ended before it started: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { child, exited, output: () => ({ stdout, stderr }) };
}

describe('a run stopped or killed is visible, and redrive finishes it', () => {
  it('Ctrl-C: the photos in flight finish, a partial summary, exit 130, the run recorded ABORTED; verify exit 1 naming what is not done; redrive finishes; verify audits the whole run', async () => {
    const photosDir = join(dir, 'sigint-photos');
    const dataDir = join(dir, 'sigint-data');
    await photos(photosDir, 10, [1400, 1000]);
    const run = await startRun(photosDir, dataDir);
    await new Promise((resolve) => setTimeout(resolve, 300));
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    expect(run.output().stderr).toMatch(/SIGINT: stopping after the photos in flight/);
    expect(run.output().stdout).toMatch(/ABORTED[\s\S]*redrive --data-dir/);
    const last = await readLastRun(dataDir);
    expect(last.status).toBe('ABORTED');

    const audit = await cli('verify', '--data-dir', dataDir, '--json');
    expect(audit.code).toBe(1);
    const report = JSON.parse(audit.stdout);
    expect(report.items).toBe(10);
    expect(report.unfinishedKeys.length).toBeGreaterThan(0);
    expect(report.done + report.unfinishedKeys.length).toBe(10);

    const redrive = await cli('redrive', '--data-dir', dataDir, '--json');
    expect(redrive.code).toBe(0);
    expect(JSON.parse(redrive.stdout)).toMatchObject({ redriven: report.unfinishedKeys, found: { items: 10, notFinished: report.unfinishedKeys.length } });
    const after = await cli('verify', '--data-dir', dataDir, '--deep', '--json');
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({ items: 10, done: 10, discrepancies: [] });
  }, 180_000);
});

describe('odd and damaged objects are per-photo problems', () => {
  let stack: LocalStack;
  const long = `long/${'n'.repeat(246)}.jpg`;

  beforeAll(async () => {
    const photosDir = join(dir, 'odd-photos');
    await photos(photosDir, 5, [640, 480]);
    await mkdir(join(photosDir, 'long'), { recursive: true });
    await writeFile(join(photosDir, long), await twoToneJpeg(400, 300));
    stack = await openLocalStack(join(dir, 'odd-data'));
    const run = await runLocalMigration({ photosDir, dataDir: stack.dataDir, stack, timeScale: 0.001 });
    expect(run.summary).toMatchObject({ items: 6, succeeded: 6, failed: 0 });
  }, 120_000);
  afterAll(async () => stack?.close());

  const objectFile = (bucket: string, key: string) => {
    const hash = createHash('sha256').update(key).digest('hex');
    return join(stack.dataDir, 's3', bucket, OBJECTS_DIR, hash.slice(0, 2), hash);
  };
  const items = async () => readInventoryReport(stack.store, (await readLastRun(stack.dataDir)).manifest);
  const verifyContext = () => ({ store: stack.store, catalog: stack.context.catalog, libraryBucket: LOCAL_NAMES.libraryBucket, presets: stack.context.presets });

  it('a photo whose file name is 250 bytes long is stored, rendered and served like any', async () => {
    const rows = await stack.context.catalog.rowsForKey(long);
    expect(rows).toHaveLength(5);
    expect(await stack.store.head({ bucket: LOCAL_NAMES.libraryBucket, key: `small/${long}` })).toMatchObject({ redirectLocation: expect.stringMatching(/^\/assets\//) });
  });

  it('repair mends each kind of damage verify --deep finds — a missing asset, a corrupt one, a re-pointed pointer, a missing pointer, a missing row — and verify is clean again', async () => {
    const rowsOf = async (key: string) => stack.context.catalog.rowsForKey(key);
    const [a, b, c, d] = ['p00.jpg', 'p01.jpg', 'p02.jpg', 'p03.jpg'];
    const thumbA = (await rowsOf(a!)).find((r) => r.preset === 'thumb')!;
    const smallB = (await rowsOf(b!)).find((r) => r.preset === 'small')!;
    await stack.store.delete({ bucket: LOCAL_NAMES.libraryBucket, key: thumbA.assetKey });
    await stack.store.put({ bucket: LOCAL_NAMES.libraryBucket, key: smallB.assetKey }, Buffer.alloc(smallB.bytes, 1), { contentType: 'image/jpeg', metadata: { sha256: smallB.sha256 } });
    await stack.store.put({ bucket: LOCAL_NAMES.libraryBucket, key: `medium/${c}` }, new Uint8Array(0), { redirectLocation: `/${thumbA.assetKey}` });
    await stack.store.delete({ bucket: LOCAL_NAMES.libraryBucket, key: `large/${d}` });
    await stack.context.catalog.deleteRows(long, ['medium']);

    const found = await verifyRun(verifyContext(), await items(), { deep: true });
    expect(found.damagedKeys).toEqual([a, b, c, d]);
    expect(found.unfinishedKeys).toEqual([long]);
    expect(found.discrepancies.find((x) => x.key === b)?.problem).toMatch(/bytes hash to/);

    const repaired = await repairRun(stack.context, await items(), 'repair');
    expect(repaired.repaired.sort()).toEqual([a, b, c, d, long].sort());
    expect(repaired.corruptAssetsDeleted).toBe(1);
    expect(repaired.after.discrepancies).toEqual([]);
    expect(await verifyRun(verifyContext(), await items(), { deep: true })).toMatchObject({ items: 6, done: 6, discrepancies: [] });
  });

  it('an object of the library that cannot be read (a damaged file) is one discrepancy; a rerun goes on, and repair restores it', async () => {
    const row = (await stack.context.catalog.rowsForKey('p04.jpg')).find((r) => r.preset === 'medium')!;
    await truncate(objectFile(LOCAL_NAMES.libraryBucket, row.assetKey), 10);
    const report = await verifyRun(verifyContext(), await items());
    expect(report.discrepancies).toEqual([{ key: 'p04.jpg', problem: `medium: asset ${row.assetKey} is missing` }]);
    expect(report.done).toBe(5);
    const rerun = await runLocalMigration({ photosDir: join(dir, 'odd-photos'), dataDir: stack.dataDir, stack, timeScale: 0.001 });
    expect(rerun.summary).toMatchObject({ items: 6, failed: 0 });
    expect((await repairRun(stack.context, await items(), 'repair')).after.discrepancies).toEqual([]);
  }, 60_000);
});

describe('photo-scaler repair', () => {
  it('renders again what verify --deep flags and verifies again (exit 0); what cannot be mended is named (exit 1); --aws without the manifest is refused before any call', async () => {
    const photosDir = join(dir, 'repair-photos');
    const dataDir = join(dir, 'repair-data');
    await photos(photosDir, 3, [320, 240]);
    expect((await cli('run', '--photos', photosDir, '--data-dir', dataDir)).code).toBe(0);
    const clean = await cli('repair', '--data-dir', dataDir, '--json');
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ before: { items: 3, done: 3, discrepancies: 0 }, repaired: [], after: { items: 3, done: 3, discrepancies: [] } });

    // One asset corrupt, one pointer gone; then one photo whose original is gone too.
    let stack = await openLocalStack(dataDir);
    try {
      const small = (await stack.context.catalog.rowsForKey('p00.jpg')).find((r) => r.preset === 'small')!;
      await stack.store.put({ bucket: LOCAL_NAMES.libraryBucket, key: small.assetKey }, Buffer.from('not a jpeg'), { contentType: 'image/jpeg' });
      await stack.store.delete({ bucket: LOCAL_NAMES.libraryBucket, key: 'thumb/p01.jpg' });
    } finally {
      await stack.close();
    }
    const mended = await cli('repair', '--data-dir', dataDir);
    expect(mended.code).toBe(0);
    // ("after" is a second verify --deep, run by repair itself.)
    expect(mended.stdout).toMatch(/^before: 3 items, 1 DONE, 0 FAILED, 2 damaged, 0 not finished\nrepaired 2 items \(1 corrupt assets deleted and written again\)\nafter: 3 items, 3 DONE, 0 FAILED, no discrepancies\n$/);

    stack = await openLocalStack(dataDir);
    try {
      await stack.store.delete({ bucket: LOCAL_NAMES.libraryBucket, key: 'medium/p02.jpg' });
      await stack.store.delete({ bucket: LOCAL_NAMES.sourceBucket, key: 'p02.jpg' });
    } finally {
      await stack.close();
    }
    const stuck = await cli('repair', '--data-dir', dataDir, '--json');
    expect(stuck.code).toBe(1);
    const report = JSON.parse(stuck.stdout);
    expect(report.failures).toEqual([{ key: 'p02.jpg', error: expect.stringMatching(/p02\.jpg/) }]);
    expect(report.after.discrepancies).toEqual([{ key: 'p02.jpg', problem: expect.stringMatching(/medium/) }]);

    const aws = await cli('repair', '--aws');
    expect(aws.code).toBe(1);
    expect(aws.stderr).toMatch(/--aws needs --manifest s3:\/\/<bucket>\/<key>\/manifest\.json/);
  }, 120_000);
});

describe('faults at high rates are absorbed', () => {
  it('slowdown=0.3, internal=0.1, throttle=0.2, crash=0.1: every photo DONE, verify clean', async () => {
    const photosDir = join(dir, 'faulty-photos');
    await photos(photosDir, 30, [320, 240]);
    const faults = parseFaults('slowdown=0.3,internal=0.1,throttle=0.2,crash=0.1,seed=11');
    const stack = await openLocalStack(join(dir, 'faulty-data'), { faults, sdkTimeScale: 0.02 });
    try {
      const run = await runLocalMigration({ photosDir, dataDir: stack.dataDir, stack, timeScale: 0.01 });
      expect(run.status).toBe('SUCCEEDED');
      expect(run.notUploaded).toBeUndefined();
      expect(run.summary).toMatchObject({ items: 30, succeeded: 30, failed: 0 });
      expect(run.injected!.slowDown + run.injected!.internalError).toBeGreaterThan(100);
      expect(run.injected!.crash).toBeGreaterThan(0);
      expect(stack.containers()).toBeGreaterThan(1);
    } finally {
      await stack.close();
    }
    const audit = await cli('verify', '--data-dir', join(dir, 'faulty-data'), '--deep', '--json');
    expect(JSON.parse(audit.stdout)).toMatchObject({ items: 30, done: 30, discrepancies: [] });
  }, 180_000);
});

describe('a full disk', () => {
  const mountPoint = join(tmpdir(), `photo-scaler-tmpfs-${process.pid}`);
  let mounted = false;
  beforeAll(async () => {
    await mkdir(mountPoint, { recursive: true });
    mounted = await exec('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mountPoint]).then(
      () => true,
      (error: unknown) => {
        process.stdout.write(`skipping the full-disk drill: cannot mount a tmpfs here (${(error as Error).message.split('\n')[0]})\n`);
        return false;
      },
    );
  });
  afterAll(async () => {
    if (mounted) await exec('umount', [mountPoint]).catch(() => {});
    await rm(mountPoint, { recursive: true, force: true });
  });

  it('stops run with a clear message naming the data dir (no stack trace), keeps what it wrote whole, and the run goes on once space is freed', async (context) => {
    if (!mounted) return context.skip();
    const photosDir = join(dir, 'big-photos');
    await photos(photosDir, 8, [1400, 1000]);
    const dataDir = join(mountPoint, 'data');
    const full = await cli('run', '--photos', photosDir, '--data-dir', dataDir);
    expect(full.code).toBe(1);
    expect(full.stderr).toMatch(new RegExp(`the disk holding ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[^\\n]* is full`));
    expect(full.stderr).not.toMatch(/\n\s+at /);
    // Space again: the same command goes on and the library is whole.
    await exec('mount', ['-o', 'remount,size=256m', mountPoint]);
    const again = await cli('run', '--photos', photosDir, '--data-dir', dataDir, '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ items: 8, succeeded: 8, failed: 0 });
    const audit = await cli('verify', '--data-dir', dataDir, '--deep', '--json');
    expect(JSON.parse(audit.stdout)).toMatchObject({ items: 8, done: 8, discrepancies: [] });
    expect(existsSync(join(dataDir, LAST_RUN_FILE))).toBe(true);
  }, 240_000);
});
