/**
 * S3 Inventory for a source bucket: `photo-scaler inventory enable` turns on a daily CSV report with
 * the columns statemachines/migrate.asl.yaml reads (Size, LastModifiedDate, ETag; Bucket and Key come
 * always), and grants S3 the right to deliver it to the destination bucket; `inventory latest` finds
 * the newest complete report. S3 writes a report as
 *   <prefix>/<source bucket>/<id>/<YYYY-MM-DDTHH-MMZ>/manifest.json, then manifest.checksum (last)
 *   <prefix>/<source bucket>/<id>/data/<uuid>.csv.gz
 */
import {
  GetBucketPolicyCommand,
  HeadObjectCommand,
  type InventoryConfiguration,
  NotFound,
  PutBucketInventoryConfigurationCommand,
  PutBucketPolicyCommand,
  type S3Client,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { ConfigError } from '../core/errors';
import type { ManifestRef } from '../core/inventory/manifest';
import { bucketRegion } from './region';
import { isUnmodeledS3Error } from './sdk-errors';
import { withContext } from './transient';

export const DEFAULT_INVENTORY_ID = 'photo-scaler';
/** Optional fields of the report; with them S3 writes the fileSchema `Bucket, Key, Size, LastModifiedDate, ETag`. */
export const INVENTORY_FIELDS = ['Size', 'LastModifiedDate', 'ETag'] as const;

export interface Destination {
  bucket: string;
  /** Without leading or trailing '/'; may be empty. */
  prefix: string;
}

/** `s3://bucket[/prefix]` → bucket and prefix (slashes trimmed). */
export function parseDestination(url: string): Destination {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!match) throw new ConfigError(`not an s3://bucket[/prefix] URL: ${url}`);
  return { bucket: match[1]!, prefix: (match[2] ?? '').replace(/^\/+|\/+$/g, '') };
}

/** Where S3 writes the reports of one inventory configuration. */
export function reportsPrefix(destination: Destination, sourceBucket: string, id: string): string {
  return `${destination.prefix ? `${destination.prefix}/` : ''}${sourceBucket}/${id}/`;
}

export function inventoryConfiguration(id: string, destination: Destination, account: string, partition = 'aws'): InventoryConfiguration {
  return {
    Id: id,
    IsEnabled: true,
    IncludedObjectVersions: 'Current',
    Schedule: { Frequency: 'Daily' },
    OptionalFields: [...INVENTORY_FIELDS],
    Destination: {
      S3BucketDestination: {
        Bucket: `arn:${partition}:s3:::${destination.bucket}`,
        ...(destination.prefix ? { Prefix: destination.prefix } : {}),
        Format: 'CSV',
        AccountId: account,
      },
    },
  };
}

interface PolicyStatement {
  Sid?: string;
  [field: string]: unknown;
}

interface PolicyDocument {
  Version?: string;
  Statement?: PolicyStatement[] | PolicyStatement;
  [field: string]: unknown;
}

/** The destination bucket policy statement S3 Inventory needs to deliver `sourceBucket`'s reports. */
export function deliveryStatement(sourceBucket: string, destination: Destination, account: string, partition = 'aws'): PolicyStatement {
  return {
    Sid: `PhotoScalerInventoryFrom${sourceBucket.replace(/[^A-Za-z0-9]/g, '')}`,
    Effect: 'Allow',
    Principal: { Service: 's3.amazonaws.com' },
    Action: 's3:PutObject',
    Resource: `arn:${partition}:s3:::${destination.bucket}/${destination.prefix ? `${destination.prefix}/` : ''}*`,
    Condition: {
      ArnLike: { 'aws:SourceArn': `arn:${partition}:s3:::${sourceBucket}` },
      StringEquals: { 'aws:SourceAccount': account, 's3:x-amz-acl': 'bucket-owner-full-control' },
    },
  };
}

/** The policy with `statement` in it (replacing one of the same Sid); unchanged when it is there already. */
export function mergeStatement(policyJson: string | undefined, statement: PolicyStatement): { policy: string; changed: boolean } {
  const policy: PolicyDocument = policyJson ? (JSON.parse(policyJson) as PolicyDocument) : { Version: '2012-10-17', Statement: [] };
  const statements = Array.isArray(policy.Statement) ? policy.Statement : policy.Statement ? [policy.Statement] : [];
  const existing = statements.find((candidate) => candidate.Sid === statement.Sid);
  if (existing && JSON.stringify(existing) === JSON.stringify(statement)) return { policy: JSON.stringify(policy), changed: false };
  const merged = { ...policy, Version: policy.Version ?? '2012-10-17', Statement: [...statements.filter((candidate) => candidate.Sid !== statement.Sid), statement] };
  return { policy: JSON.stringify(merged), changed: true };
}

