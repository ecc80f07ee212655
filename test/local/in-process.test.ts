/**
 * The emulators' clients in process (src/local/in-process.ts): every request answered by the emulator's
 * own listeners with no TCP connection (a server counts none), bodies streamed both ways byte-exact, HEAD answers without a
 * body (so the SDK names a missing object NotFound, as S3's bodiless 404 makes it), the gates (fault
 * injection) still in front, and an answer that never comes failing as a TimeoutError.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { PutItemCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { makeS3Client } from '../../src/aws/clients';
import { startEmulators } from '../../src/local/emulators';
import { FaultInjector, NO_FAULTS } from '../../src/local/faults';
import { InProcessHandler } from '../../src/local/in-process';

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('emulator clients in process', () => {
  it('answer S3 and DynamoDB requests through the emulators, 6 MB round trips byte-exact', async () => {
    const emulators = await startEmulators({ inMemory: true, buckets: ['b'], tableName: 'catalog' });
    try {
      const big = Buffer.alloc(6 * 1024 * 1024, 7).map((_, i) => (i * 31) & 0xff);
      await emulators.s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'big.bin', Body: big }));
      const got = await emulators.s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'big.bin' }));
      expect(sha(await got.Body!.transformToByteArray())).toBe(sha(big));
      await expect(emulators.s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'missing.bin' }))).rejects.toMatchObject({ name: 'NotFound', $metadata: { httpStatusCode: 404 } });
      await emulators.dynamo.send(new PutItemCommand({ TableName: 'catalog', Item: { sourceKey: { S: 'k' }, preset: { S: 'original' } } }));
      expect((await emulators.dynamo.send(new GetItemCommand({ TableName: 'catalog', Key: { sourceKey: { S: 'k' }, preset: { S: 'original' } } }))).Item).toBeDefined();
    } finally {
      await emulators.close();
    }
  }, 60_000);

  it('opens no socket: the same requests through an HTTP client would (the server sees its connection)', async () => {
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => response.writeHead(200, { 'Content-Type': 'application/xml' }).end('<ok/>'));
    });
    let connections = 0;
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const inProcess = new InProcessHandler(server);
    const viaHandler = makeS3Client({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, requestHandler: inProcess });
    const viaSocket = makeS3Client({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    try {
      await viaHandler.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x' }));
      expect(inProcess.handled).toBe(1);
      expect(connections).toBe(0);
      await viaSocket.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x' }));
      expect(connections).toBe(1);
    } finally {
      viaHandler.destroy();
      viaSocket.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 30_000);

  it('keeps the emulators\' gates in front: an injected SlowDown is answered 503 and retried by the SDK', async () => {
    const faults = new FaultInjector({ ...NO_FAULTS, slowDown: 0.5, seed: 7 });
    const emulators = await startEmulators({ inMemory: true, buckets: ['b'], tableName: 'catalog', faults, retryDelayMs: () => 1 });
    try {
      for (let i = 0; i < 10; i++) await emulators.s3.send(new PutObjectCommand({ Bucket: 'b', Key: `k${i}`, Body: 'x' }));
      expect(faults.injected.slowDown).toBeGreaterThan(0);
    } finally {
      await emulators.close();
    }
  }, 60_000);

  it('fails an answer that never comes with TimeoutError (which the SDK retries), as an idle socket would', async () => {
    const server = createServer(() => {
      // never answers
    });
    const handler = new InProcessHandler(server, 50);
    const client = makeS3Client({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, requestHandler: handler, maxAttempts: 2, retryDelayMs: () => 1 });
    try {
      await expect(client.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' }))).rejects.toMatchObject({ name: 'TimeoutError', $metadata: { attempts: 2 } });
      expect(handler.handled).toBe(2);
    } finally {
      client.destroy();
    }
  }, 30_000);
});
