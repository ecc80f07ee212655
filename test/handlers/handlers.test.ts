/**
 * The Lambda handlers as deployed (module-level `handler`, context from the environment), against
 * mocked AWS clients: what each one sends to S3 and DynamoDB for one photo.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, NotFound, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BatchWriteCommand, DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import sharp from 'sharp';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { noiseJpeg } from '../helpers/images';

const s3 = mockClient(S3Client);
const doc = mockClient(DynamoDBDocumentClient);
let photo: Buffer;
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const event = { item: { bucket: 'originals', key: 'trips/a+b%2Bc.jpg', size: '1000', etag: 'etag-1' }, runId: 'exec-1' };

beforeAll(async () => {
  process.env.LIBRARY_BUCKET = 'library-bucket';
  process.env.CATALOG_TABLE = 'catalog-table';
  process.env.SOURCE_BUCKET = 'originals';
  process.env.WEBSITE_URL = 'http://library-bucket.s3-website-us-east-1.amazonaws.com';
  photo = await noiseJpeg(800, 600, 21);
});

beforeEach(() => {
  s3.reset();
  doc.reset();
  s3.on(GetObjectCommand, { Bucket: 'originals', Key: 'trips/a b+c.jpg' }).callsFake(() => ({ Body: sdkBody(photo), ContentLength: photo.length, ETag: '"etag-1"' }));
  s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'missing', $metadata: { httpStatusCode: 404 } }));
  s3.on(PutObjectCommand).resolves({});
  doc.on(QueryCommand).resolves({ Items: [] });
  doc.on(PutCommand).resolves({});
  doc.on(DeleteCommand).resolves({});
  doc.on(BatchWriteCommand).resolves({});
  doc.on(GetCommand).resolves({});
});

/** A GetObject body as the SDK gives one in Node.js: a stream of chunks that can also be read whole. */
function sdkBody(bytes: Uint8Array): never {
  const chunks = [bytes.subarray(0, 1000), bytes.subarray(1000)];
  const stream = Readable.from(chunks.map((chunk) => Buffer.from(chunk)));
  return Object.assign(stream, { transformToByteArray: async () => new Uint8Array(bytes) }) as never;
}

/** What a call printed to stdout, one parsed JSON object per line (Powertools' logs and EMF metrics). */
async function stdoutOf(call: () => Promise<void>): Promise<Array<Record<string, any>>> {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    await call();
  } finally {
    process.stdout.write = write;
  }
  return chunks.join('').split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
}

describe('dedupe handler', () => {
  it('decodes the inventory key, reads and hashes the original, claims the new content', async () => {
    const { handler } = await import('../../src/handlers/dedupe');
    const lines = await stdoutOf(async () => {
      const outcome = await handler(event);
      expect(outcome).toEqual({
        key: 'trips/a b+c.jpg',
        status: 'needs-resize',
        sha256: sha(photo),
        written: { assets: 0, pointers: 0, catalogRows: 0 },
        bytesIn: photo.byteLength,
        // The key had no catalog row: its Resize reads none before writing (src/core/resize.ts).
        recordedRows: 0,
        timings: { dedupe: expect.any(Number) },
      });
    });
    // On Lambda, Powertools writes one JSON log line and one EMF metrics line to stdout.
    const log = lines.find((line) => line.message === 'dedupe: needs-resize')!;
    expect(log).toMatchObject({ level: 'INFO', service: 'photo-scaler', step: 'dedupe', key: 'trips/a b+c.jpg', execution: 'exec-1', sourceEtag: 'etag-1', bytesIn: photo.byteLength });
    const emf = lines.find((line) => line._aws)!;
    expect(emf).toMatchObject({ _aws: { CloudWatchMetrics: [{ Namespace: 'photo-scaler', Dimensions: [['service', 'step']] }] }, step: 'dedupe', BytesIn: photo.byteLength });
    expect(s3.commandCalls(GetObjectCommand)[0]!.args[0].input).toEqual({ Bucket: 'originals', Key: 'trips/a b+c.jpg' });
    expect(doc.commandCalls(QueryCommand).map((c) => c.args[0].input.TableName)).toEqual(['catalog-table', 'catalog-table']);
    expect(doc.commandCalls(PutCommand)[0]!.args[0].input.Item).toMatchObject({ sourceKey: `#claim/${sha(photo)}`, owner: 'trips/a b+c.jpg' });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });
});

