/**
 * ListObjectsV2 on the local S3, answered here rather than by s3rver, whose continuation tokens are
 * DES-encrypted: Node.js 17+ (OpenSSL 3) has no DES, so s3rver answered any listing of more than
 * 1,000 keys with 500 InternalError — a local run of more than 1,000 photos failed as it listed its
 * source bucket. As S3 does (S3 API Reference, "ListObjectsV2"): at most MaxKeys (1,000) keys and
 * common prefixes a page, in UTF-8 binary order, an opaque NextContinuationToken while truncated,
 * Prefix, Delimiter, StartAfter and EncodingType=url.
 *
 * Objects are files named by their key's hash (object-files.ts): a listing reads every trailer of
 * the bucket once, and the pages after the first reuse those trailers as long as nothing was
 * written or deleted since (the store's generation), so listing N objects reads N trailers, not
 * N²/1,000.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ObjectFileStore, Trailer } from './object-files';

const PAGE = 1000;
const KEPT_LISTINGS = 4;

interface Listing {
  id: string;
  bucket: string;
  generation: number;
  /** Sorted by key, UTF-8 binary order. */
  objects: Trailer[];
}

const utf8Order = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

export class ListObjectsV2Answer {
  private readonly listings: Listing[] = [];

  constructor(private readonly store: ObjectFileStore) {}

