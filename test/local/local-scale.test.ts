/**
 * A local run at scale (issue 16, case 9), in small: the local S3 lists more than 1,000 keys, the
 * local DynamoDB leaves no LevelDB iterator open per query (memory flat with the number of photos),
 * and the progress bar moves per photo from the first one on. Speed is measured by `npm run bench`
 * (its `localRun` section, 5,000 photos), never here.
 */
import { createRequire } from 'node:module';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoCatalog } from '../../src/aws/dynamo-catalog';
import { S3ObjectStore } from '../../src/aws/s3-store';
import type { CatalogRow } from '../../src/core/ports';
import { startEmulators } from '../../src/local/emulators';
import { type Progress, runLocalMigration } from '../../src/local/migrate';
import { ObjectFileStore } from '../../src/local/object-files';
import { openLocalStack } from '../../src/local/stack';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-scale-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const utf8Order = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

describe('the local S3 lists a bucket of more than 1,000 objects', () => {
  it('page by page, in UTF-8 binary order, with prefixes and delimiters (s3rver answered 500: its continuation tokens need DES)', async () => {
    const dataDir = join(dir, 'listing');
    const emulators = await startEmulators({ dataDir, buckets: ['b'], tableName: 'catalog' });
    try {
      // Written straight to the store's files (fast); then everything goes through ListObjectsV2.
      const files = new ObjectFileStore(join(dataDir, 's3'));
      const keys = [
        ...Array.from({ length: 1_150 }, (_, i) => `d${i % 3}/p${String(i).padStart(4, '0')}.jpg`),
        'Zürich/a.jpg', 'zz/\u{1F600}.jpg', 'zz/\uFF5E.jpg', 'top.jpg',
      ];
      for (const key of keys) await files.putObject({ bucket: 'b', key, content: Buffer.from(key), metadata: { 'content-type': 'image/jpeg' } });

      const store = new S3ObjectStore(emulators.s3);
      const listed: string[] = [];
      for await (const object of store.list('b', '')) listed.push(object.key);
      expect(listed).toEqual([...keys].sort(utf8Order));

      const d1: string[] = [];
      for await (const object of store.list('b', 'd1/')) d1.push(object.key);
      expect(d1).toHaveLength(383);
      expect(d1.every((key) => key.startsWith('d1/'))).toBe(true);

      const page = await emulators.s3.send(new ListObjectsV2Command({ Bucket: 'b', Delimiter: '/' }));
      expect(page.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['Zürich/', 'd0/', 'd1/', 'd2/', 'zz/']);
      expect(page.Contents?.map((c) => [c.Key, c.Size, c.ETag])).toEqual([['top.jpg', 7, expect.stringMatching(/^"[0-9a-f]{32}"$/)]]);
      const small = await emulators.s3.send(new ListObjectsV2Command({ Bucket: 'b', Prefix: 'd2/', MaxKeys: 100, StartAfter: 'd2/p1000.jpg' }));
      expect(small.Contents?.[0]?.Key).toBe('d2/p1001.jpg');
      expect(small.KeyCount).toBe(50);
      expect(small.IsTruncated).toBe(false);
    } finally {
      await emulators.close();
    }
  }, 60_000);
});

