/**
 * `serve`'s CDN view: the local stand-in for the CloudFront distribution of serverless.yml, with the
 * same behaviors —
 *   /assets/*   the private library bucket (the S3 origin behind origin access control)
 *   *           the `resolve` function URL (src/handlers/resolve.ts, the very handler the Lambda runs),
 *               which under /dynamic/* also receives `?sig=`
 * — and CloudFront's cache in front of them: the cache key is the path (no query string, so a
 * random one cannot bypass the cache) and, for logical URLs, the normalised format choice the
 * viewer-request function computes from Accept (src/core/negotiate.ts, never the raw header), lifetimes come from the origin's Cache-Control (s-maxage, then max-age),
 * simultaneous misses of one key are collapsed into one origin request, and invalidations drop
 * entries by path or by path prefix (`/path*`). Answers carry CloudFront's `X-Cache` and `Age`.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CdnCache, canonicalUri, invalidationMatches, invalidationPaths, keyOfUrlPath } from '../core/cdn';
import { quoteEtag } from '../core/etag';
import { assetSha256 } from '../core/keys';
import { ASSETS_PREFIX } from '../core/layout';
import { FORMAT_HEADER, formatChoice } from '../core/negotiate';
import type { ObjectStore } from '../core/ports';
import type { FunctionUrlEvent } from '../handlers/resolve';
import type { StreamingHandler } from '../handlers/streaming';
import { functionUrlEvent, invokeStreaming, type ResponseSink } from './function-url';

export interface CdnView {
  url: string;
  port: number;
  /** Drops cached answers, as a CloudFront invalidation does (`/path` or `/prefix*`). */
  invalidate(paths: readonly string[]): void;
  /** Origin requests made so far, by behavior. */
  originRequests(): { assets: number; resolver: number };
  /** The cache keys held now (path, and the format choice for logical URLs; see cacheKeyOf). */
  cacheKeys(): string[];
  close(): Promise<void>;
}

export interface CdnViewOptions {
  store: ObjectStore;
  bucket: string;
  resolver: StreamingHandler<FunctionUrlEvent>;
  port?: number;
  /** Pages that are not library objects (`/_report`), by exact path; HTML, never cached. */
  pages?: Record<string, () => Promise<string>>;
  /** An append-only file of invalidations (one JSON array of paths per line) written by other processes. */
  invalidationLog?: string;
  /** Cache size bound (bytes of bodies); least recently stored entries go first. */
  maxCacheBytes?: number;
  /** Bodies bigger than this are served but not cached. */
  maxEntryBytes?: number;
}

/** The distribution's cache policy for logical URLs (serverless.yml LogicalUrlCachePolicy): default and bounds. */
export const CACHE_POLICY = { defaultTtl: 86_400, minTtl: 0, maxTtl: 31_536_000 };
/** CloudFront's error caching minimum TTL, its default (CloudFront Developer Guide, "Control error caching duration"). */
const ERROR_CACHING_MIN_TTL = 10;

interface Entry {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  storedAt: number;
  expiresAt: number;
}

