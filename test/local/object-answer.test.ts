/**
 * The local S3's plain object reads and writes answered without s3rver's Koa stack
 * (src/local/object-answer.ts): for every request it takes, the same status, headers and bytes as
 * s3rver gives the same request over a socket; everything else — a missing key, a Range, a query, a
 * request over a socket — still s3rver's, error answers included.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeS3Client } from '../../src/aws/clients';
import { EMULATOR_CREDENTIALS, type Emulators, startEmulators } from '../../src/local/emulators';
import { OBJECTS_DIR } from '../../src/local/object-files';

interface Raw {
  status: number;
  headers: Record<string, string>;
  body?: string;
}

/** Every answer's status and headers as they came, before the SDK reads them. */
function recording(client: S3Client): Raw[] {
  const answers: Raw[] = [];
  client.middlewareStack.remove('recordRawAnswer');
  client.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      const response = (result as { response: { statusCode: number; headers: Record<string, string> } }).response;
      answers.push({ status: response.statusCode, headers: { ...response.headers } });
      return result;
    },
    // Inside the deserializer (low priority): an error answer too, before the deserializer throws it.
    { step: 'deserialize', priority: 'low', name: 'recordRawAnswer' },
  );
  return answers;
}

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
/** An answer's status and headers but those Node's HTTP server adds over a socket (the connection's, the date). */
function withoutSocketHeaders(raw: Raw): Raw {
  const { connection: _c, date: _d, 'keep-alive': _k, ...headers } = raw.headers;
  return { status: raw.status, headers };
}

