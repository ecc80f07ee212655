/**
 * AWS SDK clients with the retry settings every adapter shares. On Lambda the defaults (region and
 * credentials from the environment) apply; locally an endpoint points them at the emulators.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';

export interface ClientOptions {
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** SDK attempts per call before an error surfaces (then the state machine's Retry takes over). */
  maxAttempts?: number;
}

const DEFAULT_ATTEMPTS = 5;

export function makeS3Client(options: ClientOptions = {}): S3Client {
  return new S3Client({
    ...common(options),
    forcePathStyle: options.endpoint !== undefined,
    // Checksums only where S3 requires them: s3rver rejects the newer default trailers, S3 accepts both.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export function makeDynamoClient(options: ClientOptions = {}): DynamoDBClient {
  return new DynamoDBClient(common(options));
}

function common(options: ClientOptions) {
  return {
    region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
    maxAttempts: options.maxAttempts ?? DEFAULT_ATTEMPTS,
    retryMode: 'standard',
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  };
}
