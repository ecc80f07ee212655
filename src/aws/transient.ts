/**
 * Which AWS SDK errors may pass on their own (throttling, 5xx, network, timeouts): once they have
 * outlived the SDK's own retries they become TransientError, which the state machine retries with
 * backoff and jitter. Every other error is rethrown unchanged.
 *
 * The classification is the SDK's own (`@smithy/core/retry`, the functions its retry strategy uses:
 * https://www.npmjs.com/package/@smithy/service-error-classification — throttling codes such as S3's
 * `SlowDown` and DynamoDB's `ProvisionedThroughputExceededException` or a 429; 500/502/503/504;
 * `TimeoutError`/`RequestTimeout`; Node's ECONNRESET, ETIMEDOUT, EAI_AGAIN…; an error modeled
 * `$retryable`), plus the few S3 answers it does not name (below).
 */
import { isThrottlingError, isTransientError } from '@smithy/core/retry';
import { TransientError } from '../core/errors';

/**
 * S3's 409s that pass once the other request on the object is over (conditional writes racing, a
 * conflicting bucket operation): https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
 */
const S3_TRANSIENT_NAMES = new Set(['ConditionalRequestConflict', 'OperationAborted']);
/** Node socket codes the SDK's lists leave out: a connection aborted mid-request is retried too. */
const NETWORK_CODES = new Set(['ECONNABORTED']);

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

export function isTransient(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  // Already mapped: a TransientError is not wrapped twice (the classifier would look at its cause).
  if (error instanceof TransientError) return false;
  const e = error as Parameters<typeof isTransientError>[0] & SdkError;
  return isThrottlingError(e) || isTransientError(e) || S3_TRANSIENT_NAMES.has(e.name ?? '') || NETWORK_CODES.has(e.code ?? '');
}

/** The most telling name of an error: a Node network error is named `Error` but has a `code`. */
export function errorName(error: unknown): string {
  if (!error || typeof error !== 'object') return typeof error;
  const { name, code } = error as SdkError;
  if (code && (!name || name === 'Error')) return code;
  return name ?? 'Error';
}

/**
 * Runs an AWS call; a transient failure becomes TransientError whose message names what was being
 * done (operation, bucket/table, key) and the original error's name (kept as `cause` too).
 */
export async function guard<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isTransient(error)) {
      const message = error instanceof Error ? error.message : String(error);
      throw new TransientError(`${what}: ${errorName(error)}: ${message}`, { cause: error });
    }
    throw error;
  }
}

/**
 * Runs a control-plane call (Step Functions, CloudFormation, STS, S3 bucket configuration) of the
 * CLI and the starter Lambda. It does not retry: the client does (clients.ts). A transient error that
 * outlived the client's attempts surfaces naming what was being done and how many attempts the SDK
 * made (`$metadata.attempts`, set by its retry middleware); any other error passes unchanged.
 */
export async function withContext<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!isTransient(error)) throw error;
    const message = error instanceof Error ? error.message : String(error);
    const attempts = (error as SdkError).$metadata?.attempts;
    throw new Error(`${what}: ${errorName(error)}${attempts ? ` after ${attempts} attempts` : ''}: ${message}`, { cause: error });
  }
}
