/** Builds the StepContext of a Lambda from its environment, once per container. */
import { sharedDynamoClient, sharedS3Client } from '../aws/clients';
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
  };
}

let cached: StepContext | undefined;
export const lambdaContext: ContextSource = () => (cached ??= contextFromEnv());

export function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new ConfigError(`environment variable ${name} is not set`);
  return value;
}
