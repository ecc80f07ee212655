/**
 * The CDN cache port on AWS: CloudFront CreateInvalidation of the logical URLs live sync changed
 * (CloudFront API Reference, CreateInvalidation). One request per batch of paths; CallerReference is
 * unique per request, so a retried Lambda invalidates again rather than being answered "already done".
 * CloudFront keeps at most 3,000 paths in progress per distribution (CloudFront Developer Guide,
 * "Invalidation quotas"): beyond that it answers TooManyInvalidationsInProgress, which the caller
 * logs; the URLs then expire with their lifetime (config `delivery.cdnSeconds`).
 */
import { randomUUID } from 'node:crypto';
import { type CloudFrontClient, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import { type CdnCache, invalidationPaths } from '../core/cdn';

/** Paths per CreateInvalidation request (well under the 3,000 in progress a distribution takes). */
export const PATHS_PER_INVALIDATION = 1000;

export class CloudFrontCache implements CdnCache {
  constructor(
    private readonly client: CloudFrontClient,
    private readonly distributionId: string,
  ) {}

  async invalidate(logicalKeys: readonly string[]): Promise<void> {
    const paths = invalidationPaths(logicalKeys);
    for (let at = 0; at < paths.length; at += PATHS_PER_INVALIDATION) {
      const items = paths.slice(at, at + PATHS_PER_INVALIDATION);
      await this.client.send(
        new CreateInvalidationCommand({
          DistributionId: this.distributionId,
          InvalidationBatch: { CallerReference: `photo-scaler-${randomUUID()}`, Paths: { Quantity: items.length, Items: items } },
        }),
      );
    }
  }
}
