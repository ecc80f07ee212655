/**
 * Keeping the CDN right after a change: the logical URLs live sync re-points or removes are
 * invalidated, so the CDN's long lifetime for them (config `delivery.cdnSeconds`) never serves a
 * replaced or deleted photo for long.
 *
 * Paths follow CloudFront's rules (CloudFront Developer Guide, "What you need to know when
 * invalidating paths"): they start with `/`, are case sensitive, name the URL as viewers request it
 * (each key segment percent-encoded as the README tells pages to build URLs). No query string is part
 * of the cache key, so one path per logical URL covers it, and no wildcard is needed (CloudFront allows
 * only 15 wildcard paths in progress at once). A literal `*` in a key is encoded: it can never act as one.
 */
/** The CDN cache, as the steps see it (CloudFront on AWS, `serve`'s CDN view locally). */
export interface CdnCache {
  /** Drops what the CDN holds for these logical keys. Best effort: a failure is logged, not thrown. */
  invalidate(logicalKeys: readonly string[]): Promise<void>;
}

/** A key as a URL path: each segment percent-encoded (and `*`, which CloudFront would take as a wildcard), '/' kept. */
export function encodeKeyPath(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/\*/g, '%2A'))
    .join('/');
}

/** The invalidation paths of these logical keys: `/<encoded key>` each. */
export function invalidationPaths(logicalKeys: readonly string[]): string[] {
  return [...new Set(logicalKeys.map((key) => `/${encodeKeyPath(key)}`))].sort();
}

/** Whether an invalidation path covers a cache key: exactly, or by the prefix before a final `*` (query strings included). */
export function invalidationMatches(path: string, cacheKey: string): boolean {
  return path.endsWith('*') ? cacheKey.startsWith(path.slice(0, -1)) : cacheKey === path;
}
