/**
 * src/core/library.ts against the emulated S3 (s3rver through the S3 adapter, as local runs use it):
 * an asset is written once under its own sha-256, a pointer only when it points elsewhere.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../src/aws/s3-store';
import { config } from '../../src/config';
import type { StepContext } from '../../src/core/context';
import { assetKey, pointerTarget } from '../../src/core/keys';
import { ASSET_CACHE_CONTROL, POINTER_CACHE_CONTROL, putAsset, putPointer, putPointers, sha256Hex } from '../../src/core/library';
import { validateConfig } from '../../src/core/presets';
import { type Emulators, startEmulators } from '../../src/local/emulators';
import { noiseJpeg } from '../helpers/images';
import { listKeys } from '../helpers/library';
import { MemoryCatalog } from '../helpers/memory-catalog';

const BUCKET = 'library';
let emulators: Emulators;
let context: StepContext;

beforeAll(async () => {
  emulators = await startEmulators({ inMemory: true, buckets: [BUCKET], tableName: 'catalog' });
  context = { store: new S3ObjectStore(emulators.s3), catalog: new MemoryCatalog(), libraryBucket: BUCKET, config, presets: validateConfig(config) };
}, 60_000);

afterAll(async () => {
  await emulators?.close();
});

const head = (key: string) => emulators.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
const bytesAt = async (key: string) => (await emulators.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray();

describe('sha256Hex', () => {
  it('is the sha-256 of the bytes, in hex', async () => {
    const jpeg = await noiseJpeg(64, 48, 3);
    expect(sha256Hex(jpeg)).toBe(createHash('sha256').update(jpeg).digest('hex'));
  });
});

describe('putAsset', () => {
  it('stores the bytes under assets/<shards>/<sha256>.<ext>, immutable, once', async () => {
    const jpeg = await noiseJpeg(120, 80, 7);
    const sha = sha256Hex(jpeg);
    const first = await putAsset(context, jpeg, 'jpg', 'image/jpeg');
    expect(first).toEqual({ key: assetKey(sha, 'jpg'), sha256: sha, bytes: jpeg.byteLength, written: true });
    expect(Buffer.from(await bytesAt(first.key)).equals(jpeg)).toBe(true);
    const stored = await head(first.key);
    expect(stored).toMatchObject({ ContentType: 'image/jpeg', CacheControl: ASSET_CACHE_CONTROL, Metadata: { sha256: sha } });

    // The same bytes again: nothing rewritten (a conditional PUT that finds the key taken).
    const again = await putAsset(context, jpeg, 'jpg', 'image/jpeg');
    expect(again).toEqual({ ...first, written: false });
    expect((await head(first.key)).LastModified).toEqual(stored.LastModified);
    expect((await listKeys(emulators.s3, BUCKET, `assets/${sha.slice(0, 2)}/`)).filter((key) => key.includes(sha))).toEqual([first.key]);
  });

  it('takes the sha-256 the caller already computed', async () => {
    const jpeg = await noiseJpeg(40, 40, 11);
    const asset = await putAsset(context, jpeg, 'jpg', 'image/jpeg', sha256Hex(jpeg));
    expect(asset.key).toBe(assetKey(sha256Hex(jpeg), 'jpg'));
  });
});

describe('putPointer / putPointers', () => {
  it('writes a 0-byte pointer whose redirect is /<asset key>, and rewrites it only when the target changes', async () => {
    const a = await putAsset(context, await noiseJpeg(30, 20, 21), 'jpg', 'image/jpeg');
    const b = await putAsset(context, await noiseJpeg(30, 20, 22), 'jpg', 'image/jpeg');
    const logical = 'thumb/holiday 2024/Zürich + friends 100%.jpg';

    expect(await putPointer(context, logical, a.key)).toBe(true);
    const pointer = await head(logical);
    expect(pointer).toMatchObject({ ContentLength: 0, WebsiteRedirectLocation: pointerTarget(a.key), CacheControl: POINTER_CACHE_CONTROL });
    expect(pointerTarget(a.key)).toBe(`/${a.key}`);

    expect(await putPointer(context, logical, a.key)).toBe(false);
    expect((await head(logical)).LastModified).toEqual(pointer.LastModified);

    expect(await putPointer(context, logical, b.key)).toBe(true);
    expect((await head(logical)).WebsiteRedirectLocation).toBe(`/${b.key}`);
  });

  it('counts the pointers it wrote', async () => {
    const asset = await putAsset(context, await noiseJpeg(30, 20, 31), 'jpg', 'image/jpeg');
    const pointers = ['p/one.jpg', 'p/two.jpg', 'p/three.jpg'].map((logicalKey) => ({ logicalKey, assetKey: asset.key }));
    expect(await putPointers(context, pointers)).toBe(3);
    expect(await putPointers(context, pointers)).toBe(0);
    expect(await listKeys(emulators.s3, BUCKET, 'p/')).toEqual(['p/one.jpg', 'p/three.jpg', 'p/two.jpg']);
  });
});