describe('resize handler', () => {
  it('puts 5 assets and 5 pointers, then all catalog rows in one BatchWriteItem', async () => {
    const { handler } = await import('../../src/handlers/resize');
    const outcome = await handler({ ...event, outcome: { key: 'trips/a b+c.jpg', status: 'needs-resize', sha256: sha(photo), written: { assets: 0, pointers: 0, catalogRows: 0 } } });
    expect(outcome).toMatchObject({ status: 'resized', written: { assets: 5, pointers: 5, catalogRows: 5 } });

    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    const assets = puts.filter((p) => p.Key!.startsWith('assets/'));
    const pointers = puts.filter((p) => !p.Key!.startsWith('assets/'));
    expect(assets).toHaveLength(5);
    for (const asset of assets) {
      const body = asset.Body as Uint8Array;
      expect(asset.Key).toBe(`assets/${sha(body).slice(0, 2)}/${sha(body).slice(2, 4)}/${sha(body).slice(4, 6)}/${sha(body)}.jpg`);
      expect(asset).toMatchObject({ Bucket: 'library-bucket', ContentType: 'image/jpeg', CacheControl: 'public, max-age=31536000, immutable' });
      expect((await sharp(body).metadata()).format).toBe('jpeg');
    }
    expect(pointers.map((p) => p.Key).sort()).toEqual(['large/trips/a b+c.jpg', 'medium/trips/a b+c.jpg', 'small/trips/a b+c.jpg', 'thumb/trips/a b+c.jpg', 'trips/a b+c.jpg']);
    for (const pointer of pointers) {
      expect(pointer.ContentLength).toBe(0);
      expect(assets.map((a) => `/${a.Key}`)).toContain(pointer.WebsiteRedirectLocation);
    }
    expect(pointers.find((p) => p.Key === 'trips/a b+c.jpg')!.WebsiteRedirectLocation).toBe(`/assets/${sha(photo).slice(0, 2)}/${sha(photo).slice(2, 4)}/${sha(photo).slice(4, 6)}/${sha(photo)}.jpg`);

    expect(doc.commandCalls(BatchWriteCommand)).toHaveLength(1);
    const rows = doc.commandCalls(BatchWriteCommand)[0]!.args[0].input.RequestItems!['catalog-table']!.filter((r) => r.PutRequest).map((r) => r.PutRequest!.Item!);
    expect(rows.map((r) => r.preset).sort()).toEqual(['large', 'medium', 'original', 'small', 'thumb']);
    expect(rows.find((r) => r.preset === 'small')).toMatchObject({ width: 300, height: 200, sourceEtag: 'etag-1', runId: 'exec-1', sourceSha256: sha(photo) });
    // The claim is released in the same batch: one DynamoDB write request for the whole photo.
    expect(doc.commandCalls(BatchWriteCommand)[0]!.args[0].input.RequestItems!['catalog-table']!.filter((r) => r.DeleteRequest).map((r) => r.DeleteRequest!.Key)).toEqual([
      { sourceKey: 'trips/a b+c.jpg', preset: '#failure' },
      { sourceKey: `#claim/${sha(photo)}`, preset: '#claim' },
    ]);
    expect(doc.commandCalls(DeleteCommand)).toHaveLength(0);
  });
});

describe('recordFailure handler', () => {
  it('stores a failure row with the Lambda error message from the Catch, and the reason its mark carries', async () => {
    const { handler } = await import('../../src/handlers/record-failure');
    const cause = JSON.stringify({ errorType: 'PhotoError', errorMessage: '[corrupt] cannot decode: bad', trace: [] });
    const outcome = await handler({ ...event, error: { Error: 'PhotoError', Cause: cause } });
    expect(outcome).toMatchObject({ key: 'trips/a b+c.jpg', status: 'failed', error: 'cannot decode: bad', reason: 'corrupt' });
    expect(doc.commandCalls(PutCommand)[0]!.args[0].input).toMatchObject({
      TableName: 'catalog-table',
      Item: { sourceKey: 'trips/a b+c.jpg', preset: '#failure', errorType: 'PhotoError', error: 'cannot decode: bad', reason: 'corrupt', runId: 'exec-1', sourceEtag: 'etag-1' },
    });
  });
});

