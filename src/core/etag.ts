/**
 * ETags, one spelling for comparing and one for sending. S3 answers an ETag as an HTTP entity-tag,
 * quoted (`"<md5>"`: Amazon S3 API Reference, "Common Response Headers", ETag; RFC 9110 section
 * 8.8.3), while S3 Inventory and S3 event notifications list it bare. A weak validator (`W/"…"`) is
 * read as its tag. Pure.
 */

/** The tag without its quotes (or `W/` prefix): how ETags are stored and compared. */
export function unquoteEtag(etag: string): string;
export function unquoteEtag(etag: string | undefined): string | undefined;
export function unquoteEtag(etag: string | undefined): string | undefined {
  return etag?.replace(/^W\//, '').replace(/"/g, '');
}

/** For comparing: the bare tag, '' when there is none (S3 returns ETags quoted; S3 Inventory lists them bare). */
export function normalizeEtag(etag: string | undefined): string {
  return unquoteEtag(etag) ?? '';
}

/** As an HTTP `ETag` header: the bare tag in one pair of quotes, however it was stored. */
export function quoteEtag(etag: string): string {
  return `"${unquoteEtag(etag)}"`;
}
