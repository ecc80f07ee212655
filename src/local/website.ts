/**
 * The library bucket as an S3 *website* on 127.0.0.1: a pointer (an object with
 * WebsiteRedirectLocation) answers 301 to its asset, an asset answers 200, a missing key 404 —
 * unless a routing rule (S3's RoutingRules, same fields) redirects it, e.g. a miss under
 * `dynamic/` → 307 to the on-demand API.
 *
 * A website endpoint serves GET and HEAD on the objects of its own bucket only (S3 User Guide,
 * "Website endpoints", "Key differences between a website endpoint and a REST API endpoint"), and a
 * key is a literal string in a flat namespace (S3 User Guide, "Naming Amazon S3 objects"): `..` names
 * no parent, `%2e%2e` is decoded once and no more, a backslash is a character. Nothing here resolves
 * paths: the path, decoded once, is a key of the library bucket. A failure answers a fixed text; its
 * detail goes to this process's stderr (the terminal running `serve`), never into the answer.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { keyOfUrlPath } from '../core/cdn';
import { quoteEtag } from '../core/etag';
import type { ObjectStore } from '../core/ports';
import { MAX_KEY_BYTES } from './emulators';

export interface Website {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** An S3 website RoutingRule (the fields photo-scaler uses). */
export interface RoutingRule {
  RoutingRuleCondition: { KeyPrefixEquals?: string; HttpErrorCodeReturnedEquals?: string };
  RedirectRule: { HostName?: string; Protocol?: 'http' | 'https'; HttpRedirectCode?: string; ReplaceKeyPrefixWith?: string };
}

export interface WebsiteOptions {
  store: ObjectStore;
  bucket: string;
  port?: number;
  host?: string;
  routingRules?: RoutingRule[];
  /** Pages that are not objects of the bucket (e.g. `/_report`), by exact path; HTML. */
  pages?: Record<string, () => Promise<string>>;
}

export async function startWebsite(options: WebsiteOptions): Promise<Website> {
  const server = createServer((request, response) => {
    serveObject(options, request, response).catch((error: unknown) => {
      process.stderr.write(`website: ${request.method} ${request.url} failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      if (!response.headersSent) send(response, 500, '500 Internal Server Error: InternalError: We encountered an internal error. Please try again.');
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const { port, address } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function serveObject(options: WebsiteOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return send(response, 405, '405 Method Not Allowed', { Allow: 'GET, HEAD' });
  const page = options.pages?.[(request.url ?? '/').split('?', 1)[0]!.replace(/\/+$/, '')];
  if (page) {
    const html = Buffer.from(await page(), 'utf8');
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': String(html.byteLength), 'Cache-Control': 'no-store' }).end(request.method === 'HEAD' ? undefined : html);
    return;
  }
  const key = keyOfUrlPath(request.url ?? '/');
  if (key === undefined) return send(response, 400, '400 Bad Request: the path is not valid URL encoding');
  if (key === '') return send(response, 200, 'photo-scaler library website: GET /<key>, /<preset>/<key> or /assets/...');
  // S3 refuses a key over 1,024 bytes (S3 User Guide, "Naming Amazon S3 objects") with 400
  // KeyTooLongError (Amazon S3 API Reference, "Error responses").
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) return send(response, 400, '400 Bad Request: KeyTooLongError: Your key is too long');
  const ref = { bucket: options.bucket, key };
  // A key with a `.`/`..` segment or a control character is never in the library (the batch refuses
  // such source keys: validateSourceKey), so it is not found, as on S3 — and the local S3 is not even
  // asked for it, whatever its store might make of such a path.
  const head = mayHold(key) ? await options.store.head(ref) : undefined;
  if (!head) {
    const rule = (options.routingRules ?? []).find(
      (r) => key.startsWith(r.RoutingRuleCondition.KeyPrefixEquals ?? '') && (r.RoutingRuleCondition.HttpErrorCodeReturnedEquals ?? '404') === '404',
    );
    if (!rule) return send(response, 404, `404 Not Found: NoSuchKey ${printable(key)}`);
    return send(response, Number(rule.RedirectRule.HttpRedirectCode ?? '301'), 'Redirect', { Location: redirectLocation(rule, key, request) });
  }
  if (head.redirectLocation) {
    return send(response, 301, `301 Moved Permanently: ${head.redirectLocation}`, {
      Location: head.redirectLocation,
      ...(head.cacheControl ? { 'Cache-Control': head.cacheControl } : {}),
    });
  }
  const etag = head.etag ? quoteEtag(head.etag) : undefined;
  const headers: Record<string, string> = {
    'Content-Type': head.contentType ?? 'application/octet-stream',
    'Content-Length': String(head.size),
    ...(head.cacheControl ? { 'Cache-Control': head.cacheControl } : {}),
    ...(etag ? { ETag: etag } : {}),
  };
  if (etag && request.headers['if-none-match'] === etag) {
    response.writeHead(304, headers).end();
    return;
  }
  if (request.method === 'HEAD') {
    response.writeHead(200, headers).end();
    return;
  }
  const object = await options.store.get(ref);
  response.writeHead(200, { ...headers, 'Content-Length': String(object.body.byteLength) }).end(Buffer.from(object.body));
}

/** Where S3 sends a request a routing rule matched: same path (prefix replaced), same query string. */
function redirectLocation(rule: RoutingRule, key: string, request: IncomingMessage): string {
  const { KeyPrefixEquals: prefix = '' } = rule.RoutingRuleCondition;
  const { ReplaceKeyPrefixWith, HostName, Protocol = 'http' } = rule.RedirectRule;
  const newKey = ReplaceKeyPrefixWith !== undefined ? ReplaceKeyPrefixWith + key.slice(prefix.length) : key;
  const query = (request.url ?? '').includes('?') ? `?${(request.url ?? '').split('?').slice(1).join('?')}` : '';
  // `.` and `..` segments escaped too: the key stays literal, no client resolves them away.
  const path = `/${newKey.split('/').map((segment) => encodeURIComponent(segment).replace(/^\.{1,2}$/, (dots) => '%2E'.repeat(dots.length))).join('/')}${query}`;
  return HostName ? `${Protocol}://${HostName}${path}` : path;
}

/** Whether the library can hold this key at all: no `.` or `..` segment, no control character. */
function mayHold(key: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[\u0000-\u001f\u007f]/.test(key) && !key.split('/').some((segment) => segment === '.' || segment === '..');
}

/** A requested key as an answer may echo it: control characters escaped. */
function printable(key: string): string {
  // eslint-disable-next-line no-control-regex
  return key.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function send(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers }).end(`${text}\n`);
}