describe('onDemand handler (HTTP API payload v2)', () => {
  it('renders an allowed size from the source bucket and answers 301 to the website, never with image bytes', async () => {
    s3.on(HeadObjectCommand, { Bucket: 'originals', Key: 'trips/a b+c.jpg' }).resolves({ ContentLength: photo.length, ETag: '"etag-1"' });
    const { handler } = await import('../../src/handlers/on-demand');
    const response = await handler({ rawPath: '/dynamic/300x200/trips/a%20b%2Bc.jpg', queryStringParameters: {} });
    expect(response).toEqual({
      statusCode: 301,
      headers: { Location: 'http://library-bucket.s3-website-us-east-1.amazonaws.com/dynamic/300x200/trips/a%20b+c.jpg', 'Cache-Control': 'no-store' },
      body: '',
    });
    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => p.Key)).toEqual([expect.stringMatching(/^assets\//), 'dynamic/300x200/trips/a b+c.jpg']);
    expect((await sharp(puts[0]!.Body as Uint8Array).metadata()).width).toBe(300);
    // Its one row as a PutItem (src/aws/dynamo-catalog.ts writeAll).
    expect(doc.commandCalls(BatchWriteCommand)).toHaveLength(0);
    expect(doc.commandCalls(PutCommand)[0]!.args[0].input.Item).toMatchObject({
      sourceKey: 'trips/a b+c.jpg',
      preset: 'dynamic/300x200',
      width: 300,
      height: 200,
    });
  });

  it('answers 400 with a JSON reason for a size that is not allowed, before reading anything', async () => {
    const { handler } = await import('../../src/handlers/on-demand');
    const response = await handler({ rawPath: '/dynamic/4000x4000/trips/a.jpg' });
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body).error).toMatch(/not allowed/);
    expect(s3.calls()).toHaveLength(0);
  });

  it('answers 400, not a 500, to a size whose percent-escapes are malformed (one URL-path decoding rule)', async () => {
    const { handler } = await import('../../src/handlers/on-demand');
    const response = await handler({ rawPath: '/dynamic/300x%E0%A4%A/trips/a.jpg' });
    expect(response.statusCode).toBe(400);
    expect(s3.calls()).toHaveLength(0);
  });
});