export interface EnableInventoryInput {
  sourceBucket: string;
  destination: Destination;
  id?: string;
}

export interface EnabledInventory {
  id: string;
  account: string;
  region: string;
  sourceBucket: string;
  destination: Destination;
  /** Where the reports will appear. */
  reports: string;
  policyStatement: string;
  policyChanged: boolean;
}

/** Grants delivery on the destination bucket, then puts the inventory configuration on the source bucket. */
export async function enableInventory(s3: S3Client, sts: STSClient, input: EnableInventoryInput): Promise<EnabledInventory> {
  const id = input.id ?? DEFAULT_INVENTORY_ID;
  const { sourceBucket, destination } = input;
  const identity = await withContext('GetCallerIdentity', () => sts.send(new GetCallerIdentityCommand({})));
  const account = identity.Account!;
  const partition = identity.Arn?.split(':')[1] ?? 'aws';
  const [sourceRegion, destinationRegion] = await Promise.all([bucketRegion(s3, sourceBucket), bucketRegion(s3, destination.bucket)]);
  if (sourceRegion !== destinationRegion) {
    throw new ConfigError(`S3 Inventory delivers only within a region: ${sourceBucket} is in ${sourceRegion}, ${destination.bucket} in ${destinationRegion}`);
  }

  const statement = deliveryStatement(sourceBucket, destination, account, partition);
  const current = await currentPolicy(s3, destination.bucket);
  const { policy, changed } = mergeStatement(current, statement);
  if (changed) await withContext(`PutBucketPolicy ${destination.bucket}`, () => s3.send(new PutBucketPolicyCommand({ Bucket: destination.bucket, Policy: policy })));

  const configuration = inventoryConfiguration(id, destination, account, partition);
  await withContext(
    `PutBucketInventoryConfiguration ${sourceBucket} ${id}`,
    () => s3.send(new PutBucketInventoryConfigurationCommand({ Bucket: sourceBucket, Id: id, InventoryConfiguration: configuration })),
  );
  return {
    id,
    account,
    region: sourceRegion,
    sourceBucket,
    destination,
    reports: `s3://${destination.bucket}/${reportsPrefix(destination, sourceBucket, id)}`,
    policyStatement: statement.Sid!,
    policyChanged: changed,
  };
}

async function currentPolicy(s3: S3Client, bucket: string): Promise<string | undefined> {
  try {
    return (await withContext(`GetBucketPolicy ${bucket}`, () => s3.send(new GetBucketPolicyCommand({ Bucket: bucket })))).Policy;
  } catch (error) {
    if (isUnmodeledS3Error(error, 'NoSuchBucketPolicy')) return undefined;
    throw error;
  }
}

export interface LatestReport extends ManifestRef {
  /** The delivery folder's time, e.g. 2026-11-24T01-00Z. */
  delivered: string;
}

const DELIVERY = /(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}Z)\/$/;

/**
 * The newest complete report: the latest delivery folder that holds manifest.checksum (S3 writes it
 * after everything else). Lists every page of delivery folders.
 */
export async function latestReport(s3: S3Client, sourceBucket: string, destination: Destination, id = DEFAULT_INVENTORY_ID): Promise<LatestReport> {
  const prefix = reportsPrefix(destination, sourceBucket, id);
  const folders: string[] = [];
  const pages = paginateListObjectsV2({ client: s3 }, { Bucket: destination.bucket, Prefix: prefix, Delimiter: '/' })[Symbol.asyncIterator]();
  for (;;) {
    const page = await withContext(`ListObjectsV2 s3://${destination.bucket}/${prefix}`, () => pages.next());
    if (page.done) break;
    for (const common of page.value.CommonPrefixes ?? []) if (common.Prefix && DELIVERY.test(common.Prefix)) folders.push(common.Prefix);
  }
  for (const folder of folders.sort().reverse()) {
    try {
      await withContext(`HeadObject ${folder}manifest.checksum`, () => s3.send(new HeadObjectCommand({ Bucket: destination.bucket, Key: `${folder}manifest.checksum` })));
      return { bucket: destination.bucket, key: `${folder}manifest.json`, delivered: DELIVERY.exec(folder)![1]! };
    } catch (error) {
      if (!(error instanceof NotFound)) throw error;
    }
  }
  throw new ConfigError(
    folders.length === 0
      ? `no inventory report under s3://${destination.bucket}/${prefix} yet: S3 delivers the first one within 48 hours of 'inventory enable'`
      : `no complete inventory report under s3://${destination.bucket}/${prefix}: ${folders.length} deliveries, none with manifest.checksum yet`,
  );
}
