/**
 * The SourceBucketNotifications custom resource, as CloudFormation drives it: a request with a
 * pre-signed ResponseURL (here a real HTTP server on 127.0.0.1), S3 behind aws-sdk-client-mock.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetBucketNotificationConfigurationCommand, PutBucketNotificationConfigurationCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CustomResourceEvent } from '../../src/aws/custom-resource';
import { makeSourceNotificationsHandler } from '../../src/handlers/source-notifications';

const s3Mock = mockClient(S3Client);
const s3 = new S3Client({ region: 'eu-west-1' });
const SYNC = 'arn:aws:lambda:eu-west-1:123456789012:function:photo-scaler-prod-sync';
const properties = { ServiceToken: 'arn:…', BucketName: 'photos', FunctionArn: SYNC, Events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'], IdPrefix: 'photo-scaler-prod-sync' };

let server: Server;
let url: string;
const received: Array<{ method?: string; headers: IncomingHttpHeaders; body: Record<string, any> }> = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      received.push({ method: request.method, headers: request.headers, body: JSON.parse(body) });
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/response?X-Amz-Signature=abc`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  s3Mock.reset();
  received.length = 0;
  logs.length = 0;
});

const request = (RequestType: CustomResourceEvent['RequestType'], extra: Partial<CustomResourceEvent> = {}): CustomResourceEvent => ({
  RequestType,
  ResponseURL: url,
  StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/photo-scaler-prod/1',
  RequestId: 'req-1',
  ResourceType: 'Custom::SourceBucketNotifications',
  LogicalResourceId: 'SourceBucketNotifications',
  ResourceProperties: properties,
  ...extra,
}) as CustomResourceEvent;
const logs: string[] = [];
const handler = makeSourceNotificationsHandler(() => s3, { sink: (line) => logs.push(line) });
const context = { logStreamName: '2026/12/01/[$LATEST]abc', getRemainingTimeInMillis: () => 60_000 };

describe('source bucket notifications custom resource', () => {
  it('is an async handler of (event, context): Node.js 24 refuses callback handlers', () => {
    expect(handler.length).toBeLessThan(3);
  });

  it('Create: puts the notifications, then PUTs SUCCESS to the ResponseURL with an empty Content-Type', async () => {
    s3Mock.on(GetBucketNotificationConfigurationCommand).resolves({});
    await handler(request('Create'), context);
    expect(s3Mock.commandCalls(PutBucketNotificationConfigurationCommand)).toHaveLength(1);
    expect(received).toHaveLength(1);
    expect(received[0]!.method).toBe('PUT');
    expect(received[0]!.headers['content-type']).toBe('');
    expect(received[0]!.body).toEqual({
      Status: 'SUCCESS',
      PhysicalResourceId: 'photo-scaler-prod-sync@photos',
      StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/photo-scaler-prod/1',
      RequestId: 'req-1',
      LogicalResourceId: 'SourceBucketNotifications',
      Data: { BucketName: 'photos' },
    });
  });

  it('answers FAILED with the reason (never leaves CloudFormation waiting): a conflict, an S3 error, bad properties', async () => {
    s3Mock.on(GetBucketNotificationConfigurationCommand).resolves({ QueueConfigurations: [{ Id: 'audit', QueueArn: 'arn:aws:sqs:eu-west-1:1:q', Events: ['s3:ObjectCreated:*'] }] });
    await handler(request('Create'), context);
    s3Mock.on(GetBucketNotificationConfigurationCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
    await handler(request('Update', { PhysicalResourceId: 'photo-scaler-prod-sync@photos' }), context);
    await handler(request('Create', { ResourceProperties: { ...properties, Events: 'everything' } }), context);
    expect(received.map((r) => [r.body.Status, r.body.PhysicalResourceId])).toEqual([
      ['FAILED', 'SourceBucketNotifications-req-1'],
      ['FAILED', 'photo-scaler-prod-sync@photos'],
      ['FAILED', 'SourceBucketNotifications-req-1'],
    ]);
    expect(received[0]!.body.Reason).toMatch(/NotificationConflict: s3:\/\/photos already sends .*SQS configuration "audit".*\(CloudWatch log stream 2026\/12\/01\/\[\$LATEST\]abc\)/);
    expect(received[1]!.body.Reason).toMatch(/^AccessDenied: Access Denied/);
    expect(received[2]!.body.Reason).toMatch(/property Events must be a non-empty list/);
    // The function's own log keeps the reason too.
    expect(logs.filter((line) => JSON.parse(line).level === 'ERROR').map((line) => JSON.parse(line).reason)).toEqual(received.map((r) => r.body.Reason));
    expect(s3Mock.commandCalls(PutBucketNotificationConfigurationCommand)).toEqual([]);
  });

  it('answers FAILED before the function times out when S3 does not answer', async () => {
    s3Mock.on(GetBucketNotificationConfigurationCommand).callsFake(() => new Promise(() => {}));
    const response = await handler(request('Create'), { getRemainingTimeInMillis: () => 6_000 });
    expect(response.Status).toBe('FAILED');
    expect(received[0]!.body.Reason).toMatch(/not finished within 1 s/);
  });

  it('Update to another bucket: a new physical id (CloudFormation then deletes the old one); Delete takes ours off', async () => {
    s3Mock.on(GetBucketNotificationConfigurationCommand).resolves({});
    await handler(request('Update', { PhysicalResourceId: 'photo-scaler-prod-sync@old-photos', ResourceProperties: { ...properties, BucketName: 'new-photos' }, OldResourceProperties: { ...properties, BucketName: 'old-photos' } }), context);
    expect(received[0]!.body).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'photo-scaler-prod-sync@new-photos' });
    expect(s3Mock.commandCalls(PutBucketNotificationConfigurationCommand)[0]!.args[0].input.Bucket).toBe('new-photos');

    s3Mock.reset();
    s3Mock.on(GetBucketNotificationConfigurationCommand).resolves({ LambdaFunctionConfigurations: [{ Id: 'photo-scaler-prod-sync-ObjectCreated', LambdaFunctionArn: SYNC, Events: ['s3:ObjectCreated:*'] }] });
    await handler(request('Delete', { PhysicalResourceId: 'photo-scaler-prod-sync@old-photos', ResourceProperties: { ...properties, BucketName: 'old-photos' } }), context);
    expect(received[1]!.body).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'photo-scaler-prod-sync@old-photos' });
    expect(s3Mock.commandCalls(PutBucketNotificationConfigurationCommand).map((c) => c.args[0].input)).toEqual([{ Bucket: 'old-photos', NotificationConfiguration: {} }]);
  });

  it('Delete after a Create refused for its properties succeeds: nothing was put (the rollback completes)', async () => {
    await handler(request('Delete', { PhysicalResourceId: 'SourceBucketNotifications-req-1', ResourceProperties: { ...properties, Events: 'everything' } }), context);
    expect(received[0]!.body.Status).toBe('SUCCESS');
    expect(s3Mock.commandCalls(GetBucketNotificationConfigurationCommand)).toEqual([]);
  });
});
