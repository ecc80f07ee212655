/**
 * Which AWS SDK errors may pass on their own (throttling, 5xx, network): after the SDK's own retries
 * they become TransientError, which the state machine retries with backoff and jitter.
 */
import { TransientError } from '../core/errors';

const TRANSIENT_NAMES = new Set([
  'SlowDown', 'InternalError', 'ServiceUnavailable', 'RequestTimeout', 'RequestTimeoutException', 'ThrottlingException',
  'Throttling', 'TooManyRequestsException', 'ProvisionedThroughputExceededException', 'RequestLimitExceeded',
  'InternalServerError', 'TimeoutError', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'NetworkingError',
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
  return Boolean(e.$retryable) || (status !== undefined && (status >= 500 || status === 429)) || TRANSIENT_NAMES.has(e.name ?? '') || TRANSIENT_NAMES.has(e.code ?? '');
}

/** Runs an AWS call; a transient failure becomes TransientError naming what was being done. */
export async function guard<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isTransient(error)) {
      const name = (error as SdkError).name ?? 'Error';
      throw new TransientError(`${what}: ${name}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    throw error;
  }
}