describe('onDemand handler with its signing secret in SSM Parameter Store', () => {
  const SECRET = 'a-signing-secret-of-at-least-32-bytes-0123456789';
  const PARAMETER = '/photo-scaler/test/signing-secret';

  async function handlerWithSecret() {
    const { SSMClient } = await import('@aws-sdk/client-ssm');
    const { makeOnDemandHandler } = await import('../../src/handlers/on-demand');
    const { contextFromEnv } = await import('../../src/handlers/context');
    const { ssmSigningSecret } = await import('../../src/aws/signing-secret');
    const lines: string[] = [];
    const signingSecret = ssmSigningSecret(PARAMETER, new SSMClient({ region: 'us-east-1' }));
    const context = { ...contextFromEnv(), sourceBucket: 'originals' };
    const handler = makeOnDemandHandler(() => ({ context, websiteUrl: process.env.WEBSITE_URL!, signingSecret }), { sink: (line) => lines.push(line) });
    return { handler, lines };
  }

  it('reads the SecureString decrypted, once per container: an unsigned request 403, a signed one 301', async () => {
    const { SSMClient, GetParameterCommand } = await import('@aws-sdk/client-ssm');
    const { signRequest } = await import('../../src/core/on-demand');
    const ssm = mockClient(SSMClient);
    ssm.on(GetParameterCommand).resolves({ Parameter: { Name: PARAMETER, Type: 'SecureString', Value: SECRET } });
    s3.on(HeadObjectCommand, { Bucket: 'originals', Key: 'trips/a b+c.jpg' }).resolves({ ContentLength: photo.length, ETag: '"etag-1"' });
    try {
      const { handler, lines } = await handlerWithSecret();
      expect((await handler({ rawPath: '/dynamic/300x200/trips/a%20b%2Bc.jpg' })).statusCode).toBe(403);
      const sig = signRequest(SECRET, '300x200', 'trips/a b+c.jpg');
      expect((await handler({ rawPath: '/dynamic/300x200/trips/a%20b%2Bc.jpg', queryStringParameters: { sig } })).statusCode).toBe(301);
      expect(ssm.commandCalls(GetParameterCommand).map((c) => c.args[0].input)).toEqual([{ Name: PARAMETER, WithDecryption: true }]);
      expect(lines.join('\n')).not.toContain(SECRET);
    } finally {
      ssm.restore();
    }
  });

  it('fails closed: a secret that cannot be read, or is too short, answers 503 and makes nothing; the log names the cause, never a value', async () => {
    const { SSMClient, GetParameterCommand } = await import('@aws-sdk/client-ssm');
    const ssm = mockClient(SSMClient);
    try {
      ssm.on(GetParameterCommand).rejects(Object.assign(new Error('User is not authorized to perform ssm:GetParameter'), { name: 'AccessDeniedException' }));
      const denied = await handlerWithSecret();
      const response = await denied.handler({ rawPath: '/dynamic/300x200/trips/a.jpg' });
      expect(response.statusCode).toBe(503);
      expect(JSON.parse(response.body).error).toMatch(/signing secret cannot be read/);
      expect(denied.lines.map((line) => JSON.parse(line)).find((l) => l.level === 'ERROR')?.reason).toMatch(/signing secret \/photo-scaler\/test\/signing-secret cannot be read: AccessDeniedException/);

      ssm.reset();
      ssm.on(GetParameterCommand).resolves({ Parameter: { Name: PARAMETER, Type: 'SecureString', Value: 'short-secret' } });
      const short = await handlerWithSecret();
      expect((await short.handler({ rawPath: '/dynamic/300x200/trips/a.jpg' })).statusCode).toBe(503);
      expect(short.lines.join('\n')).toMatch(/must hold at least 32 bytes/);
      expect(short.lines.join('\n')).not.toContain('short-secret');
      expect(s3.calls()).toHaveLength(0);
    } finally {
      ssm.restore();
    }
  });
});

