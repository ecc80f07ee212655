/**
 * The one table of image media types: the Content-Type each file extension stands for, and for each
 * image format the extension its assets get (so the asset's Content-Type is that extension's). Pure.
 */
import { posix } from 'node:path';

/** Content-Type by extension (lower case, without the dot). */
const BY_EXTENSION: Readonly<Record<string, string>> = {
  jpg: 'image/jpeg', jpeg: 'image/jpeg', jpe: 'image/jpeg', jfif: 'image/jpeg', jfi: 'image/jpeg',
  png: 'image/png', gif: 'image/gif', webp: 'image/webp',
  tif: 'image/tiff', tiff: 'image/tiff', avif: 'image/avif', heic: 'image/heic', heif: 'image/heif',
  svg: 'image/svg+xml',
};

export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'tiff' | 'avif' | 'heif';

export interface ImageType {
  format: ImageFormat;
  /** The extension of its assets, without the dot. */
  ext: string;
  contentType: string;
}

const EXTENSION_OF: Readonly<Record<ImageFormat, string>> = { jpeg: 'jpg', png: 'png', gif: 'gif', webp: 'webp', tiff: 'tif', avif: 'avif', heif: 'heic' };

/** Each image format: its asset extension and Content-Type. */
export const IMAGE_TYPES: Readonly<Record<ImageFormat, ImageType>> = Object.fromEntries(
  Object.entries(EXTENSION_OF).map(([format, ext]) => [format, { format, ext, contentType: BY_EXTENSION[ext]! }]),
) as Record<ImageFormat, ImageType>;

/** The Content-Type a key's (or file name's) extension claims, any case; undefined for none or an unknown one. */
export function contentTypeOfName(name: string): string | undefined {
  const ext = posix.extname(name).slice(1).toLowerCase();
  return ext ? BY_EXTENSION[ext] : undefined;
}
