/**
 * A rerun over an unchanged library: the batch's FindUnchanged (one BatchGetItem) ends the photos the
 * catalog already has, so Dedupe runs only for the others; and when FindUnchanged fails, Dedupe
 * decides every photo as before (statemachines/migrate.asl.yaml: its Catch goes on to EachPhoto).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRunResult, runLocalMigration } from '../../src/local/migrate';
import { LOG_FILE } from '../../src/local/logs';
import { writeSamplePhotos } from '../../src/local/samples';
import { openLocalStack } from '../../src/local/stack';

let dir: string;
let first: LocalRunResult;
const photos = () => join(dir, 'photos');
const data = () => join(dir, 'data');
const allLines = async () =>
  (await readFile(join(data(), LOG_FILE), 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, any>);
const linesOf = async (execution: string) => (await allLines()).filter((line) => line.execution === execution);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-rerun-'));
  await writeSamplePhotos(photos());
  first = await runLocalMigration({ photosDir: photos(), dataDir: data(), timeScale: 0.001 });
}, 120_000);
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('a rerun of an unchanged folder', () => {
  it('ends the unchanged photos in FindUnchanged, one log line a batch: Dedupe runs only for the photo that failed', async () => {
    expect(first.summary).toMatchObject({ items: 10, failed: 1 });
    const before = (await allLines()).length;
    const again = await runLocalMigration({ photosDir: photos(), dataDir: data(), timeScale: 0.001 });
    expect(again.summary).toMatchObject({ items: 10, unchanged: 9, failed: 1, assets: 0, pointers: 0, catalogRows: 0 });
    const lines = await linesOf(again.execution);
    const batches = lines.filter((line) => line.step === 'findUnchanged' && line.level);
    // 10 photos in batches of at most 8 (ItemBatcher.MaxItemsPerBatch).
    expect(batches.map((line) => line.items).sort()).toEqual([2, 8]);
    expect(batches.reduce((sum, line) => sum + line.unchanged, 0)).toBe(9);
    expect(lines.filter((line) => line.step === 'dedupe' && line.level).map((line) => line.key)).toEqual(['broken/truncated.jpg']);
    // Every photo still counts once in the PhotosProcessed metric (EMF lines of this run).
    const metrics = (await allLines()).slice(before).filter((line) => line._aws && 'PhotosProcessed' in line);
    expect(metrics.reduce((sum, line) => sum + line.PhotosProcessed, 0)).toBe(10);
    expect(metrics.filter((line) => line.step === 'findUnchanged').reduce((sum, line) => sum + line.PhotosProcessed, 0)).toBe(9);
  }, 120_000);

  it('still ends every photo right when FindUnchanged fails: the whole batch goes to Dedupe', async () => {
    const stack = await openLocalStack(data());
    stack.tasks.findUnchanged = async () => {
      throw Object.assign(new Error('injected: the catalog read failed'), { name: 'TransientError' });
    };
    let again: LocalRunResult;
    try {
      again = await runLocalMigration({ photosDir: photos(), dataDir: data(), timeScale: 0.001, stack });
    } finally {
      await stack.close();
    }
    expect(again.summary).toMatchObject({ items: 10, unchanged: 9, failed: 1, assets: 0, pointers: 0, catalogRows: 0 });
    const lines = await linesOf(again.execution);
    expect(new Set(lines.filter((line) => line.step === 'dedupe' && line.level).map((line) => line.key)).size).toBe(10);
  }, 120_000);
});
