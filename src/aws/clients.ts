/**
 * AWS SDK clients with the retry and timeout settings every adapter shares. On Lambda the defaults
 * (region and credentials from the environment) apply and `sharedS3Client()`/`sharedDynamoClient()`
 * keep one client per container, reused across invocations (warm sockets); locally an endpoint
 * points fresh clients at the emulators.
 *
 * Retrying lives here, once: each client's own retry strategy (AWS SDK for JavaScript v3, "Retry
 * behavior", https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html, and
 * https://www.npmjs.com/package/@smithy/util-retry: `maxAttempts` + `retryMode`, or a
 * `ConfiguredRetryStrategy`, which takes precedence). No call site wraps a client in a loop of its own.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { STSClient } from '@aws-sdk/client-sts';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';

export interface ClientOptions {
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** SDK attempts per call before an error surfaces (then the state machine's Retry takes over). */
  maxAttempts?: number;
  /** `standard` (default): exponential backoff with jitter; `adaptive` also rate-limits this client. */
  retryMode?: 'standard' | 'adaptive';
  /**
   * The wait before retry `attempt` (1, 2, …) instead of the SDK's backoff: the local stack's tests
   * scale it down as they scale the state machine's waits. Never set on AWS.
   */
  retryDelayMs?: (attempt: number) => number;
  /** Instead of the SDK's Node HTTP handler (the local emulators' in-process one). Never set on AWS. */
  requestHandler?: object;
}

const DEFAULT_ATTEMPTS = 5;
/**
 * Control-plane calls (the CLI and the starter Lambda) have nobody behind them that retries (no
 * state machine Retry): their clients try a little longer. With the standard strategy's backoff (50 ms
 * doubled, 1 s for throttling, capped at 20 s, full jitter) 8 attempts wait up to about a minute.
 */
export const CONTROL_PLANE_ATTEMPTS = 8;
/** A connection that cannot be set up in this time is retried (TimeoutError). */
const CONNECTION_TIMEOUT_MS = 3_000;
/** A socket idle this long (no byte either way) is abandoned and the call retried (TimeoutError). */
const S3_SOCKET_TIMEOUT_MS = 30_000;
const DYNAMO_SOCKET_TIMEOUT_MS = 10_000;

export function makeS3Client(options: ClientOptions = {}): S3Client {
  return new S3Client({
    ...common(options),
    requestHandler: options.requestHandler ?? { connectionTimeout: CONNECTION_TIMEOUT_MS, socketTimeout: S3_SOCKET_TIMEOUT_MS },
    // Path-style URLs on an emulator: `http://127.0.0.1:port/bucket/key` (no bucket DNS names).
    forcePathStyle: options.endpoint !== undefined,
    // On AWS, a bucket in another region than the client's is reached anyway (the CLI's buckets).
    followRegionRedirects: options.endpoint === undefined,
    // Checksums only where S3 requires them: s3rver rejects the newer default trailers, S3 accepts both.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // On the emulators, the middleware stack resolved once per command class, not at every call: "the
    // additional time saved (0-1ms per request)" (AWS SDK for JavaScript v3, SmithyConfiguration
    // `cacheMiddleware`); measured on the local stack: 2.1–2.9 -> 1.7–2.1 ms of CPU a PutObject, a third
    // of a photo's calls being S3's. The price, as documented: middleware added after the first call is
    // not seen — countSdkRetries is added when a client is made. Not where region redirects are
    // followed: the cached handler's context is shared by every call of a command, and the redirect
    // middleware keeps the region it learnt there. (Not on DynamoDB: lib-dynamodb's document client
    // refuses it.)
    cacheMiddleware: options.endpoint !== undefined,
  });
}

export function makeDynamoClient(options: ClientOptions = {}): DynamoDBClient {
  return new DynamoDBClient({
    ...common(options),
    requestHandler: options.requestHandler ?? { connectionTimeout: CONNECTION_TIMEOUT_MS, socketTimeout: DYNAMO_SOCKET_TIMEOUT_MS },
  });
}

/** Control-plane clients of the CLI and the starter Lambda (CONTROL_PLANE_ATTEMPTS unless told). */
export function makeSfnClient(options: ClientOptions = {}): SFNClient {
  return new SFNClient(common(controlPlane(options)));
}

export function makeCloudFormationClient(options: ClientOptions = {}): CloudFormationClient {
  return new CloudFormationClient(common(controlPlane(options)));
}

export function makeStsClient(options: ClientOptions = {}): STSClient {
  return new STSClient(common(controlPlane(options)));
}

/** CloudFront's API is global: the SDK's endpoint rules send any region's calls to its one endpoint. */
export function makeCloudFrontClient(options: ClientOptions = {}): CloudFrontClient {
  return new CloudFrontClient(common(options));
}

function controlPlane(options: ClientOptions): ClientOptions {
  return { ...options, maxAttempts: options.maxAttempts ?? CONTROL_PLANE_ATTEMPTS };
}

let sharedS3: S3Client | undefined;
let sharedDynamo: DynamoDBClient | undefined;

/** One S3 client per process with the environment's region and credentials (Lambda). */
export function sharedS3Client(): S3Client {
  return (sharedS3 ??= makeS3Client());
}

/** One DynamoDB client per process with the environment's region and credentials (Lambda). */
export function sharedDynamoClient(): DynamoDBClient {
  return (sharedDynamo ??= makeDynamoClient());
}

/** A client whose middleware stack can be extended (every AWS SDK v3 client). */
interface Extensible {
  middlewareStack: { add(middleware: unknown, options: { step: 'initialize'; name: string }): void };
}

/**
 * Calls `onRetries(n)` after every call the client makes, with how many times the SDK retried it
 * (`$metadata.attempts - 1`, set by the SDK's retry middleware on answers and errors alike). Before
 * the client's first call: an S3 client resolves its middleware once (cacheMiddleware).
 */
export function countSdkRetries(client: Extensible, onRetries: (retries: number) => void): void {
  const attemptsOf = (value: unknown) => (value as { $metadata?: { attempts?: number } } | undefined)?.$metadata?.attempts ?? 1;
  client.middlewareStack.add(
    (next: (args: unknown) => Promise<{ output: unknown }>) => async (args: unknown) => {
      try {
        const result = await next(args);
        onRetries(attemptsOf(result.output) - 1);
        return result;
      } catch (error) {
        onRetries(attemptsOf(error) - 1);
        throw error;
      }
    },
    { step: 'initialize', name: 'photoScalerCountSdkRetries' },
  );
}

function common(options: ClientOptions) {
  const maxAttempts = options.maxAttempts ?? DEFAULT_ATTEMPTS;
  return {
    region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    maxAttempts,
    retryMode: options.retryMode ?? 'standard',
    ...(options.retryDelayMs ? { retryStrategy: new ConfiguredRetryStrategy(maxAttempts, options.retryDelayMs) } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  };
}