export async function startCdnView(options: CdnViewOptions): Promise<CdnView> {
  const cache = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<void>>();
  const counts = { assets: 0, resolver: 0 };
  const maxCacheBytes = options.maxCacheBytes ?? 256 * 1024 * 1024;
  const maxEntryBytes = options.maxEntryBytes ?? 32 * 1024 * 1024;
  let cachedBytes = 0;
  let logOffset = options.invalidationLog && existsSync(options.invalidationLog) ? statSync(options.invalidationLog).size : 0;

  const invalidate = (paths: readonly string[]) => {
    for (const [key, entry] of cache) {
      if (paths.some((path) => invalidationMatches(path, pathOfCacheKey(key)))) {
        cache.delete(key);
        cachedBytes -= entry.body.byteLength;
      }
    }
  };

  /** Invalidations other processes wrote since the last request (a stat per request; reads only what is new). */
  const readInvalidationLog = () => {
    const file = options.invalidationLog;
    if (!file || !existsSync(file)) return;
    const size = statSync(file).size;
    if (size <= logOffset) return;
    const fd = openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(size - logOffset);
      readSync(fd, buffer, 0, buffer.byteLength, logOffset);
      const text = buffer.toString('utf8');
      const complete = text.lastIndexOf('\n') + 1;
      logOffset += Buffer.byteLength(text.slice(0, complete));
      for (const line of text.slice(0, complete).split('\n')) if (line.trim()) invalidate(JSON.parse(line) as string[]);
    } finally {
      closeSync(fd);
    }
  };

  const store = (key: string, entry: Entry) => {
    if (entry.body.byteLength > maxEntryBytes || entry.expiresAt <= entry.storedAt) return;
    const old = cache.get(key);
    if (old) cachedBytes -= old.body.byteLength;
    cache.delete(key);
    cache.set(key, entry);
    cachedBytes += entry.body.byteLength;
    for (const [oldest, evicted] of cache) {
      if (cachedBytes <= maxCacheBytes) break;
      cache.delete(oldest);
      cachedBytes -= evicted.body.byteLength;
    }
  };

  const fetchFromOrigin = async (request: IncomingMessage, key: string, sink: ResponseSink): Promise<void> => {
    const path = (request.url ?? '/').split('?', 1)[0]!;
    if (path.startsWith(`/${ASSETS_PREFIX}`)) {
      counts.assets++;
      return fetchAsset(options, path, request.method === 'HEAD', sink);
    }
    counts.resolver++;
    // The cache policy's one header (the edge function's format choice) reaches the origin; the
    // viewer's others (its validators, its raw Accept among them) do not.
    const { headers: viewerHeaders, ...event } = functionUrlEvent(request);
    const format = viewerHeaders?.[FORMAT_HEADER];
    return invokeStreaming(options.resolver, { ...event, headers: format !== undefined ? { [FORMAT_HEADER]: format } : {} }, sink);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      // The detail (SDK messages, bucket URLs, file paths) goes to the terminal running serve, never into the answer.
      process.stderr.write(`cdn: ${request.method} ${request.url} failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      if (!response.headersSent) response.writeHead(502, { 'Content-Type': 'text/plain; charset=utf-8' }).end('502 Bad Gateway: the origin could not be reached or failed\n');
      else response.destroy();
    });
  });

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    // The distribution allows GET and HEAD only (AllowedMethods); CloudFront answers 403 to the rest.
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8' }).end('403 This distribution is not configured to allow the HTTP request method that was used for this request.\n');
      return;
    }
    const path = (request.url ?? '/').split('?', 1)[0]!;
    const page = options.pages?.[path.replace(/\/+$/, '')];
    if (page) {
      const html = Buffer.from(await page(), 'utf8');
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': String(html.byteLength), 'Cache-Control': 'no-store' }).end(request.method === 'HEAD' ? undefined : html);
      return;
    }
    readInvalidationLog();
    // The distribution's viewer-request CloudFront Function: the URI in its canonical spelling.
    const [rawPath = '/', query] = (request.url ?? '/').split(/\?(.*)/s);
    const canonical = canonicalUri(rawPath);
    if (canonical !== null && canonical !== rawPath) request.url = query === undefined ? canonical : `${canonical}?${query}`;
    // …and the format choice from Accept, overwriting whatever the viewer sent under that name; the
    // assets/ behavior has no function and keys on the path alone.
    const logical = !(request.url ?? '/').startsWith(`/${ASSETS_PREFIX}`);
    if (logical) request.headers[FORMAT_HEADER] = formatChoice(request.headers.accept);
    else delete request.headers[FORMAT_HEADER];
    const key = cacheKeyOf(request.url ?? '/', logical ? request.headers[FORMAT_HEADER] as string : undefined);
    let hit = fresh(cache.get(key));
    if (!hit && inFlight.has(key)) {
      // Request collapsing: wait for the miss already on its way to the origin, then use its answer.
      await inFlight.get(key);
      hit = fresh(cache.get(key));
    }
    if (hit) return serveEntry(request, response, hit);
    if (request.method === 'HEAD') return fetchFromOrigin(request, key, responseSink(response, 'Miss'));

    let finish!: () => void;
    inFlight.set(key, new Promise<void>((resolve) => (finish = resolve)));
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      let head: { status: number; headers: Record<string, string> } | undefined;
      let aborted = false;
      const client = responseSink(response, 'Miss');
      await fetchFromOrigin(request, key, {
        head: (status, headers) => {
          head = { status, headers };
          client.head(status, headers);
        },
        write: async (chunk) => {
          size += chunk.byteLength;
          if (size <= maxEntryBytes) chunks.push(Buffer.from(chunk));
          await client.write(chunk);
        },
        end: () => client.end(),
        abort: (error) => {
          aborted = true;
          client.abort(error);
        },
      });
      // What CloudFront keeps: complete 200s and error answers; never a 304 (a viewer's validator is not forwarded).
      if (head && !aborted && size <= maxEntryBytes && (head.status === 200 || head.status >= 400)) {
        const now = Date.now();
        store(key, { ...head, body: Buffer.concat(chunks), storedAt: now, expiresAt: now + ttlSeconds(head.status, head.headers) * 1000 });
      }
    } finally {
      inFlight.delete(key);
      finish();
    }
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    port,
    invalidate,
    originRequests: () => ({ ...counts }),
    cacheKeys: () => [...cache.keys()],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The path as requested and, for a logical URL, the format choice (LogicalUrlCachePolicy's one header):
 * no query string is part of the cache key (LogicalUrlCachePolicy, AssetCachePolicy).
 */
export function cacheKeyOf(url: string, formatChoice?: string): string {
  const path = url.split('?', 1)[0] || '/';
  return formatChoice === undefined ? path : `${path}\u0000${formatChoice}`;
}

/** The path a cache key was made of: what an invalidation path is matched against. */
function pathOfCacheKey(key: string): string {
  return key.split('\u0000', 1)[0]!;
}

/** How long CloudFront keeps an answer: s-maxage, else max-age, else the policy default, within its bounds; never `no-store`/`private`. */
export function ttlSeconds(status: number, headers: Record<string, string>): number {
  const cacheControl = (Object.entries(headers).find(([name]) => name.toLowerCase() === 'cache-control')?.[1] ?? '').toLowerCase();
  // no-store: the resolver's refused signatures, which the distribution's CustomErrorResponses do not cache either.
  if (/\b(no-store|private|no-cache)\b/.test(cacheControl)) return 0;
  if (status >= 500) return ERROR_CACHING_MIN_TTL;
  const directive = (name: string) => {
    const match = new RegExp(`\\b${name}=(\\d+)`).exec(cacheControl);
    return match ? Number(match[1]) : undefined;
  };
  const given = directive('s-maxage') ?? directive('max-age');
  if (status >= 400) return Math.max(given ?? 0, ERROR_CACHING_MIN_TTL);
  return Math.min(CACHE_POLICY.maxTtl, Math.max(CACHE_POLICY.minTtl, given ?? CACHE_POLICY.defaultTtl));
}

function fresh(entry: Entry | undefined): Entry | undefined {
  return entry && entry.expiresAt > Date.now() ? entry : undefined;
}

function serveEntry(request: IncomingMessage, response: ServerResponse, entry: Entry): void {
  const headers = { ...entry.headers, 'X-Cache': 'Hit from cloudfront', Age: String(Math.floor((Date.now() - entry.storedAt) / 1000)) };
  const etag = Object.entries(entry.headers).find(([name]) => name.toLowerCase() === 'etag')?.[1];
  if (entry.status === 200 && etag && request.headers['if-none-match'] === etag) {
    response.writeHead(304, headers).end();
    return;
  }
  response.writeHead(entry.status, { ...headers, 'Content-Length': String(entry.body.byteLength) }).end(request.method === 'HEAD' ? undefined : entry.body);
}

function responseSink(response: ServerResponse, cacheState: 'Miss'): ResponseSink {
  return {
    head: (status, headers) => {
      response.writeHead(status, { ...headers, 'X-Cache': `${cacheState} from cloudfront` });
    },
    // A viewer that went away fails the write, so the origin stops too (and the key's collapsed
    // waiters are released) instead of waiting for a 'drain' that never comes.
    write: (chunk) =>
      new Promise<void>((resolve, reject) => {
        if (response.destroyed || response.writableEnded) return reject(new Error('the viewer closed the connection'));
        if (response.write(chunk)) return resolve();
        const done = (error?: Error) => {
          response.off('drain', done);
          response.off('close', gone);
          if (error) reject(error);
          else resolve();
        };
        const gone = () => done(new Error('the viewer closed the connection'));
        response.once('drain', done);
        response.once('close', gone);
      }),
    end: () => response.end(),
    abort: () => response.destroy(),
  };
}

/** The S3 origin: a private bucket read through origin access control, which may GetObject under assets/ only. */
async function fetchAsset(options: CdnViewOptions, path: string, headOnly: boolean, sink: ResponseSink): Promise<void> {
  const key = keyOfUrlPath(path) ?? '';
  const ref = { bucket: options.bucket, key };
  // Only content-addressed assets live under assets/: S3 would find nothing else there, and the
  // emulator must not be asked for `..` paths that its file store could resolve elsewhere.
  const head = assetSha256(key) !== undefined ? await options.store.head(ref) : undefined;
  if (!head || head.redirectLocation !== undefined) {
    // Without s3:ListBucket, S3 answers a missing key with 403 AccessDenied, not 404 (S3 API Reference, GetObject, "Permissions").
    sink.head(403, { 'Content-Type': 'application/xml' });
    await sink.write(Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>'));
    sink.end();
    return;
  }
  const headers: Record<string, string> = {
    'Content-Type': head.contentType ?? 'application/octet-stream',
    'Content-Length': String(head.size),
    ...(head.cacheControl ? { 'Cache-Control': head.cacheControl } : {}),
    ...(head.etag ? { ETag: quoteEtag(head.etag) } : {}),
  };
  sink.head(200, headers);
  if (!headOnly) {
    const object = await options.store.openRead(ref);
    for await (const chunk of object.body) await sink.write(chunk);
  }
  sink.end();
}

/**
 * The CDN cache port locally: invalidations are appended to a file that every CDN view (`serve`, in
 * whatever process) applies before its next answer — as CloudFront applies CreateInvalidation.
 */
export class InvalidationLog implements CdnCache {
  constructor(readonly file: string) {}

  async invalidate(logicalKeys: readonly string[]): Promise<void> {
    if (logicalKeys.length === 0) return;
    await mkdir(dirname(this.file), { recursive: true });
    await appendFile(this.file, `${JSON.stringify(invalidationPaths(logicalKeys))}\n`);
  }
}
