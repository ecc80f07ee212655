/**
 * End to end on the embedded default: the real state machine file, the real handlers, s3rver and
 * dynalite. Every claim is checked on the stored bytes and rows.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORIGINAL } from '../../src/core/ports';
import { type LocalRunResult, runLocalMigration } from '../../src/local/migrate';
import { writeSamplePhotos } from '../../src/local/samples';
import { LOCAL_NAMES, type LocalStack, openLocalStack } from '../../src/local/stack';
import { startWebsite } from '../../src/local/website';
import { isLibraryContent, listKeys } from '../helpers/library';

let dir: string;
let stack: LocalStack;
let first: LocalRunResult;
let sampleKeys: string[];
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const expectedSize: Record<string, (w: number, h: number) => [number, number]> = {
  thumb: () => [80, 80],
  small: () => [300, 200],
  medium: () => [600, 400],
  large: (w, h) => {
    const scale = Math.min(1024 / w, 1024 / h, 1);
    return [Math.round(w * scale), Math.round(h * scale)];
  },
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-e2e-'));
  sampleKeys = await writeSamplePhotos(join(dir, 'photos'));
  stack = await openLocalStack(join(dir, 'data'));
  // Real waits: the duplicate and its original are in one batch, processed at once; the twin that
  // loses the claim waits out ContentBusy (seconds, as on AWS) and then reuses the crops.
  first = await runLocalMigration({ photosDir: join(dir, 'photos'), dataDir: join(dir, 'data'), stack });
}, 180_000);

afterAll(async () => {
  await stack?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('photo-scaler run on the sample library', () => {
  it('succeeds, with the corrupt photo recorded as failed and the duplicate processed once', () => {
    expect(first.status).toBe('SUCCEEDED');
    expect(first.summary).toMatchObject({ items: sampleKeys.length, failed: 1, succeeded: sampleKeys.length - 1, duplicates: 1, resized: sampleKeys.length - 2 });
    expect(first.summary.failures).toEqual([{ key: 'broken/truncated.jpg', error: expect.stringMatching(/^cannot decode/), reason: 'corrupt' }]);
    // 8 distinct photos x (original + 4 crops) assets; 9 keys x 5 pointers and rows.
    expect(first.summary).toMatchObject({ assets: 8 * 5, pointers: 9 * 5, catalogRows: 9 * 5 + 1 });
  });

  it('stores every crop decodable, at its preset size, at the key of its own sha-256, behind a pointer', async () => {
    for (const key of sampleKeys.filter((k) => k !== 'broken/truncated.jpg')) {
      const rows = await stack.context.catalog.rowsForKey(key);
      expect(rows.map((row) => row.preset).sort(), key).toEqual(['large', 'medium', 'original', 'small', 'thumb']);
      const original = rows.find((row) => row.preset === ORIGINAL)!;
      for (const row of rows) {
        const pointer = await stack.store.head({ bucket: LOCAL_NAMES.libraryBucket, key: row.logicalKey });
        expect(pointer, row.logicalKey).toMatchObject({ size: 0, redirectLocation: `/${row.assetKey}` });
        const asset = await stack.store.get({ bucket: LOCAL_NAMES.libraryBucket, key: row.assetKey });
        expect(sha(asset.body)).toBe(row.sha256);
        expect(row.assetKey).toMatch(new RegExp(`^assets/${row.sha256.slice(0, 2)}/${row.sha256.slice(2, 4)}/${row.sha256.slice(4, 6)}/${row.sha256}\\.(jpg|png)$`));
        const meta = await sharp(asset.body).metadata();
        if (row.preset !== ORIGINAL) {
          expect([meta.width, meta.height], `${row.logicalKey}`).toEqual(expectedSize[row.preset]!(original.width, original.height));
          expect(meta.format).toBe(key.endsWith('alpha.png') ? 'png' : 'jpeg');
          expect(meta.exif).toBeUndefined();
        }
      }
    }
    const rotated = await stack.context.catalog.rowsForKey('portraits/rotated by camera.jpg');
    expect(rotated.find((row) => row.preset === 'large')).toMatchObject({ width: 1024, height: 683 });
  });

  it('stores identical bytes once: the copy points at the same assets', async () => {
    const a = await stack.context.catalog.rowsForKey('landscapes/dawn.jpg');
    const b = await stack.context.catalog.rowsForKey('copies/dawn (copy).jpg');
    expect(b.map((row) => row.assetKey).sort()).toEqual(a.map((row) => row.assetKey).sort());
    const uses = await stack.context.catalog.keysForHash(a.find((row) => row.preset === ORIGINAL)!.sha256);
    expect(uses.filter((use) => use.preset === ORIGINAL).map((use) => use.sourceKey).sort()).toEqual(['copies/dawn (copy).jpg', 'landscapes/dawn.jpg']);
  });

  it('records the failure, queryable, with its reason', async () => {
    expect(await stack.context.catalog.failureFor('broken/truncated.jpg')).toMatchObject({ errorType: 'PhotoError', error: expect.stringMatching(/^cannot decode/), reason: 'corrupt', runId: first.execution });
    expect(await stack.context.catalog.rowsForKey('broken/truncated.jpg')).toEqual([]);
  });

  it('writes the ResultWriter files of the run to the library bucket', async () => {
    expect(first.resultWriter?.Key).toMatch(/^runs\/.+\/manifest\.json$/);
    const runFiles = await listKeys(stack.s3, LOCAL_NAMES.libraryBucket, 'runs/');
    expect(runFiles.some((key) => /SUCCEEDED_0\.json$/.test(key))).toBe(true);
  });

  it('serves the library as a website: pointer → 301 → asset 200', async () => {
    const website = await startWebsite({ store: stack.store, bucket: LOCAL_NAMES.libraryBucket });
    try {
      const path = `/small/${encodeURI('holiday 2024/Zürich + friends 100%.jpg').replace(/\+/g, '%2B')}`;
      const redirect = await fetch(`${website.url}${path}`, { redirect: 'manual' });
      expect(redirect.status).toBe(301);
      expect(redirect.headers.get('location')).toMatch(/^\/assets\/[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{64}\.jpg$/);
      const image = await fetch(`${website.url}${path}`);
      expect(image.status).toBe(200);
      expect(image.headers.get('content-type')).toBe('image/jpeg');
      expect(image.headers.get('cache-control')).toContain('immutable');
      const meta = await sharp(Buffer.from(await image.arrayBuffer())).metadata();
      expect([meta.width, meta.height]).toEqual([300, 200]);
      expect((await fetch(`${website.url}/small/no-such-photo.jpg`)).status).toBe(404);
    } finally {
      await website.close();
    }
  });

  it('writes nothing new when run again on the same photos', async () => {
    const before = (await listKeys(stack.s3, LOCAL_NAMES.libraryBucket)).filter(isLibraryContent);
    const sourceBefore = await listKeys(stack.s3, LOCAL_NAMES.sourceBucket);
    const again = await runLocalMigration({ photosDir: join(dir, 'photos'), dataDir: join(dir, 'data'), stack, timeScale: 0.001 });
    expect(again.summary).toMatchObject({ items: sampleKeys.length, assets: 0, pointers: 0, catalogRows: 0, failed: 1, unchanged: sampleKeys.length - 1 });
    expect((await listKeys(stack.s3, LOCAL_NAMES.libraryBucket)).filter(isLibraryContent)).toEqual(before);
    expect(await listKeys(stack.s3, LOCAL_NAMES.sourceBucket)).toEqual(sourceBefore);
  });
});

describe('a report the state machine cannot run', () => {
  it('is refused before anything starts: no execution, no write (a versioned report, one without Size)', async () => {
    const { executeMigration } = await import('../../src/local/migrate');
    const before = (await listKeys(stack.s3, LOCAL_NAMES.libraryBucket)).length;
    for (const fileSchema of ['Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag', 'Bucket, Key, LastModifiedDate, ETag']) {
      const manifest = JSON.parse(Buffer.from((await stack.store.get(first.manifest)).body).toString('utf8'));
      const body = Buffer.from(JSON.stringify({ ...manifest, fileSchema }));
      const ref = { bucket: LOCAL_NAMES.inventoryBucket, key: first.manifest.key.replace(/[^/]+\/manifest\.json$/, `refused-${before}-${fileSchema.length}/manifest.json`) };
      await stack.store.put(ref, body, {});
      await stack.store.put({ ...ref, key: ref.key.replace(/json$/, 'checksum') }, Buffer.from(createHash('md5').update(body).digest('hex')), {});
      await expect(executeMigration(stack, ref, { timeScale: 0.001 })).rejects.toThrow(/lists every object version|lacks the Size column/);
    }
    expect((await listKeys(stack.s3, LOCAL_NAMES.libraryBucket)).length).toBe(before);
  });
});