describe('sync handler', () => {
  it('reconciles every key of the event, then throws the retryable error so Lambda retries the event', async () => {
    s3.on(HeadObjectCommand, { Bucket: 'originals', Key: 'busy/a.jpg' }).rejects(Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } }));
    const { handler } = await import('../../src/handlers/sync');
    const record = (eventName: string, key: string) => ({ eventName, s3: { bucket: { name: 'originals' }, object: { key } } });
    await expect(handler({ Records: [record('ObjectCreated:Put', 'busy/a.jpg'), record('ObjectRemoved:Delete', 'gone/b+c.jpg')] })).rejects.toThrow(/SlowDown/);
    // The second key was still handled: HEAD (404), then its rows looked up to be removed.
    expect(s3.commandCalls(HeadObjectCommand).map((c) => c.args[0].input.Key)).toEqual(['busy/a.jpg', 'gone/b c.jpg']);
    expect(doc.commandCalls(QueryCommand)[0]!.args[0].input.ExpressionAttributeValues).toMatchObject({ ':pk': 'gone/b c.jpg' });
  });

  it('a deleted photo: its URLs are invalidated on the distribution it is given; a refusal is logged and the event still succeeds', async () => {
    const { CloudFrontClient, CreateInvalidationCommand } = await import('@aws-sdk/client-cloudfront');
    const cloudfront = mockClient(CloudFrontClient);
    try {
      const rows = ['original', 'small', 'dynamic/300x200'].map((preset) => ({
        sourceKey: 'gone/b c.jpg',
        preset,
        logicalKey: preset === 'original' ? 'gone/b c.jpg' : `${preset}/gone/b c.jpg`,
        assetKey: `assets/aa/bb/cc/${'a'.repeat(63)}${preset.length}.jpg`,
        sha256: `${'a'.repeat(63)}${preset.length}`,
      }));
      doc.on(QueryCommand).resolves({ Items: rows });
      const { makeSyncHandler } = await import('../../src/handlers/sync');
      const { contextFromEnv } = await import('../../src/handlers/context');
      const context = contextFromEnv({ ...process.env, CDN_DISTRIBUTION_ID: 'E2EXAMPLE' });
      const record = { eventName: 'ObjectRemoved:Delete', s3: { bucket: { name: 'originals' }, object: { key: 'gone/b+c.jpg' } } };

      cloudfront.on(CreateInvalidationCommand).resolves({});
      const [removed] = await makeSyncHandler(() => context)({ Records: [record] });
      // Its three logical URLs, and its three assets, which no other key uses (the index says so).
      expect(removed).toMatchObject({ status: 'removed', invalidated: 6, deleted: { assets: 3 } });
      expect(cloudfront.commandCalls(CreateInvalidationCommand)[0]!.args[0].input).toMatchObject({
        DistributionId: 'E2EXAMPLE',
        InvalidationBatch: { Paths: { Quantity: 6, Items: [...rows.map((row) => `/${row.assetKey}`).sort(), '/dynamic/300x200/gone/b%20c.jpg', '/gone/b%20c.jpg', '/small/gone/b%20c.jpg'] } },
      });

      cloudfront.reset();
      cloudfront.on(CreateInvalidationCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }));
      // Powertools writes WARN lines to stderr.
      const warnings: string[] = [];
      const write = process.stderr.write.bind(process.stderr);
      process.stderr.write = ((chunk: string | Uint8Array) => warnings.push(String(chunk)) > 0) as typeof process.stderr.write;
      try {
        const [again] = await makeSyncHandler(() => context)({ Records: [record] });
        expect(again).toMatchObject({ status: 'removed', invalidationError: 'AccessDenied: Access Denied' });
      } finally {
        process.stderr.write = write;
      }
      const warning = warnings.join('').split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line)).find((line) => line.level === 'WARN');
      expect(warning).toMatchObject({ message: expect.stringMatching(/the CDN could not be told/), invalidationError: 'AccessDenied: Access Denied' });
    } finally {
      cloudfront.restore();
    }
  });
});

describe('start-run handler', () => {
  it('starts the state machine on a complete report under the name of the report', async () => {
    const { buildInventoryReport } = await import('../../src/local/inventory-writer');
    const { SFNClient, StartExecutionCommand } = await import('@aws-sdk/client-sfn');
    const sfn = mockClient(SFNClient);
    process.env.STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:photo-scaler-migrate-dev';
    const report = buildInventoryReport({ sourceBucket: 'originals', destinationBucket: 'reports', prefix: 'inventory', objects: [{ key: 'a.jpg', size: 1, etag: 'e', lastModified: new Date() }], now: new Date('2026-11-24T01:00:00Z') });
    for (const file of report.files) {
      s3.on(GetObjectCommand, { Bucket: 'reports', Key: file.key }).resolves({ Body: sdkBody(file.body), ContentLength: file.body.byteLength, ETag: '"x"' });
      s3.on(HeadObjectCommand, { Bucket: 'reports', Key: file.key }).resolves({ ContentLength: file.body.byteLength, ETag: '"x"' });
    }
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:aws:states:us-east-1:123456789012:execution:photo-scaler-migrate-dev:x' });
    const { handler } = await import('../../src/handlers/start-run');
    const outcomes = await handler({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'reports' }, object: { key: report.checksumKey } } }] });
    expect(outcomes).toEqual([expect.objectContaining({ alreadyStarted: false, name: expect.stringMatching(/^inventory-2026-11-24T01-00Z-/) })]);
    const start = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(start.stateMachineArn).toBe(process.env.STATE_MACHINE_ARN);
    expect(JSON.parse(start.input!)).toEqual({ manifest: { bucket: 'reports', key: report.manifestKey } });
    sfn.restore();
  });
});

describe('configuration', () => {
  it('a Lambda without its environment refuses to start with a clear error', async () => {
    const { contextFromEnv } = await import('../../src/handlers/context');
    expect(() => contextFromEnv({ CATALOG_TABLE: 'x' })).toThrow(/LIBRARY_BUCKET is not set/);
  });
});
