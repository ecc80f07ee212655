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
  if (ascii(4, 8) === 'ftyp') return heifKind(bytes);
  return undefined;
}

/** AVIF image and sequence brands (AV1 Image File Format, https://aomediacodec.github.io/av1-avif/#image-and-image-collection-brand). */
const AVIF_BRANDS = ['avif', 'avis'];
/** HEVC-coded HEIF brands (ISO/IEC 23008-12, annex B). */
const HEIC_BRANDS = ['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs'];
/** The structural HEIF/MIAF brands (ISO/IEC 23008-12 § 10.2.1), which say nothing of the codec: an AVIF and a HEIC may both lead with them. */
const HEIF_BRANDS = ['mif1', 'msf1', 'miaf'];

/**
 * An ISOBMFF `ftyp` box: size (4), `ftyp`, major brand (4), minor version (4), then compatible brands
 * (4 each) to the end of the box. The codec brand decides: the major brand when it names one, else
 * the first compatible brand that does — an AVIF may have the major brand `mif1` with `avif` among
 * its compatible brands (the AVIF specification requires `avif` among the compatible brands, not as
 * the major brand). A box naming only `mif1`/`msf1` is filed as HEIF, as before.
 */
function heifKind(bytes: Uint8Array): ImageType | undefined {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, FTYP_MAX_BYTES));
  const boxSize = view.length >= 4 ? view.readUInt32BE(0) : 0;
  const end = Math.min(view.length, boxSize >= 16 ? boxSize : 16);
  const brands = [view.subarray(8, 12).toString('latin1')];
  for (let offset = 16; offset + 4 <= end; offset += 4) brands.push(view.subarray(offset, offset + 4).toString('latin1'));
  for (const brand of brands) {
    if (AVIF_BRANDS.includes(brand)) return TYPES.avif;
    if (HEIC_BRANDS.includes(brand)) return TYPES.heif;
  }
  return HEIF_BRANDS.includes(brands[0]!) ? TYPES.heif : undefined;
}

/** The most of an `ftyp` box read for its brands (a real one is a few dozen bytes). */
export const FTYP_MAX_BYTES = 256;

/** An SVG (or other XML) document: never handed to a decoder, since it may fetch what it references. */
export function looksLikeSvg(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 1024)).toString('utf8').replace(/^\uFEFF/, '').trimStart();
  return /^<\?xml|^<svg|^<!DOCTYPE svg/i.test(head);
}
