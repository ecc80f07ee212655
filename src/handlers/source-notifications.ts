/**
 * The SourceBucketNotifications custom resource of serverless.yml: puts live sync's event
 * notifications (ObjectCreated, ObjectRemoved → the sync function) on the source bucket, which this
 * stack does not own, and takes them off when the stack goes. An async handler of (event, context):
 * Lambda's Node.js 24 runtime refuses callback-style handlers (Lambda Developer Guide, "Define Lambda
 * function handler in Node.js").
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { putSourceNotifications, removeSourceNotifications, type SourceNotifications } from '../aws/bucket-notifications';
import { sharedS3Client } from '../aws/clients';
import { answerCustomResource, existingPhysicalId, type CustomResourceContext, type CustomResourceEvent, type CustomResourceResponse, type Outcome } from '../aws/custom-resource';
import { ConfigError } from '../core/errors';
import { makeLogger, type Telemetry } from './observe';

/** The resource's properties as CloudFormation passes them (serverless.yml, SourceBucketNotifications). */
export function notificationsOf(properties: Record<string, unknown> | undefined): SourceNotifications {
  const text = (name: string) => {
    const value = properties?.[name];
    if (typeof value !== 'string' || value === '') throw new ConfigError(`property ${name} must be a non-empty string`);
    return value;
  };
  const events = properties?.Events;
  if (!Array.isArray(events) || events.length === 0 || events.some((event) => typeof event !== 'string' || !/^s3:[A-Za-z]+:[A-Za-z*]+$/.test(event))) {
    throw new ConfigError('property Events must be a non-empty list of S3 event types like s3:ObjectCreated:*');
  }
  return { bucket: text('BucketName'), functionArn: text('FunctionArn'), idPrefix: text('IdPrefix'), events: events as string[] };
}

const physicalIdOf = (n: SourceNotifications) => `${n.idPrefix}@${n.bucket}`;

export async function applyRequest(s3: S3Client, event: CustomResourceEvent): Promise<Outcome> {
  if (event.RequestType === 'Delete') {
    let ours: SourceNotifications;
    try {
      ours = notificationsOf(event.ResourceProperties);
    } catch (error) {
      // A Create refused for its properties put nothing: its rollback's Delete has nothing to take off.
      if (error instanceof ConfigError) return { physicalResourceId: existingPhysicalId(event) ?? event.LogicalResourceId };
      throw error;
    }
    await removeSourceNotifications(s3, ours);
    return { physicalResourceId: existingPhysicalId(event) ?? physicalIdOf(ours) };
  }
  const wanted = notificationsOf(event.ResourceProperties);
  // Create, or Update: another bucket (or prefix) is a new physical id, and CloudFormation then
  // deletes the old one — taking ours off the old bucket.
  await putSourceNotifications(s3, wanted);
  return { physicalResourceId: physicalIdOf(wanted), data: { BucketName: wanted.bucket } };
}

export const makeSourceNotificationsHandler =
  (s3: () => S3Client = sharedS3Client, telemetry: Telemetry = {}) =>
  async (event: CustomResourceEvent, context: CustomResourceContext = {}): Promise<CustomResourceResponse> => {
    const logger = makeLogger('sourceNotifications', telemetry, { requestType: event.RequestType, logicalResourceId: event.LogicalResourceId });
    const response = await answerCustomResource(event, context, (request) => applyRequest(s3(), request));
    if (response.Status === 'SUCCESS') logger.info('source bucket notifications: done', { physicalResourceId: response.PhysicalResourceId });
    else logger.error('source bucket notifications: failed', { reason: response.Reason });
    return response;
  };

export const handler = makeSourceNotificationsHandler();
