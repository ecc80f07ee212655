/**
 * Error names are part of the contract with the state machine: Step Functions matches Retry and
 * Catch on the Lambda error's name (`errorType`), so these names appear in migrate.asl.yaml.
 */

/** The photo itself is bad (corrupt, not an image, too large): retrying cannot help. */
export class PhotoError extends Error {
  override name = 'PhotoError';
}

/** A dependency failed in a way that may pass (throttling, 5xx, network): Retry with backoff. */
export class TransientError extends Error {
  override name = 'TransientError';
}

/** Another worker is rendering the same content right now: Retry later, then reuse its crops. */
export class ContentBusy extends Error {
  override name = 'ContentBusy';
}

/** The source object does not exist (deleted after the inventory was taken). */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

/** Bad configuration or a bad manifest: refused before any write. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
