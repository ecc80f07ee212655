/** The embedded emulators behave as the adapters need, and keep their data across restarts. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConditionalCheckFailedException, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { GetBucketLocationCommand, GetObjectCommand, HeadObjectCommand, NoSuchBucket, NoSuchKey, NotFound, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoCatalog } from '../../src/aws/dynamo-catalog';
import { S3ObjectStore } from '../../src/aws/s3-store';
import { isUnmodeledS3Error } from '../../src/aws/sdk-errors';
import { NotFoundError } from '../../src/core/errors';
import type { CatalogRow, FailureRow } from '../../src/core/ports';
import { type Emulators, startEmulators } from '../../src/local/emulators';

let dir: string;
let emulators: Emulators;
let store: S3ObjectStore;
let catalog: DynamoCatalog;
let clock = 1_000_000;

const options = () => ({ dataDir: dir, buckets: ['library', 'source'], tableName: 'catalog' });
const pointerKey = 'thumb/spaces and ü + 100%.jpg';
const hostileKey = 'Ferien 2019/Ünïcødé + plus %41 100% & ?#[].jpg';

const row = (sourceKey: string, preset: string, sha256: string): CatalogRow => ({
  sourceKey, preset, logicalKey: preset === 'original' ? sourceKey : `${preset}/${sourceKey}`, assetKey: `assets/${sha256}`, sha256, sourceSha256: sha256,
  width: 1, height: 1, bytes: 1, contentType: 'image/jpeg', sourceBucket: 'source', sourceEtag: 'e', spec: 'x', runId: 'r', updatedAt: 't',
});
const failure = (sourceKey: string): FailureRow => ({
  sourceKey, preset: '#failure', sourceBucket: 'source', sourceEtag: 'e', errorType: 'PhotoError', error: 'cannot decode', reason: 'corrupt', runId: 'r', updatedAt: 't',
});
/** 30 rows: 10 keys × (original, thumb, small); k0 and k1 share their bytes. */
const rows = Array.from({ length: 10 }, (_, i) =>
  ['original', 'thumb', 'small'].map((preset) => row(`k${i}.jpg`, preset, i < 2 ? `same-${preset}` : `h${i}-${preset}`)),
).flat();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-emulators-'));
  emulators = await startEmulators(options());
  store = new S3ObjectStore(emulators.s3);
  catalog = new DynamoCatalog(emulators.dynamo, 'catalog', { now: () => clock });
});
afterAll(async () => {
  await emulators?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('s3rver through S3ObjectStore', () => {
  it('stores a pointer: 0 bytes, redirect location and cache control on HEAD (and on GET)', async () => {
    const ref = { bucket: 'library', key: pointerKey };
    expect(await store.put(ref, new Uint8Array(0), { redirectLocation: '/assets/ab/cd/ef/x.jpg', cacheControl: 'public, max-age=300', contentType: 'image/jpeg' })).toBe(true);
    expect(await store.head(ref)).toMatchObject({ size: 0, redirectLocation: '/assets/ab/cd/ef/x.jpg', cacheControl: 'public, max-age=300', contentType: 'image/jpeg' });
    const raw = await emulators.s3.send(new GetObjectCommand({ Bucket: 'library', Key: pointerKey }));
    expect(raw).toMatchObject({ WebsiteRedirectLocation: '/assets/ab/cd/ef/x.jpg', CacheControl: 'public, max-age=300', ContentLength: 0 });
    await raw.Body?.transformToByteArray();
  });

  it('round-trips a key with spaces, unicode, "+" and "%", with metadata', async () => {
    const ref = { bucket: 'source', key: hostileKey };
    const body = new Uint8Array([0xff, 0xd8, 0xff, 1, 2, 3]);
    await store.put(ref, body, { contentType: 'image/jpeg', metadata: { sha256: 'abc' } });
    const object = await store.get(ref);
    expect(object.body).toEqual(body);
    expect(object.contentType).toBe('image/jpeg');
    expect(object.etag).toMatch(/^[0-9a-f]{32}$/);
    expect(await store.head(ref)).toMatchObject({ size: 6, etag: object.etag, metadata: { sha256: 'abc' } });
    // No neighbour answers for it: '+' is not a space and '%41' is not 'A'.
    expect(await store.head({ bucket: 'source', key: hostileKey.replace('+', ' ') })).toBeUndefined();
    expect(await store.head({ bucket: 'source', key: hostileKey.replace('%41', 'A') })).toBeUndefined();
    await store.delete(ref);
    expect(await store.head(ref)).toBeUndefined();
    await expect(store.get(ref)).rejects.toThrow(NotFoundError);
    await store.delete(ref); // deleting a missing object is fine, as on S3
  });

  it('refuses a conditional write over an existing object, like S3', async () => {
    const ref = { bucket: 'library', key: 'assets/x.jpg' };
    expect(await store.put(ref, new Uint8Array([1]), { ifAbsent: true })).toBe(true);
    expect(await store.put(ref, new Uint8Array([2, 2]), { ifAbsent: true })).toBe(false);
    expect((await store.get(ref)).body).toEqual(new Uint8Array([1]));
  });
});

describe('s3rver through S3ObjectStore.openRead (an original read as it arrives)', () => {
  it('streams a 24 MB object in many chunks, bytes and hash intact; leaving early closes it and the store goes on', async () => {
    const { createHash, randomBytes } = await import('node:crypto');
    const body = randomBytes(24 * 1024 * 1024);
    await store.put({ bucket: 'source', key: hostileKey }, body, {});
    const stream = await store.openRead({ bucket: 'source', key: hostileKey });
    expect(stream.size).toBe(body.byteLength);
    const hash = createHash('sha256');
    let chunks = 0;
    let largest = 0;
    for await (const chunk of stream.body) {
      chunks++;
      largest = Math.max(largest, chunk.byteLength);
      hash.update(chunk);
    }
    expect(hash.digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
    expect(chunks).toBeGreaterThan(10);
    expect(largest).toBeLessThan(body.byteLength / 4);

    const early = await store.openRead({ bucket: 'source', key: hostileKey });
    for await (const _ of early.body) break;
    expect((await store.head({ bucket: 'source', key: hostileKey }))?.size).toBe(body.byteLength);
    await expect(store.openRead({ bucket: 'source', key: 'no such photo.jpg' })).rejects.toThrow(NotFoundError);
  });
});

describe('dynalite through DynamoCatalog', () => {
  it('writes 30 rows (two batches) and reads them by key and through the bySha256 index', async () => {
    await catalog.putRows(rows);
    expect(await catalog.rowsForKey('k7.jpg')).toEqual(rows.filter((r) => r.sourceKey === 'k7.jpg').sort((a, b) => a.preset.localeCompare(b.preset)));
    expect((await catalog.keysForHash('same-thumb')).sort((a, b) => a.sourceKey.localeCompare(b.sourceKey))).toEqual([
      { sourceKey: 'k0.jpg', preset: 'thumb' },
      { sourceKey: 'k1.jpg', preset: 'thumb' },
    ]);
    expect(await catalog.keysForHash('h9-small')).toEqual([{ sourceKey: 'k9.jpg', preset: 'small' }]);
    expect(await catalog.keysForHash('nothing')).toEqual([]);
  });

  it('projects only keys, preset and assetKey into the index (INCLUDE)', async () => {
    const page = await emulators.dynamo.send(
      new QueryCommand({ TableName: 'catalog', IndexName: 'bySha256', KeyConditionExpression: 'sha256 = :h', ExpressionAttributeValues: { ':h': { S: 'h9-small' } } }),
    );
    expect(Object.keys(page.Items?.[0] ?? {}).sort()).toEqual(['assetKey', 'preset', 'sha256', 'sourceKey']);
  });

  it('pages through a key with many rows', async () => {
    // ~4 KB rows: 300 of them exceed a Query page (1 MB), so rowsForKey must follow LastEvaluatedKey.
    const big = Array.from({ length: 300 }, (_, i) => ({ ...row('many.jpg', `p${String(i).padStart(3, '0')}`, `m${i}`), spec: 'x'.repeat(4_000) }));
    await catalog.putRows(big);
    const page = await emulators.dynamo.send(
      new QueryCommand({ TableName: 'catalog', KeyConditionExpression: 'sourceKey = :k', ExpressionAttributeValues: { ':k': { S: 'many.jpg' } } }),
    );
    expect(page.LastEvaluatedKey).toBeDefined();
    expect(await catalog.rowsForKey('many.jpg')).toHaveLength(300);
  });

  it('records a failure, leaves it out of rowsForKey, keeps it through other row writes, and deletes it when the batch outcome replaces it', async () => {
    await catalog.recordFailure(failure('broken.jpg'));
    expect(await catalog.failureFor('broken.jpg')).toEqual(failure('broken.jpg'));
    expect(await catalog.rowsForKey('broken.jpg')).toEqual([]);
    // An on-demand size of a photo the batch recorded FAILED is not the photo's outcome.
    await catalog.putRows([row('broken.jpg', 'dynamic/100x100', 'small')]);
    expect(await catalog.failureFor('broken.jpg')).toEqual(failure('broken.jpg'));
    await catalog.deleteRows('broken.jpg', ['dynamic/100x100']);
    await catalog.putRows([row('broken.jpg', 'original', 'fixed')], { replaceFailure: true });
    expect(await catalog.failureFor('broken.jpg')).toBeUndefined();
    expect(await catalog.rowsForKey('broken.jpg')).toEqual([row('broken.jpg', 'original', 'fixed')]);
    expect(await catalog.failureFor('never-failed.jpg')).toBeUndefined();
  });

  it('grants a content claim to one owner at a time until its lease expires', async () => {
    const sha = 'c'.repeat(64);
    expect(await catalog.claimContent(sha, 'a', 60_000)).toBe(true);
    expect(await catalog.claimContent(sha, 'b', 60_000)).toBe(false);
    expect(await catalog.claimContent(sha, 'a', 60_000)).toBe(true); // the owner renews
    expect(await catalog.keysForHash(sha)).toEqual([]); // claims stay out of the index
    clock += 60_001;
    expect(await catalog.claimContent(sha, 'b', 60_000)).toBe(true); // a's lease expired: b takes over
    expect(await catalog.claimContent(sha, 'a', 60_000)).toBe(false);
  });

  it('releases a claim only for its owner, or in the rows’ batch', async () => {
    const sha = 'd'.repeat(64);
    expect(await catalog.claimContent(sha, 'a', 60_000)).toBe(true);
    await catalog.releaseContent(sha, 'b'); // not b's: stays
    expect(await catalog.claimContent(sha, 'b', 60_000)).toBe(false);
    await catalog.releaseContent(sha, 'a');
    expect(await catalog.claimContent(sha, 'b', 60_000)).toBe(true);
    await catalog.putRows([row('claimed.jpg', 'original', sha)], { releaseClaims: [sha] });
    expect(await catalog.claimContent(sha, 'c', 60_000)).toBe(true);
    await catalog.releaseContent('e'.repeat(64), 'a'); // no claim at all: fine
  });
});

describe('errors as the SDK deserialises the emulators\' answers', () => {
  const caught = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

  it('are instances of the SDK\'s exception classes where it models them, named by code where it does not', async () => {
    expect(await caught(emulators.s3.send(new GetObjectCommand({ Bucket: 'library', Key: 'no/such.jpg' })))).toBeInstanceOf(NoSuchKey);
    expect(await caught(emulators.s3.send(new HeadObjectCommand({ Bucket: 'library', Key: 'no/such.jpg' })))).toBeInstanceOf(NotFound);
    expect(await caught(emulators.s3.send(new GetBucketLocationCommand({ Bucket: 'no-such-bucket' })))).toBeInstanceOf(NoSuchBucket);
    await emulators.s3.send(new PutObjectCommand({ Bucket: 'library', Key: 'taken.jpg', Body: 'x' }));
    const taken = await caught(emulators.s3.send(new PutObjectCommand({ Bucket: 'library', Key: 'taken.jpg', Body: 'y', IfNoneMatch: '*' })));
    expect(isUnmodeledS3Error(taken, 'PreconditionFailed')).toBe(true);
    expect(isUnmodeledS3Error(taken, 'NoSuchBucketPolicy')).toBe(false);
    const conditional = { TableName: 'catalog', Item: { sourceKey: { S: 'cond.jpg' }, preset: { S: 'x' } }, ConditionExpression: 'attribute_not_exists(sourceKey)' };
    await emulators.dynamo.send(new PutItemCommand(conditional));
    expect(await caught(emulators.dynamo.send(new PutItemCommand(conditional)))).toBeInstanceOf(ConditionalCheckFailedException);
  });
});

describe('emulator lifecycle', () => {
  it('keeps objects, rows, failures and claims across close() and a restart on the same data dir', async () => {
    await catalog.recordFailure(failure('still-broken.jpg'));
    expect(await catalog.claimContent('f'.repeat(64), 'a', 600_000)).toBe(true);
    await emulators.close();
    await emulators.close(); // idempotent

    emulators = await startEmulators(options());
    store = new S3ObjectStore(emulators.s3);
    catalog = new DynamoCatalog(emulators.dynamo, 'catalog', { now: () => clock });
    expect(await store.head({ bucket: 'library', key: pointerKey })).toMatchObject({ size: 0, redirectLocation: '/assets/ab/cd/ef/x.jpg', cacheControl: 'public, max-age=300' });
    expect((await store.get({ bucket: 'library', key: 'assets/x.jpg' })).body).toEqual(new Uint8Array([1]));
    expect(await catalog.rowsForKey('k7.jpg')).toHaveLength(3);
    expect(await catalog.keysForHash('same-original')).toHaveLength(2);
    expect(await catalog.failureFor('still-broken.jpg')).toEqual(failure('still-broken.jpg'));
    expect(await catalog.claimContent('f'.repeat(64), 'b', 60_000)).toBe(false);
  });

  it('refuses a second emulator on a data dir in use, with a clear error', async () => {
    await expect(startEmulators(options())).rejects.toThrow(/data in .*dynamodb: in use by another emulator/);
    // The running one is unharmed.
    expect(await catalog.rowsForKey('k0.jpg')).toHaveLength(3);
  });

  it('runs in memory: nothing persists', async () => {
    const first = await startEmulators({ inMemory: true, buckets: ['b'], tableName: 'mem' });
    try {
      await new S3ObjectStore(first.s3).put({ bucket: 'b', key: 'x' }, new Uint8Array([1]), {});
      await new DynamoCatalog(first.dynamo, 'mem').putRows([row('x', 'original', 'h')]);
      expect(await new DynamoCatalog(first.dynamo, 'mem').rowsForKey('x')).toHaveLength(1);
    } finally {
      await first.close();
    }
    const second = await startEmulators({ inMemory: true, buckets: ['b'], tableName: 'mem' });
    try {
      expect(await new S3ObjectStore(second.s3).head({ bucket: 'b', key: 'x' })).toBeUndefined();
      expect(await new DynamoCatalog(second.dynamo, 'mem').rowsForKey('x')).toEqual([]);
    } finally {
      await second.close();
    }
  });
});
