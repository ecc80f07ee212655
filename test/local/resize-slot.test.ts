/**
 * Resize's CPU slot on the local stack (src/local/stack.ts, StepContext.afterRender): held while the
 * photo is decoded and rendered, given back before its assets, pointers and rows are stored — so the
 * next photo renders while this one writes.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import type { StepContext } from '../../src/core/context';
import { dedupe } from '../../src/core/dedupe';
import { encodeInventoryKey } from '../../src/core/inventory/keys';
import { validateConfig } from '../../src/core/presets';
import { resize } from '../../src/core/resize';
import { LOG_FILE } from '../../src/local/logs';
import { runLocalMigration } from '../../src/local/migrate';
import { type LocalStack, openLocalStack } from '../../src/local/stack';
import { noiseJpeg } from '../helpers/images';
import { MemoryCatalog } from '../helpers/memory-catalog';
import { MemoryStore } from '../helpers/memory-store';

describe('Resize calls afterRender', () => {
  it('once, when every rendition is made and before anything is stored', async () => {
    const store = new MemoryStore();
    const events: string[] = [];
    const put = store.put.bind(store);
    store.put = async (...args) => {
      events.push(`put ${args[0].key.split('/')[0]}`);
      return put(...args);
    };
    const context: StepContext = { store, catalog: new MemoryCatalog(), libraryBucket: 'library', config, presets: validateConfig(config), afterRender: () => events.push('rendered') };
    const photo = await noiseJpeg(640, 480, 3);
    await put({ bucket: 'photos', key: 'a.jpg' }, photo, {});
    events.length = 0;
    const item = { bucket: 'photos', key: encodeInventoryKey('a.jpg'), size: photo.byteLength };
    await resize(context, { item, runId: 'r', outcome: await dedupe(context, { item, runId: 'r' }) });
    expect(events[0]).toBe('rendered');
    expect(events.filter((event) => event === 'rendered')).toHaveLength(1);
    expect(events.length).toBeGreaterThan(5);
  });
});

describe('the local stack with one CPU slot', () => {
  let dir: string;
  let stack: LocalStack;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'photo-scaler-resize-slot-'));
    for (let i = 0; i < 6; i++) await writeFile(join(dir, `p${i}.jpg`), await noiseJpeg(900, 600, 40 + i));
    stack = await openLocalStack(join(dir, 'data'), { resizeConcurrency: 1 });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('starts the next photo\'s Resize while the one before is still storing its renditions', async () => {
    const run = await runLocalMigration({ photosDir: dir, dataDir: '', stack, timeScale: 0 });
    expect(run.summary).toMatchObject({ items: 6, succeeded: 6, resized: 6 });
    const resizes = (await readFile(join(stack.dataDir, LOG_FILE), 'utf8'))
      .split('\n')
      .filter((line) => line.includes('"step":"resize"') && line.startsWith('{"level"'))
      .map((line) => JSON.parse(line) as { timestamp: string; ms: number })
      .map((log) => ({ end: Date.parse(log.timestamp), start: Date.parse(log.timestamp) - log.ms }))
      .sort((a, b) => a.start - b.start);
    expect(resizes).toHaveLength(6);
    // With the slot held to the end, each Resize would start after the one before ended.
    const overlaps = resizes.slice(1).filter((next, i) => next.start < resizes[i]!.end - 1);
    expect(overlaps.length).toBeGreaterThan(0);
  }, 120_000);
});