  /** Answers `GET /<bucket>?list-type=2…` (true); leaves every other request to s3rver (false). */
  async answer(request: IncomingMessage, response: ServerResponse): Promise<boolean> {
    if (request.method !== 'GET') return false;
    const url = new URL(request.url ?? '/', 'http://local');
    if (url.searchParams.get('list-type') !== '2') return false;
    const path = url.pathname.replace(/^\/+/, '').replace(/\/$/, '');
    if (!path || path.includes('/')) return false;
    const bucket = decodeURIComponent(path);
    const query = url.searchParams;
    if (!(await this.store.getBucket(bucket))) {
      return reply(response, 404, `<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>${xml(bucket)}</BucketName></Error>`);
    }
    const maxKeysText = query.get('max-keys');
    if (maxKeysText !== null && !/^\d+$/.test(maxKeysText)) {
      return reply(response, 400, `<Error><Code>InvalidArgument</Code><Message>Provided max-keys not an integer or within integer range</Message><ArgumentName>max-keys</ArgumentName></Error>`);
    }
    const maxKeys = Math.min(PAGE, maxKeysText === null ? PAGE : Number(maxKeysText));
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const urlEncoded = query.get('encoding-type') === 'url';
    const token = query.get('continuation-token');
    let after: { value: string; isPrefix: boolean } | undefined;
    let listing: Listing | undefined;
    if (token) {
      const decoded = decodeToken(token);
      if (!decoded) {
        return reply(response, 400, `<Error><Code>InvalidArgument</Code><Message>The continuation token provided is incorrect</Message><ArgumentName>continuation-token</ArgumentName></Error>`);
      }
      after = decoded.after;
      listing = this.listings.find((l) => l.id === decoded.id && l.bucket === bucket && l.generation === this.store.generation);
    } else if (query.get('start-after')) {
      after = { value: query.get('start-after')!, isPrefix: false };
    }
    listing ??= await this.take(bucket);

    const contents: Trailer[] = [];
    const prefixes: string[] = [];
    let index = after ? firstAfter(listing.objects, after.value) : firstAfter(listing.objects, prefix, true);
    let truncated = false;
    let last: { value: string; isPrefix: boolean } | undefined;
    for (; index < listing.objects.length; index++) {
      const object = listing.objects[index]!;
      if (!object.key.startsWith(prefix)) {
        if (utf8Order(object.key, prefix) > 0) break;
        continue;
      }
      if (after?.isPrefix && object.key.startsWith(after.value)) continue;
      const cut = delimiter ? object.key.indexOf(delimiter, prefix.length) : -1;
      const entry = cut >= 0 ? { value: object.key.slice(0, cut + delimiter.length), isPrefix: true } : { value: object.key, isPrefix: false };
      if (entry.isPrefix && (prefixes[prefixes.length - 1] === entry.value || last?.value === entry.value)) continue;
      if (contents.length + prefixes.length >= maxKeys) {
        truncated = maxKeys > 0;
        break;
      }
      if (entry.isPrefix) prefixes.push(entry.value);
      else contents.push(object);
      last = entry;
    }
    const encode = (text: string) => xml(urlEncoded ? encodeURIComponent(text).replace(/%2F/g, '/') : text);
    const body = [
      `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`,
      `<Name>${xml(bucket)}</Name>`,
      `<Prefix>${encode(prefix)}</Prefix>`,
      query.get('start-after') && !token ? `<StartAfter>${encode(query.get('start-after')!)}</StartAfter>` : '',
      token ? `<ContinuationToken>${xml(token)}</ContinuationToken>` : '',
      `<KeyCount>${contents.length + prefixes.length}</KeyCount>`,
      `<MaxKeys>${maxKeys}</MaxKeys>`,
      delimiter ? `<Delimiter>${encode(delimiter)}</Delimiter>` : '',
      `<IsTruncated>${truncated}</IsTruncated>`,
      truncated && last ? `<NextContinuationToken>${xml(encodeToken(listing.id, last))}</NextContinuationToken>` : '',
      urlEncoded ? '<EncodingType>url</EncodingType>' : '',
      ...contents.map(
        (object) =>
          `<Contents><Key>${encode(object.key)}</Key><LastModified>${new Date(object.lastModified).toISOString()}</LastModified><ETag>&quot;${object.md5}&quot;</ETag><Size>${object.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
      ),
      ...prefixes.map((value) => `<CommonPrefixes><Prefix>${encode(value)}</Prefix></CommonPrefixes>`),
      '</ListBucketResult>',
    ].join('');
    return reply(response, 200, body);
  }

  /** Every object of the bucket now, sorted; kept for the pages that follow. */
  private async take(bucket: string): Promise<Listing> {
    const generation = this.store.generation;
    const objects = (await this.store.objectsOf(bucket)).sort((a, b) => utf8Order(a.key, b.key));
    const listing: Listing = { id: randomBytes(6).toString('hex'), bucket, generation, objects };
    this.listings.unshift(listing);
    this.listings.length = Math.min(this.listings.length, KEPT_LISTINGS);
    return listing;
  }
}

/** Index of the first object whose key sorts after `value` (or at it, when `inclusive`). */
function firstAfter(objects: readonly Trailer[], value: string, inclusive = false): number {
  let low = 0;
  let high = objects.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const order = utf8Order(objects[middle]!.key, value);
    if (order < 0 || (!inclusive && order === 0)) low = middle + 1;
    else high = middle;
  }
  return low;
}

function encodeToken(id: string, after: { value: string; isPrefix: boolean }): string {
  return Buffer.from(JSON.stringify({ l: id, a: after.value, p: after.isPrefix }), 'utf8').toString('base64url');
}

function decodeToken(token: string): { id: string; after: { value: string; isPrefix: boolean } } | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { l?: unknown; a?: unknown; p?: unknown };
    if (typeof parsed.l !== 'string' || typeof parsed.a !== 'string') return undefined;
    return { id: parsed.l, after: { value: parsed.a, isPrefix: parsed.p === true } };
  } catch {
    return undefined;
  }
}

/** XML text: markup characters escaped; control characters (not allowed raw in XML 1.0) as character references, as S3 writes them. */
function xml(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[&<>"'\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? `&#${c.charCodeAt(0)};`);
}

function reply(response: ServerResponse, status: number, body: string): true {
  response.writeHead(status, { 'Content-Type': 'application/xml' });
  response.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
  return true;
}
