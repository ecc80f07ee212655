/**
 * Kill drills: `photo-scaler run` is killed (SIGKILL, by `--faults kill=…`) at 20 seeded points — while
 * the photos are uploaded, while assets and pointers are rendered and written, while catalog rows are
 * written — and each time, before anything else runs: every object in the buckets is whole (no asset
 * whose bytes do not hash to its key, no source object cut short) and no item counts as done without
 * its assets and pointers. Then the same `run` again and `verify --deep`: every photo DONE, nothing lost.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readInventoryReport } from '../../src/core/inventory/read';
import { verifyRun } from '../../src/core/verify';
import { type KillPoint, NO_FAULTS } from '../../src/local/faults';
import { LAST_RUN_FILE, readLastRun, runLocalMigration } from '../../src/local/migrate';
import { LOCAL_NAMES, type LocalStack, openLocalStack } from '../../src/local/stack';
import { noiseJpeg, twoToneJpeg } from '../helpers/images';
import { listKeys } from '../helpers/library';

const BIN = join(import.meta.dirname, '../../scripts/photo-scaler.mjs');
const KILLS = { upload: 6, render: 8, catalog: 6 };
/** Drills at once (each in its own data dir). */
const LANES = 2;
let dir: string;
let photosDir: string;
const files = new Map<string, Buffer>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-kill-drills-'));
  photosDir = join(dir, 'photos');
  await mkdir(join(photosDir, 'trip'), { recursive: true });
  // Small photos, one large one (writes that take a while), and one duplicate (a claimed hash).
  files.set('a.jpg', await noiseJpeg(480, 360, 1));
  files.set('b.jpg', await noiseJpeg(500, 300, 2));
  files.set('trip/c.jpg', await twoToneJpeg(640, 480));
  files.set('trip/big.jpg', await noiseJpeg(1200, 800, 3));
  files.set('trip/a-again.jpg', files.get('a.jpg')!);
  for (const [key, body] of files) await writeFile(join(photosDir, key), body);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** mulberry32: the drill's kill points follow from one seed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `photo-scaler run` with a kill set; resolves with the signal that ended it (or its exit code). */
function killedRun(dataDir: string, kill: KillPoint): Promise<{ signal: string | null; code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'run', '--photos', photosDir, '--data-dir', dataDir, '--faults', `kill=${kill.service}:${kill.nth}`], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

/** What must hold at every instant: every object whole, no item counted done without all it needs. */
async function assertWhole(stack: LocalStack): Promise<{ assets: number; sources: number }> {
  const assets = await listKeys(stack.s3, LOCAL_NAMES.libraryBucket, 'assets/');
  for (const key of assets) {
    const body = (await stack.store.get({ bucket: LOCAL_NAMES.libraryBucket, key })).body;
    expect(key, 'an asset is named by the sha-256 of its bytes').toContain(createHash('sha256').update(body).digest('hex'));
  }
  const sources = await listKeys(stack.s3, LOCAL_NAMES.sourceBucket);
  for (const key of sources) {
    const body = (await stack.store.get({ bucket: LOCAL_NAMES.sourceBucket, key })).body;
    expect(Buffer.compare(Buffer.from(body), files.get(key)!), `source object ${key} is the photo's bytes`).toBe(0);
  }
  if (existsSync(join(stack.dataDir, LAST_RUN_FILE))) {
    const items = await readInventoryReport(stack.store, (await readLastRun(stack.dataDir)).manifest);
    const audit = await verifyRun({ store: stack.store, catalog: stack.context.catalog, libraryBucket: LOCAL_NAMES.libraryBucket, presets: stack.context.presets }, items, { deep: true });
    expect(audit.damagedKeys, JSON.stringify(audit.discrepancies)).toEqual([]);
  }
  return { assets: assets.length, sources: sources.length };
}

