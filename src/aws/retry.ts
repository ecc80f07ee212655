/**
 * Control-plane calls (Step Functions, CloudFormation, STS, S3 bucket configuration) made by the CLI
 * and the starter Lambda: an answer that may pass on its own (throttling, 5xx, network) is retried
 * with exponential backoff and full jitter, on top of the SDK's own attempts; any other error, and
 * one that outlives the attempts, surfaces with what was being done.
 */
import { errorName, isTransient } from './transient';

export interface RetryOptions {
  /** Attempts in all (default 5). */
  attempts?: number;
  /** First backoff ceiling in ms (default 200), doubled each attempt up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export async function withRetries<T>(what: string, call: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 5;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isTransient(error)) throw error;
      if (attempt >= attempts) {
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`${what}: ${errorName(error)} after ${attempts} attempts: ${message}`, { cause: error });
      }
      await sleep(random() * Math.min(options.maxDelayMs ?? 5_000, (options.baseDelayMs ?? 200) * 2 ** (attempt - 1)));
    }
  }
}
