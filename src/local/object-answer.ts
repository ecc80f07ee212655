/**
 * GetObject, HeadObject and PutObject of the local stack's own SDK clients, answered here instead of by
 * s3rver's Koa stack, with the same answers: the same store (object-files.ts), the same object model
 * (s3rver's S3Object: allowed metadata, the default Content-Type, the storage classes) and the same
 * headers. Measured (npm run bench, `onDemandSpeed.steps.emulatorCalls` and `pipelineOverCore`): each
 * request through s3rver cost 2–3 ms of the main thread — its logger, XML and vhost middlewares, the
 * router, the signature check, the website middleware, a stat of the bucket directory per request — and
 * a local run or an on-demand size makes dozens.
 *
 * Taken here only what is plain and known:
 * - requests of the in-process transport (in-process.ts): this process's own clients, which signed
 *   them with the emulator's credentials; anything over a socket (a browser, the CDN view, `curl`,
 *   `PHOTO_SCALER_EMULATOR_TRANSPORT=http`) goes through s3rver whole, signature check included;
 * - path-style `/<bucket>/<key>`, no query string but the SDK's `x-id=<operation>`, no `Range`, no
 *   conditional header (`If-*`, but a PUT's `If-None-Match: *`, which the gate before this one has
 *   answered when the key exists), no `Origin` (CORS), no `x-amz-copy-source`, a key with no empty
 *   segment that does not end in `/`;
 * - GET and HEAD in a bucket that exists (of a missing object: s3rver's NoSuchKey answer); PUT into
 *   a bucket that exists, with a valid website redirect location and storage class when given.
 * Everything else — a missing bucket, a bad header — is left to s3rver, whose answers are the model
 * of these (test/local/object-answer.test.ts compares them). The gates before this one (faults, long
 * keys, a full disk, `If-None-Match: *`) apply to these requests as to any other.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { decodeUrlPath } from '../core/cdn';
import { isInProcess } from './in-process';
import type { ObjectFileStore } from './object-files';

const require = createRequire(import.meta.url);
const S3Object = require('s3rver/lib/models/object') as {
  new (bucket: string, key: string, content: unknown, metadata: Record<string, unknown>): { metadata: Record<string, string> };
  STORAGE_CLASSES: string[];
};

interface S3ErrorLike {
  status: number;
  toXML(): string;
}
const S3Error = require('s3rver/lib/models/error') as {
  new (code: string, message: string, detail: Record<string, string>): S3ErrorLike;
  fromError(error: unknown): S3ErrorLike;
};

/** The query the SDK sends with each operation (none with HeadObject). */
const OPERATION: Record<string, string | undefined> = { GET: 'x-id=GetObject', PUT: 'x-id=PutObject', HEAD: undefined };

/** s3rver's own check of `x-amz-website-redirect-location` (middleware/website.js). */
const REDIRECT_LOCATION = /^(https?:\/)?\//;

/** Request headers whose meaning s3rver implements beyond a plain read or write: left to it. */
function hasSpecialHeader(request: IncomingMessage): boolean {
  const headers = request.headers;
  if (headers.range !== undefined || headers.origin !== undefined || headers['x-amz-copy-source'] !== undefined) return true;
  for (const name of Object.keys(headers)) {
    // `If-None-Match: *` on a PUT was answered by the gate before this one (412 when the key exists,
    // emulators.ts refuseExistingObject): what reaches here is a plain write of a new object.
    if (name === 'if-none-match' && request.method === 'PUT' && headers[name] === '*') continue;
    if (name.startsWith('if-')) return true;
  }
  const redirect = headers['x-amz-website-redirect-location'];
  if (redirect !== undefined && (request.method !== 'PUT' || !REDIRECT_LOCATION.test(String(redirect)))) return true;
  const storageClass = headers['x-amz-storage-class'];
  return storageClass !== undefined && !S3Object.STORAGE_CLASSES.includes(String(storageClass));
}

/**
 * An error as s3rver's onerror answers it: its status, its XML and that XML's length (a HEAD's answer
 * drops the body), and no x-amz-error-* header.
 */
function answerError(response: ServerResponse, error: S3ErrorLike): void {
  const xml = error.toXML();
  response.writeHead(error.status, { 'Content-Type': 'application/xml', 'Content-Length': String(Buffer.byteLength(xml)) });
  response.end(xml);
}

/** `Cache-Control` from `cache-control`, `X-Amz-Meta-Sha256` from `x-amz-meta-sha256`: as s3rver names them. */
function capitalized(header: string): string {
  return header
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('-');
}

export class ObjectAnswer {
  /** Requests answered here so far (a test tells them from s3rver's). */
  answered = 0;

  constructor(private readonly store: ObjectFileStore) {}

  /** Answers a plain GET, HEAD or PUT of an object (true); leaves every other request to s3rver (false). */
  async answer(request: IncomingMessage, response: ServerResponse): Promise<boolean> {
    const method = request.method;
    if (method !== 'GET' && method !== 'HEAD' && method !== 'PUT') return false;
    const [path = '/', query] = (request.url ?? '/').split('?', 2) as [string, string | undefined];
    // The SDK names the operation in the query (`?x-id=GetObject`, `?x-id=PutObject`), which s3rver
    // ignores; any other query parameter is a subresource or an override: s3rver's.
    if (query !== undefined && query !== OPERATION[method]) return false;
    const slash = path.indexOf('/', 1);
    // An empty segment (`x//y.jpg`, `//lead.jpg`) is a key s3rver's router does not take (its `:key+`
    // has no empty segment): it is s3rver's to refuse, not this module's to store.
    if (!isInProcess(request) || !path.startsWith('/') || slash < 0 || path.endsWith('/') || path.includes('//')) return false;
    const bucket = decodeUrlPath(path.slice(1, slash));
    const key = decodeUrlPath(path.slice(slash + 1));
    if (!bucket || !key || hasSpecialHeader(request) || !(await this.store.getBucket(bucket))) return false;
    return method === 'PUT' ? this.put(request, response, bucket, key) : this.get(request, response, bucket, key);
  }

  private async get(request: IncomingMessage, response: ServerResponse, bucket: string, key: string): Promise<boolean> {
    const found = await this.store.readObject(bucket, key, request.method === 'GET');
    this.answered++;
    request.resume();
    if (!found) {
      // s3rver's getObject throws this for a missing key (a pointer's HEAD before its first write is one).
      answerError(response, new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key }));
      return true;
    }
    const headers: Record<string, string> = { 'Accept-Ranges': 'bytes' };
    for (const [name, value] of Object.entries(this.store.headersOf(bucket, key, found.trailer))) headers[capitalized(name)] = String(value);
    response.writeHead(200, headers);
    const body = found.body;
    if (body === undefined || Buffer.isBuffer(body)) response.end(body);
    else body.once('error', (error) => response.destroy(error)).pipe(response);
    return true;
  }

  private async put(request: IncomingMessage, response: ServerResponse, bucket: string, key: string): Promise<boolean> {
    const object = new S3Object(bucket, key, request, request.headers as Record<string, unknown>);
    this.answered++;
    let md5: string;
    try {
      ({ md5 } = await this.store.putObject(object as never));
    } catch (error) {
      // A store that throws: s3rver's onerror makes it 500 InternalError (S3Error.fromError).
      answerError(response, S3Error.fromError(error));
      return true;
    }
    response.writeHead(200, { ETag: `"${md5}"`, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': '0' });
    response.end();
    return true;
  }
}
