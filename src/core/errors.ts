/**
 * Error names are part of the contract with the state machine: Step Functions matches Retry and
 * Catch on the Lambda error's name (`errorType`), so these names appear in migrate.asl.yaml.
 */

/**
 * Why a photo is refused, machine-readable: the failure row's `reason`, `run --json`'s
 * `failures[].reason`, the PhotosFailed metric's dimension and the on-demand HTTP status
 * (src/core/on-demand.ts `STATUS_OF_REASON`) all carry one of these.
 */
export const PHOTO_REASONS = [
  /** Not a raster image format we know (text, a PDF, …). */
  'not-an-image',
  /** Looks like an image but does not decode (truncated, damaged, no dimensions). */
  'corrupt',
  /** Over a limit: bytes or pixels. */
  'too-large',
  /** An image we refuse on purpose (SVG: it can reference external files). */
  'unsupported',
  /** 0 bytes. */
  'empty',
  /** The source object no longer exists (deleted after the inventory was taken). */
  'gone',
  /** The key can never be stored (reserved prefix, `..`, control characters, too long, bad URL encoding). */
  'key-refused',
  /** Decoded, but a preset could not be rendered from it. */
  'render-failed',
] as const;
export type PhotoReason = (typeof PHOTO_REASONS)[number];

/**
 * Why the Fetch step of a sources run (issue 20: a CSV of `key,url` rows) gave up on a row, besides
 * `too-large` and `empty` (which a fetched original shares with any photo), all FetchError's:
 *   host-refused  the URL's host is not on the allowlist, or resolves to a refused address
 *                 (loopback, private, link-local, the instance metadata service…), or a redirect led there
 *   unreachable   DNS, connect or read failures and timeouts, still failing after the retries
 *   http-4xx      the origin answered 4xx (429 is retried first)
 *   http-5xx      the origin answered 5xx, still after the retries
 *   checksum      the bytes do not have the row's md5/sha256, or their length is not the row's size
 *                 (nothing stored)
 *   truncated     the body ended before its Content-Length (a reset mid-body), still after the retries
 *   bad-source    the row's URL cannot be fetched at all (not https/http/s3, credentials in it…)
 * Listed at the end of FAILURE_REASONS (added, never renamed).
 */
export type FetchReason = 'host-refused' | 'unreachable' | 'http-4xx' | 'http-5xx' | 'checksum' | 'bad-source' | 'truncated' | 'too-large' | 'empty';

/**
 * Every reason a failure row can carry: the photo's own (PhotoError), and those of errors that are
 * not the photo's fault, named after the Step Functions error that reached the Catch (failureOf).
 */
export const FAILURE_REASONS = [
  ...PHOTO_REASONS,
  /** S3 (AccessDenied) or KMS (AccessDeniedException) refused to read the source. */
  'access-denied',
  /** States.Timeout / Sandbox.Timedout after the Retry. */
  'timeout',
  /** TransientError or a Lambda service error, still failing after the Retry. */
  'transient',
  /** ContentBusy after the Retry (another key's render of the same content never finished). */
  'busy',
  /** The run stopped before this photo's batch ran (a PENDING result). */
  'not-processed',
  /** A PhotoError recorded before failures carried a reason (a row of an older version). */
  'unclassified',
  /** Anything else: a crash (Lambda.Unknown), a bug, a configuration error. */
  'internal',
  /** A sources run's Fetch step (FetchReason, above). */
  'host-refused',
  'unreachable',
  'http-4xx',
  'http-5xx',
  'checksum',
  'bad-source',
  'truncated',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export function isFailureReason(value: unknown): value is FailureReason {
  return typeof value === 'string' && (FAILURE_REASONS as readonly string[]).includes(value);
}

/**
 * How the reason travels to the RecordFailure Lambda: in the message, as a `[reason] ` prefix. The
 * Node.js runtime reports a thrown error as `{errorType: error.name, errorMessage: error.message,
 * trace: error.stack.split('\n')}` and nothing else — own properties such as `reason` are dropped
 * (Lambda Developer Guide, "AWS Lambda function errors in Node.js"; the runtime's `formatError` in
 * aws/aws-lambda-nodejs-runtime-interface-client, src/utils/error.ts, `toRapidResponse` in older
 * src/Errors.js) — and Step Functions passes that JSON on as the Catch's `Cause`. failureOf reads the prefix back and strips it.
 */
const REASON_MARK = /^\[([a-z0-9-]+)\] /;

/** The photo itself is bad (corrupt, not an image, too large): retrying cannot help. */
export class PhotoError extends Error {
  override name = 'PhotoError';
  /** The human message, without the reason's mark (what users are shown). */
  readonly detail: string;

  constructor(
    readonly reason: PhotoReason,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`[${reason}] ${detail}`, options);
    this.detail = detail;
  }
}

