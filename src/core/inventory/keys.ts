/**
 * S3 Inventory's key encoding: keys in the CSV (and in S3 event notifications) are URL-encoded, form
 * style ('+' is a space). Pure.
 */

/** S3 Inventory's key encoding, undone: '+' is a space, %XX are UTF-8 bytes ('/' may be plain or %2F). Throws URIError on malformed escapes. */
export function decodeInventoryKey(encoded: string): string {
  return decodeURIComponent(encoded.replace(/\+/g, ' '));
}

/**
 * The key for reading and reporting: decoded when it decodes, else as it came (a key whose escapes
 * are malformed is still named, in logs, results and audits, by what the report or event held).
 */
export function decodeInventoryKeyOrRaw(encoded: string): string {
  try {
    return decodeInventoryKey(encoded);
  } catch {
    return encoded;
  }
}

/** The inverse: encodeURIComponent with spaces as '+'; '/' is kept as is (decoding accepts %2F too). */
export function encodeInventoryKey(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');
}
