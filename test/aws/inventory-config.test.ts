import {
  GetBucketLocationCommand,
  GetBucketPolicyCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchBucket,
  NotFound,
  PutBucketInventoryConfigurationCommand,
  PutBucketPolicyCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { deliveryStatement, enableInventory, latestReport, mergeStatement, parseDestination } from '../../src/aws/inventory-config';

const s3Mock = mockClient(S3Client);
const stsMock = mockClient(STSClient);
const s3 = new S3Client({ region: 'eu-west-1' });
const sts = new STSClient({ region: 'eu-west-1' });
const destination = { bucket: 'photos-inventory', prefix: 'inventory' };

beforeEach(() => {
  s3Mock.reset();
  stsMock.reset();
  stsMock.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/ops' });
  s3Mock.on(GetBucketLocationCommand).resolves({ LocationConstraint: 'eu-west-1' });
});

describe('parseDestination', () => {
  it('splits s3://bucket/prefix and trims slashes; refuses anything else', () => {
    expect(parseDestination('s3://photos-inventory/inventory/')).toEqual(destination);
    expect(parseDestination('s3://photos-inventory')).toEqual({ bucket: 'photos-inventory', prefix: '' });
    expect(() => parseDestination('photos-inventory/inventory')).toThrow(/not an s3:\/\/bucket\[\/prefix\] URL/);
    expect(() => parseDestination('s3://Photos_Inventory/x')).toThrow(/not an s3:\/\/bucket/);
  });
});

describe('mergeStatement', () => {
  const statement = deliveryStatement('photos', destination, '123456789012');

  it('adds the statement to a policy without touching the others, and is idempotent', () => {
    const other = { Sid: 'Other', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: 'arn:aws:s3:::photos-inventory/*' };
    const first = mergeStatement(JSON.stringify({ Version: '2012-10-17', Statement: [other] }), statement);
    expect(first.changed).toBe(true);
    expect(JSON.parse(first.policy).Statement).toEqual([other, statement]);
    expect(mergeStatement(first.policy, statement)).toEqual({ policy: first.policy, changed: false });
  });

  it('replaces an outdated statement of the same Sid, and accepts a single-statement policy', () => {
    const outdated = { ...statement, Resource: 'arn:aws:s3:::photos-inventory/old/*' };
    const merged = mergeStatement(JSON.stringify({ Version: '2012-10-17', Statement: outdated }), statement);
    expect(JSON.parse(merged.policy).Statement).toEqual([statement]);
  });
});

describe('enableInventory', () => {
  it('grants S3 delivery on the destination, then configures a daily CSV with Size, LastModifiedDate and ETag', async () => {
    // Not modeled by the SDK: a plain S3ServiceException named by the error code.
    s3Mock.on(GetBucketPolicyCommand).rejects(new S3ServiceException({ name: 'NoSuchBucketPolicy', $fault: 'client', message: 'The bucket policy does not exist', $metadata: { httpStatusCode: 404 } }));
    const enabled = await enableInventory(s3, sts, { sourceBucket: 'photos', destination });
    expect(enabled).toMatchObject({ id: 'photo-scaler', account: '123456789012', region: 'eu-west-1', reports: 's3://photos-inventory/inventory/photos/photo-scaler/', policyChanged: true });

    const policy = JSON.parse(s3Mock.commandCalls(PutBucketPolicyCommand)[0]!.args[0].input.Policy!);
    expect(policy.Statement).toEqual([
      {
        Sid: 'PhotoScalerInventoryFromphotos',
        Effect: 'Allow',
        Principal: { Service: 's3.amazonaws.com' },
        Action: 's3:PutObject',
        Resource: 'arn:aws:s3:::photos-inventory/inventory/*',
        Condition: { ArnLike: { 'aws:SourceArn': 'arn:aws:s3:::photos' }, StringEquals: { 'aws:SourceAccount': '123456789012', 's3:x-amz-acl': 'bucket-owner-full-control' } },
      },
    ]);
    const put = s3Mock.commandCalls(PutBucketInventoryConfigurationCommand)[0]!.args[0].input;
    expect(put).toEqual({
      Bucket: 'photos',
      Id: 'photo-scaler',
      InventoryConfiguration: {
        Id: 'photo-scaler',
        IsEnabled: true,
        IncludedObjectVersions: 'Current',
        Schedule: { Frequency: 'Daily' },
        OptionalFields: ['Size', 'LastModifiedDate', 'ETag'],
        Destination: { S3BucketDestination: { Bucket: 'arn:aws:s3:::photos-inventory', Prefix: 'inventory', Format: 'CSV', AccountId: '123456789012' } },
      },
    });
  });

  it('leaves a policy that already grants delivery alone', async () => {
    const current = JSON.stringify({ Version: '2012-10-17', Statement: [deliveryStatement('photos', destination, '123456789012')] });
    s3Mock.on(GetBucketPolicyCommand).resolves({ Policy: current });
    expect((await enableInventory(s3, sts, { sourceBucket: 'photos', destination })).policyChanged).toBe(false);
    expect(s3Mock.commandCalls(PutBucketPolicyCommand)).toHaveLength(0);
    expect(s3Mock.commandCalls(PutBucketInventoryConfigurationCommand)).toHaveLength(1);
  });

  it('refuses buckets in two regions, and a missing bucket, before writing anything', async () => {
    s3Mock.on(GetBucketLocationCommand, { Bucket: 'photos' }).resolves({}).on(GetBucketLocationCommand, { Bucket: 'photos-inventory' }).resolves({ LocationConstraint: 'EU' });
    await expect(enableInventory(s3, sts, { sourceBucket: 'photos', destination })).rejects.toThrow('S3 Inventory delivers only within a region: photos is in us-east-1, photos-inventory in eu-west-1');
    s3Mock.on(GetBucketLocationCommand, { Bucket: 'photos-inventory' }).rejects(new NoSuchBucket({ message: 'The specified bucket does not exist', $metadata: { httpStatusCode: 404 } }));
    await expect(enableInventory(s3, sts, { sourceBucket: 'photos', destination })).rejects.toThrow('no such bucket: photos-inventory');
    expect(s3Mock.commandCalls(PutBucketPolicyCommand)).toHaveLength(0);
    expect(s3Mock.commandCalls(PutBucketInventoryConfigurationCommand)).toHaveLength(0);
  });

  it('leaves retrying to the client: a throttled call that outlived its attempts is sent once and named', async () => {
    s3Mock.on(GetBucketPolicyCommand).resolves({});
    s3Mock.on(PutBucketInventoryConfigurationCommand).rejects(Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown', $metadata: { httpStatusCode: 503, attempts: 5 } }));
    await expect(enableInventory(s3, sts, { sourceBucket: 'photos', destination })).rejects.toThrow('PutBucketInventoryConfiguration photos photo-scaler: SlowDown after 5 attempts: Please reduce your request rate.');
    expect(s3Mock.commandCalls(PutBucketInventoryConfigurationCommand)).toHaveLength(1);
  });
});

describe('latestReport', () => {
  const prefix = 'inventory/photos/photo-scaler/';
  const notFound = () => new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } });

  it('takes the newest delivery with manifest.checksum, across every page of the listing', async () => {
    s3Mock
      .on(ListObjectsV2Command, { Bucket: 'photos-inventory', Prefix: prefix, Delimiter: '/', ContinuationToken: undefined })
      .resolves({ CommonPrefixes: [{ Prefix: `${prefix}2026-11-22T01-00Z/` }, { Prefix: `${prefix}data/` }], IsTruncated: true, NextContinuationToken: 't2' })
      .on(ListObjectsV2Command, { ContinuationToken: 't2' })
      .resolves({ CommonPrefixes: [{ Prefix: `${prefix}2026-11-23T01-00Z/` }, { Prefix: `${prefix}2026-11-24T01-00Z/` }], IsTruncated: false });
    // The newest is still being written: no checksum yet.
    s3Mock.on(HeadObjectCommand, { Key: `${prefix}2026-11-24T01-00Z/manifest.checksum` }).rejects(notFound());
    s3Mock.on(HeadObjectCommand, { Key: `${prefix}2026-11-23T01-00Z/manifest.checksum` }).resolves({ ContentLength: 33 });
    expect(await latestReport(s3, 'photos', destination)).toEqual({ bucket: 'photos-inventory', key: `${prefix}2026-11-23T01-00Z/manifest.json`, delivered: '2026-11-23T01-00Z' });
    expect(s3Mock.commandCalls(ListObjectsV2Command)).toHaveLength(2);
  });

  it('says whether no report came yet or none is complete', async () => {
    s3Mock.on(ListObjectsV2Command).resolves({ CommonPrefixes: [] });
    await expect(latestReport(s3, 'photos', destination)).rejects.toThrow(/no inventory report under s3:\/\/photos-inventory\/inventory\/photos\/photo-scaler\/ yet: S3 delivers the first one within 48 hours/);
    s3Mock.on(ListObjectsV2Command).resolves({ CommonPrefixes: [{ Prefix: `${prefix}2026-11-24T01-00Z/` }] });
    s3Mock.on(HeadObjectCommand).rejects(notFound());
    await expect(latestReport(s3, 'photos', destination)).rejects.toThrow('1 deliveries, none with manifest.checksum yet');
  });

  it('does not take a 403 for "incomplete"', async () => {
    s3Mock.on(ListObjectsV2Command).resolves({ CommonPrefixes: [{ Prefix: `${prefix}2026-11-24T01-00Z/` }] });
    s3Mock.on(HeadObjectCommand).rejects(Object.assign(new Error('Forbidden'), { name: 'Forbidden', $metadata: { httpStatusCode: 403 } }));
    await expect(latestReport(s3, 'photos', destination, 'photo-scaler')).rejects.toThrow('Forbidden');
  });
});
