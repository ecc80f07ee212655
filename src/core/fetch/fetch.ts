/**
 * The Fetch step of a sources run (issue 20): one row of the sources file in, its original copied
 * into the source bucket at `key`, the InventoryItem Dedupe and Resize take out.
 *
 * - Kept, not fetched again: an object already at the key with the row's checksum (`fetch-sha256` /
 *   `fetch-md5` metadata this step records, or an ETag that is the row's md5); without a checksum in
 *   the row, one this step fetched from the same URL (its query, a SAS, left out) with the row's size
 *   if it gives one. A rerun of a finished sources run fetches nothing.
 * - Streamed: the body is hashed (md5 and sha-256) as it arrives, and held at most one part (8 MiB)
 *   at a time. An original up to a part is stored with one PutObject once verified; a bigger one goes
 *   through a multipart upload, completed only once verified. A wrong checksum, a size other than the
 *   row's or the Content-Length, more bytes than `limits.maxInputBytes`: nothing is stored.
 * - Bounded: connect and read timeouts, a deadline for the whole step, at most `attempts` tries.
 *   429, 5xx, timeouts, resets and truncated bodies are retried with full-jitter exponential backoff;
 *   a `Retry-After` (seconds or an HTTP date) is honoured up to `maxRetryAfterMs`.
 * - Safe: every URL and every redirect hop is checked (url-check.ts) before a packet is sent; at
 *   most `maxRedirects` hops. Errors and results name URLs only through redactUrl.
 */
import { createHash, type Hash } from 'node:crypto';
import { FetchError, type FetchReason } from '../errors';
import { encodeInventoryKey } from '../inventory/keys';
import type { CopyStats, InventoryItem } from '../item';
import { validateSourceKey } from '../keys';
import type { ObjectHead, ObjectStore, ObjectUploads } from '../ports';
import { httpGet, type OriginResponse, TransferError } from './http-get';
import { parseSourceRecord, type SourceRow } from './sources-csv';
import { type AllowedHost, checkS3Url, checkUrl, type Lookup, redactUrl } from './url-check';

export interface FetchOptions {
  allowlist: readonly AllowedHost[];
  lookup: Lookup;
  connectTimeoutMs: number;
  readTimeoutMs: number;
  /** The whole step, every attempt and wait included (under the Lambda's timeout). */
  deadlineMs: number;
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  maxRetryAfterMs: number;
  maxRedirects: number;
  /** Bytes held before a part is uploaded (≥ 5 MiB, S3's smallest part but the last). */
  partBytes: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export const DEFAULT_FETCH_OPTIONS: Omit<FetchOptions, 'allowlist' | 'lookup'> = {
  connectTimeoutMs: 5_000,
  readTimeoutMs: 15_000,
  deadlineMs: 50_000,
  attempts: 4,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 10_000,
  maxRedirects: 5,
  partBytes: 8 * 1024 * 1024,
};

export interface FetchContext {
  /** Where originals go (head, put) and, for `s3://` rows, where they are read from. */
  store: ObjectStore;
  uploads: ObjectUploads;
  sourceBucket: string;
  maxInputBytes: number;
  /** For the key check (keys.ts validateSourceKey), as Dedupe does it. */
  presetNames: readonly string[];
  derivedPrefixBytes: number;
  options: FetchOptions;
}

/** The item Dedupe and Resize take, with the copy's figures (carried into the outcome: `copied`). */
export interface FetchedItem extends Omit<InventoryItem, 'url'> {
  copied: CopyStats;
}

/** Object metadata this step records (S3 user metadata, `x-amz-meta-…`). */
export const FETCH_METADATA = { sha256: 'fetch-sha256', md5: 'fetch-md5', source: 'fetch-source' } as const;

export async function fetchSource(context: FetchContext, record: unknown): Promise<FetchedItem> {
  const started = performance.now();
  let row: SourceRow;
  try {
    row = parseSourceRecord((record ?? {}) as Record<string, unknown>);
  } catch (error) {
    throw new FetchError('bad-source', (error as Error).message);
  }
  validateSourceKey(row.key, context.presetNames, context.derivedPrefixBytes);
  const { maxInputBytes } = context;
  if (row.size !== undefined && row.size > maxInputBytes) throw new FetchError('too-large', `${row.size} bytes (the row's size), the limit is ${maxInputBytes}`);
  const ref = { bucket: context.sourceBucket, key: row.key };
  const item = (etag: string | undefined, size: number, copied: Omit<CopyStats, 'ms'>): FetchedItem => ({
    bucket: ref.bucket,
    key: encodeInventoryKey(row.key),
    size: String(size),
    ...(etag ? { etag } : {}),
    copied: { ...copied, ms: Math.round(performance.now() - started) },
  });
  const existing = await context.store.head(ref);
  if (existing && isSameSource(existing, row)) return item(existing.etag, existing.size, { bytes: 0, attempts: 0, kept: true });

  const options = context.options;
  const deadline = started + options.deadlineMs;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  let last: RetriableError | undefined;
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    try {
      const { etag, bytes } = await copyOnce(context, row, ref, deadline);
      return item(etag, bytes, { bytes, attempts: attempt });
    } catch (error) {
      if (!(error instanceof RetriableError)) throw error;
      last = error;
      if (attempt === options.attempts) break;
      const backoff = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1)) * random();
      const wait = error.retryAfterMs !== undefined ? Math.min(error.retryAfterMs, options.maxRetryAfterMs) : backoff;
      if (performance.now() + wait + options.connectTimeoutMs > deadline) break;
      await sleep(wait);
    }
  }
  throw new FetchError(last!.reason, `${last!.message} (gave up after ${options.attempts === 1 ? '1 try' : 'retrying'})`);
}

