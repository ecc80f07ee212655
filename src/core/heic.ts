/**
 * HEVC-coded HEIF originals ("HEIC", iPhones' default since 2017), decoded with libheif compiled to
 * WebAssembly (npm heic-decode over libheif-js: no native build, the same bytes on every platform).
 * sharp's prebuilt libvips reads HEIF containers and decodes AV1 (AVIF) but not HEVC: "The prebuilt
 * binaries do not support the patented HEVC compression, as used by HEIC images" (lovell/sharp#4050);
 * its decode fails with "Support for this compression format has not been built in: HEVC".
 * render.ts reads the header with sharp as for any photo (`compression: 'hevc'` names these) and asks
 * this module for the pixels; the rest of the pipeline (one decode, every preset) is unchanged.
 *
 * - Orientation: libheif applies the file's `irot`/`imir`/`clap` transforms when it decodes (its
 *   `ignore_transformations` decoding option is off by default), and its image handle's width and height
 *   are already those of the transformed image (libheif heif.h: `heif_image_handle_get_ispe_width` is
 *   "the original image size without any transformations"). An Exif Orientation tag inside a HEIF is
 *   informational only and must not be applied again (libheif maintainer, strukturag/libheif#498 and
 *   #227; libvips removes it from HEIF metadata for the same reason, libvips/libvips#2551): the pixels
 *   reach sharp as raw data, which carries no Exif, so nothing rotates them twice.
 * - Colour: libheif converts YCbCr to RGB with the file's `nclx` matrix. libheif-js exposes no colour
 *   profile, so the ICC profile that sharp's header read found (an iPhone's Display P3) is attached to
 *   the decoded pixels by wrapping them in an uncompressed TIFF; sharp then converts them to sRGB as it
 *   does for every photo with a profile. Without a profile the pixels are taken as sRGB.
 * - Limits: the size is read from the container before any pixel is decoded, against the same
 *   `maxInputPixels` and with the same `too-large` reason as every other format, and against a HEIC's
 *   own, lower `maxHeicPixels` (checkHeicPixelLimit): the decode below holds ~17 bytes a pixel.
 * - Memory: the WebAssembly heap holds the compressed file and one decoded frame (YCbCr planes, then
 *   RGBA) at a time, and then the RGBA frame is copied out; it grows to the largest photo decoded and is
 *   not given back while the process lives. Decodes run one at a time per process (the WebAssembly code
 *   is single-threaded and blocks the event loop while it runs, so nothing is lost).
 */
import type { SharpOptions } from 'sharp';
import { PhotoError } from './errors';
import { checkPixelLimit, HEIC_MAX_PIXELS, type Limits } from './presets';

export interface HeicHeader {
  /** After the file's transforms (what sharp's header read reports for the primary image). */
  width: number;
  height: number;
  /** The ICC profile sharp's header read found, if any. */
  icc?: Buffer;
}

/** What sharp is given: the decoded pixels, and how to read them. */
export interface HeicPixels {
  input: Buffer;
  options: SharpOptions;
}

/**
 * A HEIC's size against its own limit (limits.maxHeicPixels, default HEIC_MAX_PIXELS) as well as
 * maxInputPixels, from the container before any pixel is decoded. Throws PhotoError too-large.
 */
export function checkHeicPixelLimit(width: number, height: number, limits: Limits): void {
  checkPixelLimit(width, height, limits);
  const heicLimit = limits.maxHeicPixels ?? HEIC_MAX_PIXELS;
  if (width * height > heicLimit) {
    throw new PhotoError('too-large', `too large: ${width}x${height} is ${width * height} pixels, limit for a HEIC is ${heicLimit} (limits.maxHeicPixels: its decode holds ~17 bytes a pixel)`);
  }
}

/** Decodes run one after another in this process. */
let queue: Promise<unknown> = Promise.resolve();

/**
 * The primary image's pixels, oriented, for sharp. Throws PhotoError: `too-large` before decoding,
 * `corrupt` when the file does not decode.
 */
export function decodeHeic(input: Uint8Array, header: HeicHeader, limits: Limits): Promise<HeicPixels> {
  const turn = queue.then(() => decodeNow(input, header, limits));
  queue = turn.catch(() => undefined);
  return turn;
}

