/** verifyRun on in-memory ports: DONE, FAILED, and items whose catalog rows are of another bucket. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import type { StepContext } from '../../src/core/context';
import { dedupe } from '../../src/core/dedupe';
import type { InventoryRow } from '../../src/core/inventory/data-files';
import { encodeInventoryKey } from '../../src/core/inventory/keys';
import { validateConfig } from '../../src/core/presets';
import { recordFailure } from '../../src/core/record-failure';
import { resize } from '../../src/core/resize';
import { verifyRun } from '../../src/core/verify';
import { noiseJpeg } from '../helpers/images';
import { MemoryCatalog } from '../helpers/memory-catalog';
import { MemoryStore } from '../helpers/memory-store';

const presets = validateConfig(config);
const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');

describe('verifyRun', () => {
  it('says DONE and FAILED for the run\'s own bucket, and a discrepancy for a report of another bucket with the same keys', async () => {
    const store = new MemoryStore();
    const catalog = new MemoryCatalog();
    const context: StepContext = { store, catalog, libraryBucket: 'library', config, presets };
    const photo = await noiseJpeg(300, 200);
    await store.put({ bucket: 'photos', key: 'a.jpg' }, photo, {});
    const item = { bucket: 'photos', key: encodeInventoryKey('a.jpg'), size: photo.byteLength, etag: md5(photo) };
    const outcome = await dedupe(context, { item, runId: 'r' });
    await resize(context, { item, runId: 'r', outcome });
    await recordFailure(context, { item: { bucket: 'photos', key: 'bad.jpg', etag: 'e' }, runId: 'r', error: { Error: 'PhotoError', Cause: 'cannot decode' } });

    const rows = (bucket: string): InventoryRow[] => [
      { Bucket: bucket, Key: 'a.jpg', Size: String(photo.byteLength), ETag: md5(photo) },
      { Bucket: bucket, Key: 'bad.jpg', Size: '1', ETag: 'e' },
    ];
    const verify = { store, catalog, libraryBucket: 'library', presets };
    expect(await verifyRun(verify, rows('photos'))).toMatchObject({ items: 2, done: 1, failed: 1, incomplete: 0, discrepancies: [] });
    const other = await verifyRun(verify, rows('someone-else'));
    expect(other).toMatchObject({ items: 2, done: 0, failed: 0, incomplete: 2 });
    expect(other.discrepancies).toEqual([
      { key: 'a.jpg', problem: 'the catalog rows are of s3://photos/a.jpg, the inventory\'s item of s3://someone-else/a.jpg' },
      { key: 'bad.jpg', problem: 'the failure row is of s3://photos/bad.jpg, the inventory\'s item of s3://someone-else/bad.jpg' },
    ]);
  });
});
