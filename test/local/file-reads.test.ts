/**
 * `verify` reads the local S3's objects straight from their files (src/local/file-reads.ts): every
 * answer must be the one a HEAD or GET through the emulator gives, field for field — for an asset, a
 * pointer, an object without a content type, an empty one, a missing one and one whose file was cut.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../src/aws/s3-store';
import { NotFoundError } from '../../src/core/errors';
import { type Emulators, startEmulators } from '../../src/local/emulators';
import { LocalFileReads } from '../../src/local/file-reads';
import { OBJECTS_DIR } from '../../src/local/object-files';

let dir: string;
let emulators: Emulators;
let s3: S3ObjectStore;
let files: LocalFileReads;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-file-reads-'));
  emulators = await startEmulators({ dataDir: dir, buckets: ['library'], tableName: 'catalog' });
  s3 = new S3ObjectStore(emulators.s3);
  files = new LocalFileReads(join(dir, 's3'), s3);
});
afterAll(async () => {
  await emulators?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('reads from the local S3 files', () => {
  it('answer HEAD and GET exactly as the emulator does', async () => {
    const objects = [
      { key: 'assets/ab/cd/ef/abc.jpg', body: Buffer.from('jpeg bytes'), options: { contentType: 'image/jpeg', cacheControl: 'public, max-age=31536000, immutable', metadata: { sha256: 'abc', 'source-key': 'a b.jpg' } } },
      { key: 'small/trips/a b+1 100%.jpg', body: Buffer.alloc(0), options: { contentType: 'image/jpeg', cacheControl: 'public, max-age=300', redirectLocation: '/assets/ab/cd/ef/abc.jpg' } },
      { key: 'plain', body: Buffer.from('x'), options: {} },
    ];
    for (const object of objects) await s3.put({ bucket: 'library', key: object.key }, object.body, object.options);
    for (const key of [...objects.map((o) => o.key), 'missing.jpg']) {
      const ref = { bucket: 'library', key };
      expect(await files.head(ref), key).toEqual(await s3.head(ref));
      const viaS3 = await s3.get(ref).catch((error: Error) => error);
      const direct = await files.get(ref).catch((error: Error) => error);
      if (viaS3 instanceof Error) {
        expect(viaS3).toBeInstanceOf(NotFoundError);
        expect(direct).toBeInstanceOf(NotFoundError);
      } else {
        expect(direct).toEqual({ ...viaS3, body: new Uint8Array(Buffer.from(viaS3.body)) });
      }
    }
    expect(await files.head({ bucket: 'library', key: 'small/trips/a b+1 100%.jpg' })).toMatchObject({ size: 0, redirectLocation: '/assets/ab/cd/ef/abc.jpg' });
  });

  it('an object whose file was cut short is absent, as through the emulator', async () => {
    const ref = { bucket: 'library', key: 'cut.jpg' };
    await s3.put(ref, Buffer.from('some bytes that will be cut'), { contentType: 'image/jpeg' });
    const hash = createHash('sha256').update(ref.key, 'utf8').digest('hex');
    await truncate(join(dir, 's3', 'library', OBJECTS_DIR, hash.slice(0, 2), hash), 5);
    expect(await s3.head(ref)).toBeUndefined();
    expect(await files.head(ref)).toBeUndefined();
    await expect(files.get(ref)).rejects.toBeInstanceOf(NotFoundError);
  });
});
