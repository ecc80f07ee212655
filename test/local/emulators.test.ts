/** The embedded emulators behave as the adapters need, and keep their data across restarts. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoCatalog } from '../../src/aws/dynamo-catalog';
import { S3ObjectStore } from '../../src/aws/s3-store';
import type { CatalogRow } from '../../src/core/ports';
import { startEmulators } from '../../src/local/emulators';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-emulators-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const row = (sourceKey: string, preset: string, sha256: string): CatalogRow => ({
  sourceKey, preset, logicalKey: preset === 'original' ? sourceKey : `${preset}/${sourceKey}`, assetKey: `assets/${sha256}`, sha256, sourceSha256: sha256,
  width: 1, height: 1, bytes: 1, contentType: 'image/jpeg', sourceBucket: 's', sourceEtag: 'e', spec: 'x', runId: 'r', updatedAt: 't',
});

describe('emulators', () => {
  it('serve pointers, GSI queries and conditional claims, and keep everything after a restart', async () => {
    const options = { dataDir: dir, buckets: ['library'], tableName: 'catalog' };
    const first = await startEmulators(options);
    const store = new S3ObjectStore(first.s3);
    const catalog = new DynamoCatalog(first.dynamo, 'catalog');
    const key = 'thumb/spaces and ü + 100%.jpg';
    await store.put({ bucket: 'library', key }, new Uint8Array(0), { redirectLocation: '/assets/ab/cd/ef/x.jpg', cacheControl: 'public, max-age=300' });
    // Like S3, the emulator refuses a conditional write over an existing object.
    expect(await store.put({ bucket: 'library', key: 'assets/x.jpg' }, new Uint8Array([1]), { ifAbsent: true })).toBe(true);
    expect(await store.put({ bucket: 'library', key: 'assets/x.jpg' }, new Uint8Array([2, 2]), { ifAbsent: true })).toBe(false);
    expect((await store.get({ bucket: 'library', key: 'assets/x.jpg' })).body).toEqual(new Uint8Array([1]));
    await catalog.putRows([...Array.from({ length: 30 }, (_, i) => row(`k${i}.jpg`, 'original', i < 2 ? 'same' : `h${i}`))]);
    expect((await catalog.keysForHash('same')).map((use) => use.sourceKey).sort()).toEqual(['k0.jpg', 'k1.jpg']);
    expect(await catalog.claimContent('c'.repeat(64), 'a', 60_000)).toBe(true);
    expect(await catalog.claimContent('c'.repeat(64), 'b', 60_000)).toBe(false);
    expect(await catalog.claimContent('d'.repeat(64), 'a', -1)).toBe(true);
    expect(await catalog.claimContent('d'.repeat(64), 'b', 60_000)).toBe(true); // the expired lease is taken over
    await first.close();

    const second = await startEmulators(options);
    try {
      const again = new S3ObjectStore(second.s3);
      expect(await again.head({ bucket: 'library', key })).toMatchObject({ size: 0, redirectLocation: '/assets/ab/cd/ef/x.jpg', cacheControl: 'public, max-age=300' });
      expect(await new DynamoCatalog(second.dynamo, 'catalog').rowsForKey('k7.jpg')).toEqual([row('k7.jpg', 'original', 'h7')]);
    } finally {
      await second.close();
    }
  });
});
