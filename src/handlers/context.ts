/** Builds the StepContext of a Lambda from its environment, once per container. */
import { makeCloudFrontClient, sharedDynamoClient, sharedS3Client } from '../aws/clients';
import { CloudFrontCache } from '../aws/cloudfront-cache';
import { DynamoCatalog } from '../aws/dynamo-catalog';
import { S3ObjectStore } from '../aws/s3-store';
import { config } from '../config';
import type { StepContext } from '../core/context';
import { ConfigError } from '../core/errors';
import { validateConfig } from '../core/presets';

export type ContextSource = () => StepContext;

export function contextFromEnv(env: NodeJS.ProcessEnv = process.env): StepContext {
  const libraryBucket = required(env, 'LIBRARY_BUCKET');
  const table = required(env, 'CATALOG_TABLE');
  return {
    store: new S3ObjectStore(sharedS3Client()),
    catalog: new DynamoCatalog(sharedDynamoClient(), table),
    libraryBucket,
    config,
    presets: validateConfig(config),
    // Live sync's functions get the distribution to invalidate what they change (serverless.yml).
    ...(env.CDN_DISTRIBUTION_ID ? { cdn: new CloudFrontCache(makeCloudFrontClient(), env.CDN_DISTRIBUTION_ID) } : {}),
  };
}

let cached: StepContext | undefined;
export const lambdaContext: ContextSource = () => (cached ??= contextFromEnv());

export function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new ConfigError(`environment variable ${name} is not set`);
  return value;
}