async function decodeNow(input: Uint8Array, header: HeicHeader, limits: Limits): Promise<HeicPixels> {
  // Loaded on first use: the module instantiates a 1.4 MB WebAssembly binary, which no other photo needs.
  const { all } = await import('heic-decode');
  let images: Awaited<ReturnType<typeof all>>;
  try {
    images = await all({ buffer: input });
  } catch (error) {
    throw new PhotoError('corrupt', `cannot decode: HEIC: ${messageOf(error)}`);
  }
  try {
    // heic-decode lists the top-level images without saying which is primary: the primary is the one
    // of the size sharp's header read (libheif's primary image handle) reported.
    const image = images.find((candidate) => candidate.width === header.width && candidate.height === header.height);
    if (!image) throw new PhotoError('corrupt', `cannot decode: HEIC: no ${header.width}x${header.height} image among ${images.map((i) => `${i.width}x${i.height}`).join(', ') || 'none'}`);
    checkHeicPixelLimit(image.width, image.height, limits);
    let decoded: { width: number; height: number; data: Uint8ClampedArray };
    try {
      decoded = await image.decode();
    } catch (error) {
      throw new PhotoError('corrupt', `cannot decode: HEIC: ${messageOf(error)}`);
    }
    const rgba = Buffer.from(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength);
    if (rgba.length !== decoded.width * decoded.height * 4) throw new PhotoError('corrupt', 'cannot decode: HEIC: short pixel data');
    if (header.icc && header.icc.length > 0) return { input: tiffWithProfile(rgba, decoded.width, decoded.height, header.icc), options: { limitInputPixels: limits.maxInputPixels } };
    return { input: rgba, options: { raw: { width: decoded.width, height: decoded.height, channels: 4 }, limitInputPixels: limits.maxInputPixels } };
  } finally {
    images.dispose();
  }
}

function messageOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim() || 'unknown error';
}

/** Rows per TIFF strip: libvips reads a strip at a time. */
const ROWS_PER_STRIP = 64;

/**
 * 8-bit RGBA pixels with an ICC profile as a baseline little-endian TIFF (TIFF 6.0: uncompressed,
 * chunky, ExtraSamples = unassociated alpha; the profile in tag 34675, "ICC Profile" of the TIFF/EP and
 * ICC specifications): the one way to hand sharp raw pixels with an input profile, since its raw input
 * takes none. A copy of the pixels, no encoding.
 */
export function tiffWithProfile(rgba: Buffer, width: number, height: number, icc: Buffer): Buffer {
  const strips = Math.ceil(height / ROWS_PER_STRIP);
  const entries = 12;
  const ifdSize = 2 + entries * 12 + 4;
  const bitsAt = 8 + ifdSize;
  const offsetsAt = bitsAt + 8;
  const countsAt = offsetsAt + strips * 4;
  const iccAt = countsAt + strips * 4;
  const dataAt = iccAt + icc.length + (icc.length % 2);
  const head = Buffer.alloc(dataAt);
  head.write('II', 0, 'latin1');
  head.writeUInt16LE(42, 2);
  head.writeUInt32LE(8, 4);
  head.writeUInt16LE(entries, 8);
  let at = 10;
  const SHORT = 3;
  const LONG = 4;
  const UNDEFINED = 7;
  const entry = (tag: number, type: number, count: number, value: number) => {
    head.writeUInt16LE(tag, at);
    head.writeUInt16LE(type, at + 2);
    head.writeUInt32LE(count, at + 4);
    if (type === SHORT && count === 1) head.writeUInt16LE(value, at + 8);
    else head.writeUInt32LE(value, at + 8);
    at += 12;
  };
  // Entries in ascending tag order (TIFF 6.0, section 2).
  entry(256, LONG, 1, width); // ImageWidth
  entry(257, LONG, 1, height); // ImageLength
  entry(258, SHORT, 4, bitsAt); // BitsPerSample 8,8,8,8
  entry(259, SHORT, 1, 1); // Compression: none
  entry(262, SHORT, 1, 2); // PhotometricInterpretation: RGB
  entry(273, LONG, strips, strips === 1 ? dataAt : offsetsAt); // StripOffsets
  entry(277, SHORT, 1, 4); // SamplesPerPixel
  entry(278, LONG, 1, ROWS_PER_STRIP); // RowsPerStrip
  const rowBytes = width * 4;
  entry(279, LONG, strips, strips === 1 ? rgba.length : countsAt); // StripByteCounts
  entry(284, SHORT, 1, 1); // PlanarConfiguration: chunky
  entry(338, SHORT, 1, 2); // ExtraSamples: unassociated alpha
  entry(34675, UNDEFINED, icc.length, iccAt); // ICC profile
  head.writeUInt32LE(0, at); // no next IFD
  for (let i = 0; i < 4; i++) head.writeUInt16LE(8, bitsAt + i * 2);
  for (let strip = 0; strip < strips; strip++) {
    const rows = Math.min(ROWS_PER_STRIP, height - strip * ROWS_PER_STRIP);
    head.writeUInt32LE(dataAt + strip * ROWS_PER_STRIP * rowBytes, offsetsAt + strip * 4);
    head.writeUInt32LE(rows * rowBytes, countsAt + strip * 4);
  }
  icc.copy(head, iccAt);
  return Buffer.concat([head, rgba]);
}