describe('the local DynamoDB (dynalite) closes its LevelDB iterators', () => {
  it('a query leaves no iterator open: memory no longer grows with every catalog read of a run', async () => {
    // Counts the iterators dynalite opens on its own copy of `level`, and those closed again.
    const fromHere = createRequire(import.meta.url);
    const { Level } = createRequire(fromHere.resolve('dynalite'))('level') as { Level: { prototype: Record<string, unknown> } };
    // (The local stack keeps its catalog in LevelDB under the data dir: classic-level's `Level`.)
    let opened = 0;
    let closed = 0;
    const originals = new Map<string, unknown>();
    for (const method of ['iterator', 'keys', 'values']) {
      const original = Level.prototype[method] as (...args: unknown[]) => { close(): Promise<void> };
      originals.set(method, original);
      Level.prototype[method] = function (this: unknown, ...args: unknown[]) {
        const iterator = original.apply(this, args);
        opened++;
        const close = iterator.close.bind(iterator);
        let counted = false;
        iterator.close = async () => {
          if (!counted) closed++;
          counted = true;
          return close();
        };
        return iterator;
      };
    }
    const emulators = await startEmulators({ dataDir: join(dir, 'iterators'), buckets: ['b'], tableName: 'catalog' });
    try {
      const catalog = new DynamoCatalog(emulators.dynamo, 'catalog');
      const row = (key: string, preset: string): CatalogRow => ({
        sourceKey: key, preset, logicalKey: key, assetKey: `assets/${key}`, sha256: `sha-${key}`, sourceSha256: `sha-${key}`,
        width: 1, height: 1, bytes: 1, contentType: 'image/jpeg', sourceBucket: 'b', sourceEtag: 'e', spec: 's', runId: 'r', updatedAt: 't',
      });
      await catalog.putRows(Array.from({ length: 20 }, (_, i) => [row(`k${i}`, 'original'), row(`k${i}`, 'thumb')]).flat());
      const before = { opened, closed };
      for (let round = 0; round < 10; round++) {
        for (let i = 0; i < 20; i++) {
          expect(await catalog.rowsForKey(`k${i}`)).toHaveLength(2);
          expect(await catalog.keysForHash(`sha-k${i}`)).toHaveLength(2);
        }
      }
      const queries = opened - before.opened;
      expect(queries).toBeGreaterThanOrEqual(400);
      expect(closed - before.closed).toBe(queries);
    } finally {
      await emulators.close();
      for (const [method, original] of originals) Level.prototype[method] = original;
    }
  }, 60_000);
});

describe('the progress of a local run', () => {
  it('moves once per photo, the first one long before the first batch of 8 is done', async () => {
    const photos = join(dir, 'progress-photos');
    await mkdir(photos, { recursive: true });
    const count = 20;
    for (let i = 0; i < count; i++) {
      const noise = Buffer.alloc(24 * 16 * 3, i);
      for (let j = 0; j < noise.length; j++) noise[j] = (noise[j]! * 31 + j * 7 + i * 13) & 0xff;
      await writeFile(join(photos, `p${String(i).padStart(2, '0')}.jpg`), await sharp(noise, { raw: { width: 24, height: 16, channels: 3 } }).jpeg().toBuffer());
    }
    const stack = await openLocalStack(join(dir, 'progress-data'));
    try {
      const events: Array<Extract<Progress, { phase: 'process' }>> = [];
      const uploads: number[] = [];
      const run = await runLocalMigration({
        photosDir: photos,
        dataDir: stack.dataDir,
        stack,
        onProgress: (progress) => {
          if (progress.phase === 'process') events.push(progress);
          else if (progress.phase === 'upload') uploads.push(progress.done);
        },
      });
      expect(run.summary).toMatchObject({ items: count, succeeded: count });
      expect(uploads).toEqual(Array.from({ length: count }, (_, i) => i + 1));
      // The bar shows 0/20 as the map run starts, then each photo moves it: 1, 2, … 20 (a batch's
      // end adds nothing new). Before, it moved once per batch of 8: 0, 8, 16, 20.
      expect(events[0]).toMatchObject({ done: 0, total: count });
      const moves = events.map((event) => event.done).filter((done, i, all) => done > 0 && done !== all[i - 1]);
      expect(moves).toEqual(Array.from({ length: count }, (_, i) => i + 1));
      expect(events.find((event) => event.done > 0)).toMatchObject({ done: 1, total: count, failed: 0 });
      expect(events.length).toBeGreaterThanOrEqual(count);
    } finally {
      await stack.close();
    }
  }, 120_000);
});