/** An attempt that may pass if tried again: 429, 5xx, a timeout, a reset, a truncated body. */
class RetriableError extends Error {
  constructor(
    readonly reason: FetchReason,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

function isSameSource(head: ObjectHead, row: SourceRow): boolean {
  if (row.size !== undefined && head.size !== row.size) return false;
  const metadata = head.metadata ?? {};
  if (row.sha256) return metadata[FETCH_METADATA.sha256] === row.sha256;
  // A single-part object's ETag is the MD5 of its bytes.
  if (row.md5) return metadata[FETCH_METADATA.md5] === row.md5 || head.etag?.replace(/"/g, '') === row.md5;
  return metadata[FETCH_METADATA.source] === sourceFingerprint(row.url);
}

/** Which URL an object came from, without its secrets: the sha-256 of the redacted URL. */
export function sourceFingerprint(url: string): string {
  return createHash('sha256').update(redactUrl(url)).digest('hex');
}

async function copyOnce(context: FetchContext, row: SourceRow, ref: { bucket: string; key: string }, deadline: number): Promise<{ etag?: string; bytes: number }> {
  if (/^s3:/i.test(row.url)) {
    const source = checkS3Url(row.url, context.options.allowlist);
    const stream = await context.store.openRead(source).catch((error: Error) => {
      if (error.name === 'NotFoundError') throw new FetchError('http-4xx', `${redactUrl(row.url)}: no such object`);
      throw new RetriableError('unreachable', `${redactUrl(row.url)}: ${error.name}: ${error.message}`);
    });
    if (stream.size !== undefined) checkLength(stream.size, row, context.maxInputBytes, 'its size');
    return store(context, row, ref, stream.body, stream.contentType, stream.size);
  }
  const response = await open(context.options, row.url, deadline);
  try {
    const declared = response.headers['content-length'];
    const length = declared === undefined ? undefined : Number(declared);
    if (length !== undefined) checkLength(length, row, context.maxInputBytes, 'its Content-Length');
    return await store(context, row, ref, response.body, response.headers['content-type'], length);
  } finally {
    response.close();
  }
}

function checkLength(length: number, row: SourceRow, max: number, what: string): void {
  if (length > max) throw new FetchError('too-large', `${redactUrl(row.url)}: ${length} bytes (${what}), the limit is ${max}`);
  if (row.size !== undefined && length !== row.size) throw new FetchError('checksum', `${redactUrl(row.url)}: ${length} bytes (${what}), the row says ${row.size}`);
}

/** A 200 response to the URL, every redirect hop checked first. */
async function open(options: FetchOptions, url: string, deadline: number): Promise<OriginResponse> {
  let current = url;
  for (let hop = 0; ; hop++) {
    const target = await checkUrl(current, options.allowlist, options.lookup);
    let response: OriginResponse;
    try {
      response = await httpGet(target, { connectTimeoutMs: options.connectTimeoutMs, readTimeoutMs: options.readTimeoutMs, deadline });
    } catch (error) {
      if (error instanceof TransferError) throw new RetriableError(error.phase === 'body' ? 'truncated' : 'unreachable', `${redactUrl(current)}: ${error.message}`);
      throw error;
    }
    const { status } = response;
    if (status === 200) return response;
    response.close();
    const shown = redactUrl(current);
    if ([301, 302, 303, 307, 308].includes(status)) {
      const location = response.headers.location;
      if (!location) throw new FetchError('bad-source', `${shown}: answered ${status} without a Location`);
      if (hop >= options.maxRedirects) throw new FetchError('bad-source', `${shown}: more than ${options.maxRedirects} redirects`);
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        throw new FetchError('bad-source', `${shown}: answered ${status} with a Location that is not a URL`);
      }
      // A redirect may carry a signed URL: never from https down to plain http.
      if (current.startsWith('https:') && next.protocol !== 'https:') throw new FetchError('host-refused', `${shown}: redirected from https to ${redactUrl(next.href)}, refused`);
      current = next.href;
      continue;
    }
    if (status === 429) throw new RetriableError('http-4xx', `${shown}: answered 429 Too Many Requests`, retryAfterMs(response.headers['retry-after']));
    if (status >= 500 && status <= 599) throw new RetriableError('http-5xx', `${shown}: answered ${status}`, status === 503 ? retryAfterMs(response.headers['retry-after']) : undefined);
    if (status >= 400 && status <= 499) throw new FetchError('http-4xx', `${shown}: answered ${status}`);
    throw new FetchError('bad-source', `${shown}: answered ${status}, not 200`);
  }
}

/** `Retry-After`: delay-seconds or an HTTP-date (RFC 9110, 10.2.3); undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The body into the source bucket: hashed as it comes, held one part at a time, stored only once
 * its length and checksums are right (a multipart upload is aborted otherwise).
 */
async function store(
  context: FetchContext,
  row: SourceRow,
  ref: { bucket: string; key: string },
  body: AsyncIterable<Uint8Array>,
  responseType: string | undefined,
  declared: number | undefined,
): Promise<{ etag?: string; bytes: number }> {
  const { partBytes } = context.options;
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  const contentType = row.contentType ?? (responseType && /^image\//i.test(responseType) ? responseType : undefined);
  // What is known before the bytes are (a multipart upload's metadata is set when it starts).
  const metadata: Record<string, string> = { [FETCH_METADATA.source]: sourceFingerprint(row.url), ...(row.sha256 ? { [FETCH_METADATA.sha256]: row.sha256 } : {}), ...(row.md5 ? { [FETCH_METADATA.md5]: row.md5 } : {}) };
  let upload: Awaited<ReturnType<ObjectUploads['startUpload']>> | undefined;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let bytes = 0;
  const flush = async () => {
    upload ??= await context.uploads.startUpload(ref, { contentType, metadata });
    await upload.uploadPart(Buffer.concat(pending, pendingBytes));
    pending = [];
    pendingBytes = 0;
  };
  try {
    try {
      for await (const chunk of body) {
        bytes += chunk.byteLength;
        if (bytes > context.maxInputBytes) throw new FetchError('too-large', `${redactUrl(row.url)}: more than ${context.maxInputBytes} bytes, the limit`);
        md5.update(chunk);
        sha256.update(chunk);
        pending.push(chunk);
        pendingBytes += chunk.byteLength;
        if (pendingBytes >= partBytes) await flush();
      }
    } catch (error) {
      if (error instanceof TransferError) throw new RetriableError('truncated', `${redactUrl(row.url)}: ${error.message}`);
      throw error;
    }
    if (declared !== undefined && bytes !== declared) throw new RetriableError('truncated', `${redactUrl(row.url)}: ${bytes} bytes, its Content-Length says ${declared}`);
    if (bytes === 0) throw new FetchError('empty', `${redactUrl(row.url)}: empty (0 bytes)`);
    const digest = verify(row, bytes, md5, sha256);
    if (upload) {
      if (pendingBytes > 0) await flush();
      const done = await upload.complete();
      upload = undefined;
      return { etag: done.etag, bytes };
    }
    const whole = Buffer.concat(pending, pendingBytes);
    await context.store.put(ref, whole, { contentType, metadata: { ...metadata, [FETCH_METADATA.sha256]: digest.sha256, [FETCH_METADATA.md5]: digest.md5 } });
    const head = await context.store.head(ref);
    return { etag: head?.etag, bytes };
  } finally {
    // Anything thrown before `complete`: the parts go, nothing is at the key.
    if (upload) await upload.abort().catch(() => {});
  }
}

/** The length and digests checked against the row's; returns the digests (hex). */
function verify(row: SourceRow, bytes: number, md5: Hash, sha256: Hash): { md5: string; sha256: string } {
  const shown = redactUrl(row.url);
  if (row.size !== undefined && bytes !== row.size) throw new FetchError('checksum', `${shown}: ${bytes} bytes, the row says ${row.size}; nothing stored`);
  const actualMd5 = md5.digest('hex');
  const actualSha256 = sha256.digest('hex');
  if (row.md5 && row.md5 !== actualMd5) throw new FetchError('checksum', `${shown}: md5 ${actualMd5}, the row says ${row.md5}; nothing stored`);
  if (row.sha256 && row.sha256 !== actualSha256) throw new FetchError('checksum', `${shown}: sha-256 ${actualSha256}, the row says ${row.sha256}; nothing stored`);
  return { md5: actualMd5, sha256: actualSha256 };
}
