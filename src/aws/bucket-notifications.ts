/**
 * Live sync's event notifications on the source bucket — a bucket this stack does not own, so
 * CloudFormation cannot declare them; the SourceBucketNotifications custom resource
 * (src/handlers/source-notifications.ts) puts them through this module.
 *
 * PutBucketNotificationConfiguration replaces a bucket's whole notification configuration
 * (Amazon S3 API Reference, "PutBucketNotificationConfiguration": "This action replaces the existing
 * notification configuration with the configuration you include in the request body"), so every
 * other configuration — other Lambdas, SQS, SNS, EventBridge — is read first and put back as it was.
 * Ours are known by their Id prefix, and by their function ARN (configurations an older deploy of
 * this stack left through Serverless's own custom resource). S3 refuses two configurations that
 * share an event type over overlapping key ranges (S3 User Guide, "Configuring event notifications
 * using object key name filtering": "overlapping prefixes ... for the same event type" are refused):
 * such a conflict is named before anything is put.
 */
import {
  type Event,
  GetBucketNotificationConfigurationCommand,
  type LambdaFunctionConfiguration,
  NoSuchBucket,
  type NotificationConfiguration,
  PutBucketNotificationConfigurationCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

export interface SourceNotifications {
  bucket: string;
  /** The sync function: S3 invokes it (its resource policy must allow s3.amazonaws.com first). */
  functionArn: string;
  /** e.g. `s3:ObjectCreated:*`, `s3:ObjectRemoved:*` */
  events: string[];
  /** Ids of our configurations start with `<idPrefix>-`: another stage's never match. */
  idPrefix: string;
}

type AnyConfiguration = { Id?: string; Events?: string[]; Filter?: LambdaFunctionConfiguration['Filter'] };

/** The configuration entries this stack puts: one per event type. */
export function ourConfigurations(wanted: SourceNotifications): LambdaFunctionConfiguration[] {
  return wanted.events.map((event) => ({
    Id: `${wanted.idPrefix}-${event.replace(/^s3:/, '').replace(/[:*]+/g, '-').replace(/-+$/, '')}`,
    LambdaFunctionArn: wanted.functionArn,
    Events: [event as Event],
  }));
}

/** True for a configuration this stack put (or an older deploy of it, through Serverless's custom resource). */
export function isOurs(configuration: LambdaFunctionConfiguration, wanted: Pick<SourceNotifications, 'idPrefix' | 'functionArn'>): boolean {
  return (configuration.Id ?? '').startsWith(`${wanted.idPrefix}-`) || configuration.LambdaFunctionArn === wanted.functionArn;
}

/** `s3:ObjectCreated:*` and `s3:ObjectCreated:Put` overlap; `s3:ObjectCreated:*` and `s3:ObjectRemoved:*` do not. */
export function eventsOverlap(a: string, b: string): boolean {
  const [familyA, kindA] = splitEvent(a);
  const [familyB, kindB] = splitEvent(b);
  return familyA === familyB && (kindA === '*' || kindB === '*' || kindA === kindB);
}

function splitEvent(event: string): [string, string] {
  const parts = event.split(':');
  return [parts.slice(0, 2).join(':'), parts.slice(2).join(':') || '*'];
}

/** Ours have no key filter: any other configuration on an overlapping event type conflicts, whatever its filter. */
export function conflictsWith(configuration: NotificationConfiguration, wanted: SourceNotifications): string[] {
  const others: Array<[string, AnyConfiguration]> = [
    ...(configuration.LambdaFunctionConfigurations ?? []).filter((c) => !isOurs(c, wanted)).map((c): [string, AnyConfiguration] => ['Lambda', c]),
    ...(configuration.QueueConfigurations ?? []).map((c): [string, AnyConfiguration] => ['SQS', c]),
    ...(configuration.TopicConfigurations ?? []).map((c): [string, AnyConfiguration] => ['SNS', c]),
  ];
  return others
    .filter(([, c]) => (c.Events ?? []).some((event) => wanted.events.some((ours) => eventsOverlap(event, ours))))
    .map(([kind, c]) => `${kind} configuration ${JSON.stringify(c.Id ?? '(no id)')} on ${(c.Events ?? []).join(', ')}`);
}

/** The bucket's configuration with ours replaced by `wanted` (or removed, without it); the others untouched. */
export function mergedConfiguration(current: NotificationConfiguration, ours: Pick<SourceNotifications, 'idPrefix' | 'functionArn'>, wanted?: SourceNotifications): NotificationConfiguration {
  const kept = (current.LambdaFunctionConfigurations ?? []).filter((c) => !isOurs(c, ours));
  const lambdas = [...kept, ...(wanted ? ourConfigurations(wanted) : [])];
  const merged: NotificationConfiguration = {};
  if (current.TopicConfigurations?.length) merged.TopicConfigurations = current.TopicConfigurations;
  if (current.QueueConfigurations?.length) merged.QueueConfigurations = current.QueueConfigurations;
  if (lambdas.length) merged.LambdaFunctionConfigurations = lambdas;
  if (current.EventBridgeConfiguration) merged.EventBridgeConfiguration = current.EventBridgeConfiguration;
  return merged;
}

/** The configuration as it is, in the shape mergedConfiguration gives (to tell whether a put would change anything). */
function normalized(current: NotificationConfiguration): NotificationConfiguration {
  return mergedConfiguration(current, { idPrefix: '\0', functionArn: '\0' });
}

export class NotificationConflict extends Error {
  override name = 'NotificationConflict';
}

async function read(s3: S3Client, bucket: string): Promise<NotificationConfiguration> {
  const { $metadata: _, ...configuration } = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
  return configuration;
}

/** Puts ours on the bucket (replacing an earlier version of ours); refuses, naming them, configurations S3 would call overlapping. */
export async function putSourceNotifications(s3: S3Client, wanted: SourceNotifications): Promise<{ changed: boolean }> {
  const current = await read(s3, wanted.bucket);
  const conflicts = conflictsWith(current, wanted);
  if (conflicts.length > 0) {
    throw new NotificationConflict(
      `s3://${wanted.bucket} already sends ${wanted.events.join(', ')} elsewhere (${conflicts.join('; ')}); S3 allows one destination per event type and key range. ` +
        'Remove those configurations (or move them to EventBridge), then deploy again.',
    );
  }
  const merged = mergedConfiguration(current, wanted, wanted);
  if (JSON.stringify(merged) === JSON.stringify(normalized(current))) return { changed: false };
  await s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: wanted.bucket, NotificationConfiguration: merged }));
  return { changed: true };
}

/** Takes ours off the bucket, leaving the others; a bucket that no longer exists has nothing to remove. */
export async function removeSourceNotifications(s3: S3Client, ours: Pick<SourceNotifications, 'bucket' | 'idPrefix' | 'functionArn'>): Promise<{ changed: boolean }> {
  let current: NotificationConfiguration;
  try {
    current = await read(s3, ours.bucket);
  } catch (error) {
    if (error instanceof NoSuchBucket) return { changed: false };
    throw error;
  }
  if (!(current.LambdaFunctionConfigurations ?? []).some((c) => isOurs(c, ours))) return { changed: false };
  await s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: ours.bucket, NotificationConfiguration: mergedConfiguration(current, ours) }));
  return { changed: true };
}
