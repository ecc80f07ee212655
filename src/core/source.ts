/** The original of one item: its decoded key, and its bytes read from the source bucket. */
import type { StepContext } from './context';
import { NotFoundError, PhotoError } from './errors';
import { decodeInventoryKey } from './inventory';
import type { InventoryItem } from './item';
import { validateSourceKey } from './keys';
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

/** Decodes and validates the item's key. Throws PhotoError for a key that can never be stored. */
export function sourceOf(item: InventoryItem, presetNames: readonly string[]): SourceRef {
  if (!item || typeof item.bucket !== 'string' || typeof item.key !== 'string') throw new PhotoError('item has no bucket or key');
  let key: string;
  try {
    key = decodeInventoryKey(item.key);
  } catch {
    throw new PhotoError(`key is not valid URL encoding: ${item.key}`);
  }
  validateSourceKey(key, presetNames);
  const size = item.size === undefined || item.size === '' ? undefined : Number(item.size);
  return { bucket: item.bucket, key, etag: item.etag, size: Number.isFinite(size) ? size : undefined };
}

/** Reads the original; refuses what is too big, empty, gone or not an image, before any write. */
export async function readOriginal(context: StepContext, source: SourceRef): Promise<Original> {
  const { maxInputBytes } = context.config.limits;
  if (source.size !== undefined && source.size > maxInputBytes) {
    throw new PhotoError(`too large: ${source.size} bytes, limit is ${maxInputBytes}`);
  }
  let object;
  try {
    object = await context.store.get({ bucket: source.bucket, key: source.key });
  } catch (error) {
    if (error instanceof NotFoundError) throw new PhotoError(`source object is gone: s3://${source.bucket}/${source.key}`);
    throw error;
  }
  if (object.body.byteLength === 0) throw new PhotoError('empty file (0 bytes)');
  if (object.body.byteLength > maxInputBytes) throw new PhotoError(`too large: ${object.body.byteLength} bytes, limit is ${maxInputBytes}`);
  const type = sniffImage(object.body);
  if (!type && looksLikeSvg(object.body)) throw new PhotoError('refused: SVG (vector images can reference external files; only raster photos are migrated)');
  if (!type) throw new PhotoError('not an image: unrecognised file format');
  return { body: object.body, etag: object.etag ?? source.etag ?? '', type };
}
