/** The original of one item: its decoded key, and its bytes read from the source bucket. */
import { createHash } from 'node:crypto';
import type { StepContext } from './context';
import { NotFoundError, PhotoError, tooLarge } from './errors';
import { decodeInventoryKey } from './inventory/keys';
import type { InventoryItem } from './item';
import { derivedPrefixBytes, validateSourceKey } from './keys';
import { variantName } from './layout';
import { parseSize } from './presets';
import { type ImageType, looksLikeSvg, sniffImage } from './sniff';

export interface SourceRef {
  bucket: string;
  /** Decoded key. */
  key: string;
  etag?: string;
  size?: number;
}

export interface Original {
  body: Uint8Array;
  etag: string;
  type: ImageType;
}

/** The bytes the longest key derived from a source key adds, for this configuration (presets, on-demand sizes). */
export function derivedPrefixOf(context: Pick<StepContext, 'presets' | 'config'>): number {
  const formats = context.config.onDemand.formats ?? [];
  // A variant of a size (`dynamic/300x200.webp/<key>`) is a derived key too.
  const sizes = context.config.onDemand.sizes.map((size) => parseSize(size)?.text ?? size).flatMap((size) => [size, ...formats.map((format) => variantName(size, format))]);
  return derivedPrefixBytes(context.presets.map((preset) => preset.name), sizes);
}

/** Decodes and validates the item's key. Throws PhotoError for a key that can never be stored. */
export function sourceOf(item: InventoryItem, presetNames: readonly string[], prefixBytes = 0): SourceRef {
  if (!item || typeof item.bucket !== 'string' || typeof item.key !== 'string') throw new PhotoError('key-refused', 'item has no bucket or key');
  let key: string;
  try {
    key = decodeInventoryKey(item.key);
  } catch {
    throw new PhotoError('key-refused', `key is not valid URL encoding: ${item.key}`);
  }
  validateSourceKey(key, presetNames, prefixBytes);
  const size = item.size === undefined || item.size === '' ? undefined : Number(item.size);
  return { bucket: item.bucket, key, etag: item.etag, size: Number.isFinite(size) ? size : undefined };
}

/** Reads the original; refuses what is too big, empty, gone or not an image, before any write. */
export async function readOriginal(context: StepContext, source: SourceRef): Promise<Original> {
  const { maxInputBytes } = context.config.limits;
  if (source.size !== undefined && source.size > maxInputBytes) {
    throw tooLarge(source.size, maxInputBytes);
  }
  let object;
  try {
    // An object larger now than its inventory row said is refused before its body is read.
    object = await context.store.get({ bucket: source.bucket, key: source.key }, { maxBytes: maxInputBytes });
  } catch (error) {
    if (error instanceof NotFoundError) throw new PhotoError('gone', `source object is gone: s3://${source.bucket}/${source.key}`);
    throw error;
  }
  if (object.body.byteLength === 0) throw new PhotoError('empty', 'empty file (0 bytes)');
  if (object.body.byteLength > maxInputBytes) throw tooLarge(object.body.byteLength, maxInputBytes);
  const type = sniffImage(object.body);
  if (!type && looksLikeSvg(object.body)) throw new PhotoError('unsupported', 'refused: SVG (vector images can reference external files; only raster photos are migrated)');
  if (!type) throw new PhotoError('not-an-image', 'not an image: unrecognised file format');
  return { body: object.body, etag: object.etag ?? source.etag ?? '', type };
}

export interface InspectedOriginal {
  sha256: string;
  bytes: number;
  etag: string;
  type: ImageType;
}

/** Bytes of the head kept to recognise the format (sniffImage reads up to 256, for an `ftyp` box's brands; looksLikeSvg 1,024). */
const HEAD_BYTES = 1024;

/**
 * The original's sha-256, size and format, read as a stream: Dedupe (512 MB) hashes originals of up
 * to `limits.maxInputBytes` (200 MB) without ever holding one whole. Refuses what readOriginal
 * refuses — too big (the stream is left as soon as the limit is passed), empty, gone, not an image —
 * and a non-image as soon as its first kilobyte is in.
 */
export async function inspectOriginal(context: StepContext, source: SourceRef): Promise<InspectedOriginal> {
  const { maxInputBytes } = context.config.limits;
  if (source.size !== undefined && source.size > maxInputBytes) throw tooLarge(source.size, maxInputBytes);
  let stream;
  try {
    stream = await context.store.openRead({ bucket: source.bucket, key: source.key });
  } catch (error) {
    if (error instanceof NotFoundError) throw new PhotoError('gone', `source object is gone: s3://${source.bucket}/${source.key}`);
    throw error;
  }
  if (stream.size !== undefined && stream.size > maxInputBytes) throw tooLarge(stream.size, maxInputBytes);
  const hash = createHash('sha256');
  let head: Uint8Array = new Uint8Array(0);
  let type: ImageType | undefined;
  let bytes = 0;
  const recognise = () => {
    type = sniffImage(head);
    if (!type && looksLikeSvg(head)) throw new PhotoError('unsupported', 'refused: SVG (vector images can reference external files; only raster photos are migrated)');
    if (!type) throw new PhotoError('not-an-image', 'not an image: unrecognised file format');
  };
  for await (const chunk of stream.body) {
    bytes += chunk.byteLength;
    if (bytes > maxInputBytes) throw new PhotoError('too-large', `too large: more than ${maxInputBytes} bytes, the limit`);
    if (!type && head.byteLength < HEAD_BYTES) {
      head = concat(head, chunk.subarray(0, HEAD_BYTES - head.byteLength));
      if (head.byteLength >= HEAD_BYTES) recognise();
    }
    hash.update(chunk);
  }
  if (bytes === 0) throw new PhotoError('empty', 'empty file (0 bytes)');
  if (!type) recognise();
  return { sha256: hash.digest('hex'), bytes, etag: stream.etag ?? source.etag ?? '', type: type! };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}
