/**
 * Dedupe's slots on the local stack (src/local/stack.ts, DEDUPE_CONCURRENCY): a batch's Dedupes run a
 * few at a time on this one thread, so they end one after another and the renders start early,
 * instead of all running at once and ending together. Read from the Dedupe handler's own log lines
 * (its `ms` counts from when it got its slot).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOG_FILE } from '../../src/local/logs';
import { runLocalMigration } from '../../src/local/migrate';
import { DEDUPE_CONCURRENCY, type LocalStack, openLocalStack } from '../../src/local/stack';
import { noiseJpeg } from '../helpers/images';

/** The most Dedupes that ran at one instant, from their log lines (1 ms of slack for the rounding of both times). */
async function mostAtOnce(stack: LocalStack): Promise<{ runs: number; most: number }> {
  const runs = (await readFile(join(stack.dataDir, LOG_FILE), 'utf8'))
    .split('\n')
    .filter((line) => line.includes('"step":"dedupe"') && line.startsWith('{"level"'))
    .map((line) => JSON.parse(line) as { timestamp: string; ms: number })
    .map((log) => ({ end: Date.parse(log.timestamp), start: Date.parse(log.timestamp) - log.ms }));
  const most = Math.max(...runs.map((run) => runs.filter((other) => other.start <= run.start && other.end > run.start + 1).length));
  return { runs: runs.length, most };
}

describe('Dedupe slots', () => {
  let dir: string;
  const stacks: LocalStack[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'photo-scaler-dedupe-slots-'));
    // Large enough that a Dedupe (a GET, the hash, the catalog calls) takes some milliseconds.
    for (let i = 0; i < 8; i++) await writeFile(join(dir, `p${i}.jpg`), await noiseJpeg(1600, 1200, 70 + i));
  }, 60_000);
  afterAll(async () => {
    for (const stack of stacks) await stack.close();
    await rm(dir, { recursive: true, force: true });
  });

  it(`runs at most DEDUPE_CONCURRENCY (${DEDUPE_CONCURRENCY}) of a batch's Dedupes at once; one at a time when told`, async () => {
    for (const [dedupeConcurrency, bound] of [[undefined, DEDUPE_CONCURRENCY], [1, 1]] as const) {
      const stack = await openLocalStack(join(dir, `data-${dedupeConcurrency ?? 'default'}`), { dedupeConcurrency });
      stacks.push(stack);
      const run = await runLocalMigration({ photosDir: dir, dataDir: '', stack, timeScale: 0 });
      expect(run.summary).toMatchObject({ items: 8, succeeded: 8, resized: 8 });
      const { runs, most } = await mostAtOnce(stack);
      expect(runs).toBe(8);
      expect(most).toBeGreaterThanOrEqual(1);
      expect(most).toBeLessThanOrEqual(bound);
    }
  }, 120_000);
});