describe('object-answer: plain GET, HEAD and PUT of the in-process clients', () => {
  let emulators: Emulators;
  let viaSocket: S3Client;
  // Recorded from before each client's first call: an S3 client resolves its middleware once per command (cacheMiddleware).
  let inProcess: Raw[];
  let socket: Raw[];
  const big = Buffer.alloc(9 * 1024 * 1024).map((_, i) => (i * 7919) & 0xff); // over the one-read size: streamed

  beforeAll(async () => {
    emulators = await startEmulators({ inMemory: true, buckets: ['b'], tableName: 'catalog' });
    viaSocket = makeS3Client({ endpoint: emulators.s3Endpoint, region: 'us-east-1', credentials: EMULATOR_CREDENTIALS });
    inProcess = recording(emulators.s3);
    socket = recording(viaSocket);
  }, 60_000);
  afterAll(async () => {
    viaSocket?.destroy();
    await emulators?.close();
  });

  const objects: Array<{ key: string; put: Omit<ConstructorParameters<typeof PutObjectCommand>[0], 'Bucket' | 'Key'> }> = [
    { key: 'photos/a b/été.jpg', put: { Body: Buffer.from('jpeg bytes'), ContentType: 'image/jpeg', CacheControl: 'public, max-age=31536000, immutable', Metadata: { sha256: 'abc' } } },
    { key: 'small/photos/a b/été.jpg', put: { Body: new Uint8Array(0), WebsiteRedirectLocation: '/assets/ab/cd/ef/x.jpg', CacheControl: 'max-age=60' } },
    { key: 'no-type', put: { Body: Buffer.from('x'), ContentDisposition: 'inline', ContentLanguage: 'fr', StorageClass: 'STANDARD_IA' } },
    { key: 'big.bin', put: { Body: big, ContentType: 'application/octet-stream' } },
  ];

  it('writes each object as s3rver does (ETag, stored headers), and answers its GET and HEAD with s3rver\'s status, headers and bytes', async () => {
    for (const object of objects) {
      const before = emulators.objectAnswers();
      await emulators.s3.send(new PutObjectCommand({ Bucket: 'b', Key: `fast/${object.key}`, ...object.put }));
      expect(emulators.objectAnswers(), `PUT ${object.key}`).toBe(before + 1);
      await viaSocket.send(new PutObjectCommand({ Bucket: 'b', Key: `s3rver/${object.key}`, ...object.put }));
      expect(emulators.objectAnswers(), 'a request over a socket is s3rver\'s').toBe(before + 1);
    }
    // Each written by one path, read by both: the stored objects are alike, and so are the answers.
    for (const object of objects) {
      for (const prefix of ['fast', 's3rver']) {
        const key = `${prefix}/${object.key}`;
        const before = emulators.objectAnswers();
        const mine = await emulators.s3.send(new GetObjectCommand({ Bucket: 'b', Key: key }));
        const mineBody = await mine.Body!.transformToByteArray();
        await emulators.s3.send(new HeadObjectCommand({ Bucket: 'b', Key: key }));
        expect(emulators.objectAnswers(), `GET and HEAD ${key}`).toBe(before + 2);
        const theirs = await viaSocket.send(new GetObjectCommand({ Bucket: 'b', Key: key }));
        const theirBody = await theirs.Body!.transformToByteArray();
        await viaSocket.send(new HeadObjectCommand({ Bucket: 'b', Key: key }));
        expect(sha(mineBody), key).toBe(sha(theirBody));
        expect(sha(mineBody), key).toBe(sha(object.put.Body as Uint8Array));
        const [get, head] = inProcess.slice(-2);
        const [s3rverGet, s3rverHead] = socket.slice(-2);
        expect(get, `GET ${key}`).toEqual(withoutSocketHeaders(s3rverGet!));
        expect(head, `HEAD ${key}`).toEqual(withoutSocketHeaders(s3rverHead!));
      }
      // The same ETag and stored headers, whichever path wrote it.
      const fast = inProcess.at(-4)!.headers;
      const slow = inProcess.at(-2)!.headers;
      const { 'last-modified': _a, ...fastRest } = fast;
      const { 'last-modified': _b, ...slowRest } = slow;
      expect(fastRest, object.key).toEqual(slowRest);
    }
  }, 60_000);

  it('answers a missing key as s3rver does (404 NoSuchKey; a HEAD\'s without its body)', async () => {
    const before = emulators.objectAnswers();
    for (const client of [emulators.s3, viaSocket]) {
      await expect(client.send(new GetObjectCommand({ Bucket: 'b', Key: 'missing/a b.jpg' }))).rejects.toMatchObject({ name: 'NoSuchKey', message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } });
      await expect(client.send(new HeadObjectCommand({ Bucket: 'b', Key: 'missing/a b.jpg' }))).rejects.toMatchObject({ name: 'NotFound', $metadata: { httpStatusCode: 404 } });
    }
    expect(inProcess.slice(-2)).toEqual(socket.slice(-2).map(withoutSocketHeaders));
    expect(inProcess.at(-1)!.status).toBe(404);
    expect(emulators.objectAnswers()).toBe(before + 2);
  });

  it('leaves to s3rver a missing bucket, a Range, a query, a conditional GET and a key with an empty segment — its answers, its errors', async () => {
    await emulators.s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'r.txt', Body: Buffer.from('0123456789'), ContentType: 'text/plain' }));
    const before = emulators.objectAnswers();
    await expect(emulators.s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'r.txt' }))).rejects.toMatchObject({ name: 'NoSuchBucket' });
    const ranged = await emulators.s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'r.txt', Range: 'bytes=2-4' }));
    expect(await ranged.Body!.transformToString()).toBe('234');
    expect(ranged.ContentRange).toBe('bytes 2-4/10');
    const overridden = await emulators.s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'r.txt', ResponseContentType: 'application/json' }));
    expect(overridden.ContentType).toBe('application/json');
    await overridden.Body!.transformToString();
    const etag = (await emulators.s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'r.txt' }))).ETag!;
    await expect(emulators.s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'r.txt', IfNoneMatch: etag }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 304 } });
    await expect(emulators.s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'r.txt', Body: 'x', WebsiteRedirectLocation: 'elsewhere' }))).rejects.toMatchObject({ name: 'InvalidArgument' });
    // A key with an empty segment: s3rver's router takes none, so neither may this module (it could
    // store one s3rver could then never delete).
    for (const key of ['x//y.jpg', '/lead.jpg']) {
      const mine = await emulators.s3.send(new PutObjectCommand({ Bucket: 'b', Key: key, Body: 'x' })).then(() => 'stored', (error: Error) => error.name);
      const theirs = await viaSocket.send(new PutObjectCommand({ Bucket: 'b', Key: key, Body: 'x' })).then(() => 'stored', (error: Error) => error.name);
      expect(mine, key).toBe(theirs);
    }
    // Only the one plain HEAD above was this module's; every other request was s3rver's.
    expect(emulators.objectAnswers()).toBe(before + 1);
  }, 60_000);

  it('answers a write the store cannot make as s3rver does (500 InternalError, which the SDK retries)', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'photo-scaler-object-answer-'));
    const local = await startEmulators({ dataDir, buckets: ['b'], tableName: 'catalog' });
    const once = local.newClients({ maxAttempts: 1 }).s3;
    const socketOnce = makeS3Client({ endpoint: local.s3Endpoint, region: 'us-east-1', credentials: EMULATOR_CREDENTIALS, maxAttempts: 1 });
    try {
      // Each key's shard directory taken by a file: the write cannot start (ENOTDIR/EEXIST, not a full disk).
      for (const key of ['fast.jpg', 's3rver.jpg']) {
        const hash = createHash('sha256').update(key).digest('hex');
        await mkdir(join(dataDir, 's3', 'b', OBJECTS_DIR), { recursive: true });
        await writeFile(join(dataDir, 's3', 'b', OBJECTS_DIR, hash.slice(0, 2)), 'in the way');
      }
      const inProcess = recording(once);
      const socket = recording(socketOnce);
      const before = local.objectAnswers();
      for (const [client, key] of [[once, 'fast.jpg'], [socketOnce, 's3rver.jpg']] as const) {
        await expect(client.send(new PutObjectCommand({ Bucket: 'b', Key: key, Body: Buffer.from('x') }))).rejects.toMatchObject({ name: 'InternalError', $metadata: { httpStatusCode: 500 } });
      }
      expect(local.objectAnswers()).toBe(before + 1);
      expect(inProcess.at(-1)).toEqual(withoutSocketHeaders(socket.at(-1)!));
    } finally {
      socketOnce.destroy();
      await local.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
