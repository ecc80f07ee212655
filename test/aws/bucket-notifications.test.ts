import { GetBucketNotificationConfigurationCommand, type LambdaFunctionConfiguration, NoSuchBucket, PutBucketNotificationConfigurationCommand, type QueueConfiguration, S3Client, type TopicConfiguration } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { eventsOverlap, mergedConfiguration, putSourceNotifications, removeSourceNotifications, type SourceNotifications } from '../../src/aws/bucket-notifications';

const s3Mock = mockClient(S3Client);
const s3 = new S3Client({ region: 'eu-west-1' });
const SYNC = 'arn:aws:lambda:eu-west-1:123456789012:function:photo-scaler-prod-sync';
const wanted: SourceNotifications = { bucket: 'photos', functionArn: SYNC, events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'], idPrefix: 'photo-scaler-prod-sync' };
const ours: LambdaFunctionConfiguration[] = [
  { Id: 'photo-scaler-prod-sync-ObjectCreated', LambdaFunctionArn: SYNC, Events: ['s3:ObjectCreated:*'] },
  { Id: 'photo-scaler-prod-sync-ObjectRemoved', LambdaFunctionArn: SYNC, Events: ['s3:ObjectRemoved:*'] },
];
const thumbnailer: LambdaFunctionConfiguration = { Id: 'thumbnailer', LambdaFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:other', Events: ['s3:ObjectRestore:Completed'] };
const queue: QueueConfiguration = { Id: 'audit', QueueArn: 'arn:aws:sqs:eu-west-1:123456789012:audit', Events: ['s3:ObjectTagging:*'] };

const putRequests = () => s3Mock.commandCalls(PutBucketNotificationConfigurationCommand).map((call) => call.args[0].input);

beforeEach(() => s3Mock.reset());

describe('eventsOverlap', () => {
  it('overlaps within one event family only', () => {
    expect(eventsOverlap('s3:ObjectCreated:*', 's3:ObjectCreated:Put')).toBe(true);
    expect(eventsOverlap('s3:ObjectCreated:Copy', 's3:ObjectCreated:Put')).toBe(false);
    expect(eventsOverlap('s3:ObjectCreated:*', 's3:ObjectRemoved:*')).toBe(false);
  });
});

describe('putSourceNotifications', () => {
  it('adds ours and puts back every other configuration of the bucket (PutBucketNotificationConfiguration replaces the whole)', async () => {
    s3Mock.on(GetBucketNotificationConfigurationCommand).resolves({ LambdaFunctionConfigurations: [thumbnailer], QueueConfigurations: [queue], EventBridgeConfiguration: {} });
    expect(await putSourceNotifications(s3, wanted)).toEqual({ changed: true });
    expect(putRequests()).toEqual([
      { Bucket: 'photos', NotificationConfiguration: { QueueConfigurations: [queue], LambdaFunctionConfigurations: [thumbnailer, ...ours], EventBridgeConfiguration: {} } },
    ]);
  });

  it('writes nothing when ours are already there, and replaces those an older deploy left (same function, other ids)', async () => {
    s3Mock.on(GetBucketNotificationConfigurationCommand).resolves({ LambdaFunctionConfigurations: [thumbnailer, ...ours] });
    expect(await putSourceNotifications(s3, wanted)).toEqual({ changed: false });
    expect(putRequests()).toEqual([]);

    s3Mock.reset();
    const serverlessMade: LambdaFunctionConfiguration = { Id: 'photo-scaler-prod-sync-1b2c3d', LambdaFunctionArn: SYNC, Events: ['s3:ObjectCreated:*'] };
    const olderName: LambdaFunctionConfiguration = { Id: 'photo-scaler-prod-sync-0a1b2c3d4e', LambdaFunctionArn: SYNC, Events: ['s3:ObjectRemoved:*'] };
    s3Mock.on(GetBucketNotificationConfigurationCommand).resolves({ LambdaFunctionConfigurations: [serverlessMade, olderName] });
    expect(await putSourceNotifications(s3, wanted)).toEqual({ changed: true });
    expect(putRequests()[0]!.NotificationConfiguration).toEqual({ LambdaFunctionConfigurations: ours });
  });

  it('refuses, naming them, configurations S3 would call overlapping, and puts nothing', async () => {
    const uploads: TopicConfiguration = { Id: 'uploads', TopicArn: 'arn:aws:sns:eu-west-1:123456789012:uploads', Events: ['s3:ObjectCreated:Put'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'in/' }] } } };
    s3Mock.on(GetBucketNotificationConfigurationCommand).resolves({ TopicConfigurations: [uploads] });
    await expect(putSourceNotifications(s3, wanted)).rejects.toThrow(/s3:\/\/photos already sends .*SNS configuration "uploads" on s3:ObjectCreated:Put/);
    expect(putRequests()).toEqual([]);
  });

  it('leaves another stage\'s configurations alone', async () => {
    const staging: LambdaFunctionConfiguration = { Id: 'photo-scaler-prod2-sync-ObjectCreated', LambdaFunctionArn: `${SYNC}2`, Events: ['s3:ObjectTagging:*'] };
    s3Mock.on(GetBucketNotificationConfigurationCommand).resolves({ LambdaFunctionConfigurations: [staging] });
    await putSourceNotifications(s3, wanted);
    expect(putRequests()[0]!.NotificationConfiguration!.LambdaFunctionConfigurations).toEqual([staging, ...ours]);
  });
});

describe('removeSourceNotifications', () => {
  it('takes ours off and keeps the rest; nothing to do when ours are gone or the bucket is', async () => {
    s3Mock.on(GetBucketNotificationConfigurationCommand).resolves({ LambdaFunctionConfigurations: [thumbnailer, ...ours], QueueConfigurations: [queue] });
    expect(await removeSourceNotifications(s3, wanted)).toEqual({ changed: true });
    expect(putRequests()).toEqual([{ Bucket: 'photos', NotificationConfiguration: { QueueConfigurations: [queue], LambdaFunctionConfigurations: [thumbnailer] } }]);

    s3Mock.reset();
    s3Mock.on(GetBucketNotificationConfigurationCommand).resolves({ LambdaFunctionConfigurations: [thumbnailer] });
    expect(await removeSourceNotifications(s3, wanted)).toEqual({ changed: false });
    s3Mock.reset();
    s3Mock.on(GetBucketNotificationConfigurationCommand).rejects(new NoSuchBucket({ message: 'The specified bucket does not exist', $metadata: { httpStatusCode: 404 } }));
    expect(await removeSourceNotifications(s3, wanted)).toEqual({ changed: false });
    expect(putRequests()).toEqual([]);
  });

  it('puts an empty configuration when ours were the only ones', () => {
    expect(mergedConfiguration({ LambdaFunctionConfigurations: ours }, wanted)).toEqual({});
  });
});
