/**
 * Which AWS SDK errors may pass on their own (throttling, 5xx, network, timeouts): once they have
 * outlived the SDK's own retries they become TransientError, which the state machine retries with
 * backoff and jitter. Every other error is rethrown unchanged.
 */
import { TransientError } from '../core/errors';

const TRANSIENT_NAMES = new Set([
  // S3
  'SlowDown', 'InternalError', 'ServiceUnavailable', 'RequestTimeout', 'ConditionalRequestConflict', 'OperationAborted',
  // DynamoDB and AWS in general
  'ThrottlingException', 'Throttling', 'ThrottledException', 'TooManyRequestsException', 'ProvisionedThroughputExceededException',
  'RequestLimitExceeded', 'RequestThrottled', 'RequestThrottledException', 'BandwidthLimitExceeded', 'TransactionInProgressException',
  'InternalServerError', 'InternalFailure', 'ServiceUnavailableException', 'RequestTimeoutException',
  // SDK and network
  'TimeoutError', 'NetworkingError', 'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
]);

interface SdkError {
  name?: string;
  code?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

export function isTransient(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const e = error as SdkError;
  const status = e.$metadata?.httpStatusCode;
  // 501 Not Implemented is the one 5xx that no retry can cure.
  const transientStatus = status !== undefined && ((status >= 500 && status !== 501) || status === 429);
  return Boolean(e.$retryable) || transientStatus || TRANSIENT_NAMES.has(e.name ?? '') || TRANSIENT_NAMES.has(e.code ?? '');
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