describe('kill -9 at 20 seeded points of a run: nothing corrupt, nothing lost', () => {
  let writes: { s3: number; dynamodb: number };

  beforeAll(async () => {
    // How many writes a whole run makes (a kill that never fires counts them): the phases' ranges.
    const stack = await openLocalStack(join(dir, 'count'), { faults: { ...NO_FAULTS, kill: { service: 's3', nth: Number.MAX_SAFE_INTEGER } } });
    try {
      // In real time, as the killed runs go: the duplicate waits for its twin's crops (ContentBusy).
      const run = await runLocalMigration({ photosDir, dataDir: stack.dataDir, stack, timeScale: 1 });
      expect(run.summary).toMatchObject({ items: 5, succeeded: 5 });
      // The duplicate waits for its twin (ContentBusy, full jitter): on a loaded machine its patience may
      // end first, and it renders the same content itself (src/core/dedupe.ts CONTENT_BUSY_PATIENCE: an
      // optimisation, never a failure). Either way both are DONE; the kill points below come from the
      // writes this very run made.
      expect(run.summary.duplicates + run.summary.resized).toBe(5);
      // Each wait costs the duplicate one more claim write: a run may make that many fewer.
      writes = { s3: stack.faults.writes.s3, dynamodb: stack.faults.writes.dynamodb - run.retries };
      // The drill's own check, shown to fail: an asset whose bytes are not its hash, a source cut short.
      await assertWhole(stack);
      const [asset] = await listKeys(stack.s3, LOCAL_NAMES.libraryBucket, 'assets/');
      const good = (await stack.store.get({ bucket: LOCAL_NAMES.libraryBucket, key: asset! })).body;
      await stack.store.put({ bucket: LOCAL_NAMES.libraryBucket, key: asset! }, good.subarray(0, 100), { contentType: 'image/jpeg' });
      await expect(assertWhole(stack)).rejects.toThrow(/named by the sha-256 of its bytes/);
      await stack.store.put({ bucket: LOCAL_NAMES.libraryBucket, key: asset! }, good, { contentType: 'image/jpeg' });
      await stack.store.put({ bucket: LOCAL_NAMES.sourceBucket, key: 'b.jpg' }, files.get('b.jpg')!.subarray(0, 500), { contentType: 'image/jpeg' });
      await expect(assertWhole(stack)).rejects.toThrow(/source object b.jpg is the photo's bytes/);
    } finally {
      await stack.close();
    }
  }, 120_000);

  it('every kill: whole objects at once; then run again and verify --deep: all 5 photos DONE, 0 discrepancies', async () => {
    const uploads = files.size;
    // S3 writes 1..5 are the uploads, the next 3 the inventory report, the rest the run's assets,
    // pointers and results; every DynamoDB write is the catalog's (claims, rows, failure rows). The
    // last few are left out: the run ends with the ResultWriter's, and a margin.
    expect(writes.s3).toBeGreaterThan(uploads + 3 + 20);
    expect(writes.dynamodb).toBeGreaterThan(4);
    const random = seeded(2026);
    /** `count` distinct write numbers in [low, high], in seeded order. */
    const distinct = (count: number, low: number, high: number) => {
      const chosen = new Set<number>();
      while (chosen.size < count) chosen.add(low + Math.floor(random() * (high - low + 1)));
      return [...chosen];
    };
    const at = (phase: string, service: KillPoint['service']) => (nth: number) => ({ phase, kill: { service, nth } });
    const points = [
      ...distinct(KILLS.upload, 1, uploads + 3).map(at('upload', 's3')),
      ...distinct(KILLS.render, uploads + 4, writes.s3 - 3).map(at('render', 's3')),
      ...distinct(KILLS.catalog, 1, writes.dynamodb - 2).map(at('catalog', 'dynamodb')),
    ];
    const figures: string[] = new Array(points.length);
    const drill = async (index: number) => {
      const { phase, kill } = points[index]!;
      const dataDir = join(dir, `drill-${index}`);
      const what = `drill ${index} (${phase}, kill=${kill.service}:${kill.nth})`;
      const ended = await killedRun(dataDir, kill);
      expect(ended.signal, `${what} ends by SIGKILL: ${ended.stderr}`).toBe('SIGKILL');

      const stack = await openLocalStack(dataDir);
      try {
        const found = await assertWhole(stack);
        const rerun = await runLocalMigration({ photosDir, dataDir, stack, timeScale: 0.001 });
        expect(rerun.summary, what).toMatchObject({ items: 5, succeeded: 5, failed: 0 });
        const items = await readInventoryReport(stack.store, (await readLastRun(dataDir)).manifest);
        const audit = await verifyRun({ store: stack.store, catalog: stack.context.catalog, libraryBucket: LOCAL_NAMES.libraryBucket, presets: stack.context.presets }, items, { deep: true });
        expect(audit, what).toMatchObject({ items: 5, done: 5, failed: 0, incomplete: 0, discrepancies: [] });
        figures[index] = `${what}: at the kill ${found.sources} source objects and ${found.assets} assets, all whole; after the rerun ${audit.done}/5 DONE, ${audit.assetsChecked} assets verified`;
      } finally {
        await stack.close();
      }
      await rm(dataDir, { recursive: true, force: true });
    };
    let next = 0;
    await Promise.all(Array.from({ length: LANES }, async () => {
      for (let index = next++; index < points.length; index = next++) await drill(index);
    }));
    process.stdout.write(`${figures.join('\n')}\n`);
  }, 600_000);
});
