/**
 * The key scheme of the library bucket (fixed: users' scripts and later checks rely on it).
 *   asset:    assets/<h0h1>/<h2h3>/<h4h5>/<sha256-hex>.<ext>   immutable, content-addressed
 *   pointer:  <source key>            -> /<asset key of the original>
 *             <preset>/<source key>   -> /<asset key of the crop>
 */
import { PhotoError } from './errors';
import { ASSETS_PREFIX, dynamicName, LIBRARY_PREFIXES } from './layout';

const SHA256_HEX = /^[0-9a-f]{64}$/;
const EXT = /^[a-z0-9]{1,5}$/;
/** S3's longest key, in UTF-8 bytes (S3 User Guide, "Naming Amazon S3 objects"). */
export const MAX_KEY_BYTES = 1024;

export function assetKey(sha256: string, ext: string): string {
  if (!SHA256_HEX.test(sha256)) throw new Error(`not a sha-256 hex digest: ${sha256}`);
  if (!EXT.test(ext)) throw new Error(`bad asset extension: ${ext}`);
  return `${ASSETS_PREFIX}${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256.slice(4, 6)}/${sha256}.${ext}`;
}

/** `assets/<2 hex>/<2 hex>/<2 hex>/<sha256>.<ext>`, as assetKey writes it (shards not checked against the hash). */
const ASSET_KEY = new RegExp(`^${ASSETS_PREFIX}[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{2}/([0-9a-f]{64})\\.[a-z0-9]{1,5}$`);

/** The sha-256 an asset key names, or undefined when the key is not named as assets are. */
export function assetSha256(key: string): string | undefined {
  return ASSET_KEY.exec(key)?.[1];
}

/** Bytes the longest derived key adds in front of a source key: `<preset>/` or `dynamic/<size>/`. */
export function derivedPrefixBytes(presetNames: readonly string[], dynamicSizes: readonly string[]): number {
  const prefixes = [...presetNames.map((name) => `${name}/`), ...dynamicSizes.map((size) => `${dynamicName(size)}/`)];
  return Math.max(0, ...prefixes.map((prefix) => Buffer.byteLength(prefix, 'utf8')));
}

/** The logical key of a crop. */
export function cropKey(preset: string, sourceKey: string): string {
  return `${preset}/${sourceKey}`;
}

/** Value of a pointer's WebsiteRedirectLocation. */
export function pointerTarget(assetKeyValue: string): string {
  return `/${assetKeyValue}`;
}

/**
 * A source key becomes a logical key in the library bucket, so it must not be one of our own
 * prefixes (`thumb/x.jpg` would collide with the thumb crop of `x.jpg`). Refused keys are recorded
 * FAILED with this message; nothing is written for them.
 */
export function validateSourceKey(key: string, presetNames: readonly string[], derivedPrefixBytes = 0): void {
  if (key.length === 0) throw new PhotoError('key-refused', 'empty key');
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) throw new PhotoError('key-refused', `key longer than ${MAX_KEY_BYTES} bytes`);
  // S3 refuses longer keys (S3 User Guide, "Naming Amazon S3 objects"): every key derived from this
  // one (`<preset>/<key>`, `dynamic/<size>/<key>`) must fit too, or some of its writes would fail
  // after others were made.
  if (bytes + derivedPrefixBytes > MAX_KEY_BYTES) {
    throw new PhotoError('key-refused', `key of ${bytes} bytes is too long for its derived keys: the longest, with its ${derivedPrefixBytes}-byte prefix, would exceed S3's ${MAX_KEY_BYTES} bytes (at most ${MAX_KEY_BYTES - derivedPrefixBytes} bytes)`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) throw new PhotoError('key-refused', 'key contains control characters');
  if (key.startsWith('/')) throw new PhotoError('key-refused', 'key starts with "/"');
  if (key.split('/').some((segment) => segment === '..' || segment === '.')) throw new PhotoError('key-refused', 'key contains "." or ".." segments');
  const collision = layoutCollision(key, presetNames);
  if (collision) throw new PhotoError('key-refused', collision);
}

/** Why a key collides with the library's layout (its first folder is a library prefix or a preset name), or undefined. */
export function layoutCollision(key: string, presetNames: readonly string[]): string | undefined {
  const first = key.split('/', 1)[0] ?? '';
  if (!key.includes('/') || !(LIBRARY_PREFIXES.includes(first) || presetNames.includes(first))) return undefined;
  return `key starts with "${first}/", a prefix the library uses for ${LIBRARY_PREFIXES.includes(first) ? 'its own objects' : 'the crops of that preset'}`;
}
