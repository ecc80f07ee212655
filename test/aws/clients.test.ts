/**
 * Retrying is configured once, on the clients: a request that keeps answering 503 reaches the wire
 * exactly as many times as the client's attempts, and no wrapper adds more. The requests never leave
 * the process: a fake request handler stands where the HTTP handler is (below the retry middleware).
 */
import { Readable } from 'node:stream';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { StandardRetryStrategy } from '@smithy/core/retry';
import { describe, expect, it, vi } from 'vitest';
import { CONTROL_PLANE_ATTEMPTS, countSdkRetries, makeCloudFormationClient, makeDynamoClient, makeS3Client, makeSfnClient, makeStsClient } from '../../src/aws/clients';
import { SfnRunStarter } from '../../src/aws/sfn';
import { isTransient } from '../../src/aws/transient';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

/** A request handler that answers every request with `status` and counts the requests. */
function answering(status: number, contentType: string, body: string) {
  const handler = {
    requests: 0,
    async handle() {
      handler.requests++;
      return { response: { statusCode: status, reason: 'Service Unavailable', headers: { 'content-type': contentType }, body: Readable.from([Buffer.from(body)]) } };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
  };
  return handler;
}

/** Replaces the client's HTTP handler before its first call (the middleware chain reads it then). */
function withHandler<C extends { config: object }>(client: C, handler: object): C {
  (client.config as { requestHandler: unknown }).requestHandler = handler;
  return client;
}

describe('SDK clients', () => {
  it('retry with the standard strategy: control-plane clients CONTROL_PLANE_ATTEMPTS times, data-plane ones 5', async () => {
    for (const client of [makeSfnClient(), makeStsClient(), makeCloudFormationClient()]) {
      const strategy = await client.config.retryStrategy();
      expect(strategy).toBeInstanceOf(StandardRetryStrategy);
      expect((strategy as StandardRetryStrategy).mode).toBe('standard');
      expect(await client.config.maxAttempts()).toBe(CONTROL_PLANE_ATTEMPTS);
    }
    for (const client of [makeS3Client(), makeDynamoClient()]) {
      expect(await client.config.retryStrategy()).toBeInstanceOf(StandardRetryStrategy);
      expect(await client.config.maxAttempts()).toBe(5);
    }
    expect(await makeS3Client({ maxAttempts: 10 }).config.maxAttempts()).toBe(10);
  });

  it('a Step Functions call answered 503 goes out exactly CONTROL_PLANE_ATTEMPTS times, then says what failed', async () => {
    const handler = answering(503, 'application/x-amz-json-1.0', JSON.stringify({ __type: 'ServiceUnavailable', message: 'try later' }));
    // The backoff, not the attempts, is scaled down (a ConfiguredRetryStrategy of the same attempts).
    const sfn = withHandler(makeSfnClient({ region: 'eu-west-1', credentials, retryDelayMs: () => 0 }), handler);
    const started = new SfnRunStarter(sfn, 'arn:aws:states:eu-west-1:123456789012:stateMachine:m').start('n', { manifest: { bucket: 'b', key: 'k' } });
    await expect(started).rejects.toThrow(new RegExp(`^StartExecution n: ServiceUnavailable after ${CONTROL_PLANE_ATTEMPTS} attempts: try later$`));
    expect(handler.requests).toBe(CONTROL_PLANE_ATTEMPTS);
  });

  it('the default strategy retries a 503 too, and a 400 not at all', async () => {
    const unavailable = answering(503, 'application/xml', '<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
    const s3 = withHandler(makeS3Client({ region: 'eu-west-1', credentials, maxAttempts: 2 }), unavailable);
    const error = await s3.send(new ListObjectsV2Command({ Bucket: 'photos' })).catch((e: unknown) => e);
    expect(unavailable.requests).toBe(2);
    expect(error).toMatchObject({ name: 'SlowDown', $metadata: { httpStatusCode: 503, attempts: 2 } });
    expect(isTransient(error)).toBe(true);

    const refused = answering(400, 'text/xml', '<ErrorResponse><Error><Code>InvalidClientTokenId</Code><Message>no</Message></Error></ErrorResponse>');
    const sts = withHandler(makeStsClient({ region: 'eu-west-1', credentials }), refused);
    const refusal = await sts.send(new GetCallerIdentityCommand({})).catch((e: unknown) => e);
    expect(refused.requests).toBe(1);
    expect(isTransient(refusal)).toBe(false);
  });
  it('an S3 client of the emulators resolves its middleware once per command, yet sends each call its own input; retries counted from the first call', async () => {
    // AWS SDK for JavaScript v3, SmithyConfiguration `cacheMiddleware`: "only resolve the middleware
    // stack once per Command class … modifying the middlewareStack … after requests have been made
    // will not be recognized".
    const seen: string[] = [];
    let failNext = 1;
    const handler = {
      async handle(request: { path: string; headers: Record<string, string> }) {
        seen.push(`${request.path} ${request.headers['content-type']}`);
        const status = failNext-- > 0 ? 503 : 200;
        return { response: { statusCode: status, reason: '', headers: { 'content-type': 'application/xml', etag: '"e"' }, body: Readable.from([Buffer.from(status === 200 ? '' : '<Error><Code>SlowDown</Code><Message>later</Message></Error>')]) } };
      },
      updateHttpClientConfig() {},
      httpHandlerConfigs: () => ({}),
    };
    const s3 = withHandler(makeS3Client({ endpoint: 'http://127.0.0.1:9', region: 'eu-west-1', credentials, retryDelayMs: () => 0 }), handler);
    expect(s3.config.cacheMiddleware).toBe(true);
    // On AWS the client follows region redirects, whose middleware keeps what it learnt in the handler's context: no cache there.
    expect([makeS3Client().config.cacheMiddleware, makeS3Client().config.followRegionRedirects]).toEqual([false, true]);
    const retries: number[] = [];
    countSdkRetries(s3, (n) => retries.push(n));
    const resolved = vi.spyOn(PutObjectCommand.prototype, 'resolveMiddleware');
    try {
      await s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'one.jpg', Body: 'x', ContentType: 'image/jpeg' }));
      await s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'two.png', Body: 'y', ContentType: 'image/png' }));
      expect(resolved).toHaveBeenCalledTimes(1);
    } finally {
      resolved.mockRestore();
    }
    expect(seen).toEqual(['/b/one.jpg image/jpeg', '/b/one.jpg image/jpeg', '/b/two.png image/png']);
    expect(retries).toEqual([1, 0]);
  });
});

