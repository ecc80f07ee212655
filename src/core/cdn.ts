/**
 * Keeping the CDN right after a change: the logical URLs live sync re-points or removes are
 * invalidated, so the CDN's long lifetime for them (config `delivery.cdnSeconds`) never serves a
 * replaced or deleted photo for long.
 *
 * One spelling per logical URL. A viewer may percent-encode a key in many ways (`%2B` or `+`, `%7E`
 * or `~`, `//small/…`), and each spelling would be a cache entry of its own: a miss to pay for, and a
 * copy an invalidation of another spelling does not reach. So the distribution's viewer-request
 * CloudFront Function rewrites every request URI to its canonical spelling (canonicalUri) before the
 * cache is consulted, the resolver answers only that spelling, and invalidations name it (CloudFront
 * Developer Guide, "What you need to know when invalidating paths": invalidate "the URI after the
 * function changed it"). No query string is part of the cache key, so one path per logical URL covers
 * it, and no wildcard is needed (CloudFront allows only 15 wildcard paths in progress at once).
 */
import { DYNAMIC, VARIANT_FORMATS } from './layout';

/** The CDN cache, as the steps see it (CloudFront on AWS, `serve`'s CDN view locally). */
export interface CdnCache {
  /** Drops what the CDN holds for these logical keys. Best effort: a failure is logged, not thrown. */
  invalidate(logicalKeys: readonly string[]): Promise<void>;
}

/**
 * The canonical spelling of a request URI: percent-decoded, leading slashes collapsed to one, then
 * encoded again with everything escaped but the letters, digits, `-._~` and the characters a path
 * segment may hold as they are (`!$&'()+,;=:@` and `/`); `*` is escaped too, as CloudFront would take
 * it for a wildcard in an invalidation path. Null when the escapes are malformed.
 *
 * It runs unchanged as the distribution's CloudFront Function (cloudfront-js-2.0, built from this very
 * function by scripts/cloudfront-functions.cjs): self-contained, no imports, no named inner functions.
 */
export function canonicalUri(uri: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(uri);
  } catch (error) {
    return null;
  }
  const key = decoded.replace(/^\/+/, '');
  const encoded = encodeURIComponent(key)
    .replace(/%(2F|24|26|2B|2C|3B|3D|3A|40)/g, (escape, hex) => String.fromCharCode(parseInt(hex, 16)))
    .replace(/\*/g, '%2A');
  return '/' + encoded;
}

/** A key as a URL path, in its canonical spelling (canonicalUri), without the leading '/'. */
export function encodeKeyPath(key: string): string {
  return canonicalUri('/' + encodeURIComponent(key))!.slice(1);
}

/**
 * A URL path's percent-escapes undone, as RFC 3986 reads them: `+` stays a plus (unlike S3 Inventory's
 * form encoding, decodeInventoryKey). Undefined when the escapes are malformed.
 */
export function decodeUrlPath(encoded: string): string | undefined {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
}

/** `/small/trips/a%20b.jpg?x=1` → `small/trips/a b.jpg`: the key a request names; undefined when the escapes are malformed. */
export function keyOfUrlPath(url: string): string | undefined {
  return decodeUrlPath(url.split('?', 1)[0]!.replace(/^\/+/, ''));
}

/**
 * The invalidation paths of these logical keys: `/<encoded key>` each, and for a variant's key
 * (`small.webp/<key>`, `dynamic/300x200.webp/<key>`) also the URL it is negotiated at
 * (`/small/<key>`, `/dynamic/300x200/<key>`): CloudFront caches each choice of Accept under that path
 * (src/core/negotiate.ts), and an invalidation of a path drops every one of them. A preset name has
 * no dot (layout.ts), so only a folder of originals named like one (`x.webp/`) adds a needless path.
 */
export function invalidationPaths(logicalKeys: readonly string[]): string[] {
  return [...new Set(logicalKeys.flatMap((key) => [key, ...negotiatedKeyOf(key)]).map((key) => `/${encodeKeyPath(key)}`))].sort();
}

const VARIANT_KEY = new RegExp(`^(${DYNAMIC}/[^/.]+|[^/.]+)\\.(?:${VARIANT_FORMATS.join('|')})/(.+)$`, 's');

/** `small.webp/a.jpg` → `small/a.jpg`, `dynamic/300x200.avif/a.jpg` → `dynamic/300x200/a.jpg`; none for any other key. */
export function negotiatedKeyOf(logicalKey: string): string[] {
  const match = VARIANT_KEY.exec(logicalKey);
  return match ? [`${match[1]}/${match[2]}`] : [];
}

/** Whether an invalidation path covers a cache key: exactly, or by the prefix before a final `*` (query strings included). */
export function invalidationMatches(path: string, cacheKey: string): boolean {
  return path.endsWith('*') ? cacheKey.startsWith(path.slice(0, -1)) : cacheKey === path;
}
