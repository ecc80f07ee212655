/** Recognises an image by its first bytes (no decoder, so Dedupe needs no sharp). */
import { IMAGE_TYPES as TYPES, type ImageType } from './media-types';

export type { ImageType };

export function typeOfFormat(format: ImageType['format']): ImageType {
  return TYPES[format];
}

export function sniffImage(bytes: Uint8Array): ImageType | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 32));
  const ascii = (start: number, end: number) => b.subarray(start, end).toString('latin1');
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return TYPES.jpeg;
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return TYPES.png;
  if (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a') return TYPES.gif;
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return TYPES.webp;
  if (ascii(0, 4) === 'II*\u0000' || ascii(0, 4) === 'MM\u0000*') return TYPES.tiff;
  if (ascii(4, 8) === 'ftyp') {
    const brand = ascii(8, 12);
    if (brand === 'avif' || brand === 'avis') return TYPES.avif;
    if (['heic', 'heix', 'hevc', 'heim', 'heis', 'mif1', 'msf1'].includes(brand)) return TYPES.heif;
  }
  return undefined;
}

/** An SVG (or other XML) document: never handed to a decoder, since it may fetch what it references. */
export function looksLikeSvg(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 1024)).toString('utf8').replace(/^\uFEFF/, '').trimStart();
  return /^<\?xml|^<svg|^<!DOCTYPE svg/i.test(head);
}