/** An original (or any read of one) over the byte limit: one message wherever it is refused. */
export function tooLarge(bytes: number, limit: number): PhotoError {
  return new PhotoError('too-large', `too large: ${bytes} bytes, limit is ${limit}`);
}

/** A dependency failed in a way that may pass (throttling, 5xx, network): Retry with backoff. */
export class TransientError extends Error {
  override name = 'TransientError';
}

/**
 * The Fetch step could not copy a row's original into the source bucket (issue 20). Carries its
 * reason as PhotoError does (the `[reason] ` mark); its message never holds a URL's query or userinfo
 * (src/core/fetch/url-check.ts redactUrl). Not retried by the state machine: fetch.ts retried what
 * may pass (429, 5xx, timeouts, resets) already.
 */
export class FetchError extends Error {
  override name = 'FetchError';
  readonly detail: string;

  constructor(
    readonly reason: FetchReason,
    detail: string,
  ) {
    super(`[${reason}] ${detail}`);
    this.detail = detail;
  }
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

/** What to show a person: a PhotoError's detail (without its mark), another error's message. */
export function errorMessage(error: unknown): string {
  if (error instanceof PhotoError || error instanceof FetchError) return error.detail;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Step Functions error names (the Catch's `Error`) of failures that are not the photo's fault, by
 * reason. Step Functions passes only the name on, so a name is all there is to go by here.
 * S3's AccessDenied: S3 API Reference, "Error responses" (List of error codes); KMS's
 * AccessDeniedException: AWS KMS API Reference, "Common Errors". Timeouts and Lambda service errors:
 * Step Functions Developer Guide, "Error names" and "Handle Lambda service exceptions"; the same
 * names migrate.asl.yaml's Retry lists.
 */
const REASON_OF_ERROR: Readonly<Record<string, FailureReason>> = {
  'States.Timeout': 'timeout',
  'States.HeartbeatTimeout': 'timeout',
  'Sandbox.Timedout': 'timeout',
  TransientError: 'transient',
  'Lambda.ServiceException': 'transient',
  'Lambda.AWSLambdaException': 'transient',
  'Lambda.SdkClientException': 'transient',
  'Lambda.ClientExecutionTimeoutException': 'transient',
  'Lambda.TooManyRequestsException': 'transient',
  ContentBusy: 'busy',
  AccessDenied: 'access-denied',
  AccessDeniedException: 'access-denied',
  NotFoundError: 'gone',
};

/**
 * The one place a caught error becomes a reason: `errorType` is the Step Functions error name (a
 * Lambda error's `errorType`), `message` its message (a PhotoError's carries its `[reason] ` mark).
 * Returns the reason and the message without the mark. A PhotoError without a mark (recorded by an
 * older version) is `unclassified`; an error name not listed is `internal`.
 */
export function failureOf(errorType: string, message: string): { reason: FailureReason; error: string } {
  const mark = REASON_MARK.exec(message);
  const marked = mark && isFailureReason(mark[1]) ? mark[1] : undefined;
  const error = marked ? message.slice(mark![0].length) : message;
  if (errorType === 'PhotoError' || errorType === 'FetchError') return { reason: marked ?? 'unclassified', error };
  return { reason: REASON_OF_ERROR[errorType] ?? 'internal', error };
}

/** The message in a Step Functions Cause: a Lambda error's is the JSON `{errorType, errorMessage, trace}`, a States.* error's plain text. */
export function causeMessage(cause: string | undefined): string {
  try {
    const parsed = JSON.parse(cause ?? '') as { errorMessage?: unknown };
    if (typeof parsed?.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // plain text
  }
  return cause ?? '';
}
