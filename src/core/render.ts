/**
 * Rendering with sharp, as a list of small named steps:
 *   inspect   read the header only: format, size, orientation, alpha; refuse pixel bombs
 *   plan      the smallest intermediate every preset can be cut from (never larger than the original)
 *   decode    ONE decode (JPEG shrink-on-load where it helps), EXIF orientation applied, sRGB, 8-bit raw;
 *             an HEVC-coded HEIF's pixels come from heic.ts (libheif in WebAssembly, its own transforms
 *             applied), since sharp's prebuilt libvips has no HEVC decoder
 *   opacity   an alpha channel that is fully opaque is dropped (such "RGBA" PNGs become JPEG crops)
 *   cut       every preset from the raw intermediate, in parallel; encoded without metadata. A
 *             `cover` preset first takes the centred region of its aspect ratio, then scales it: any
 *             geometry works (a 100000x1 strip), since nothing is ever scaled past the preset itself
 *   animation an animated GIF/WebP keeps its frames in the presets whose format carries them (GIF,
 *             WebP), the others get the first frame of the same single decode (src/core/animation.ts)
 *
 * Every failure inside rendering is a PhotoError (reason corrupt, too-large or render-failed) whose
 * message names the step (and the preset):
 * the batch records it as the photo's failure, the on-demand path answers 4xx. A photo is rendered
 * whole or not at all: presets are never stored for a photo that fails (a DONE photo has them all).
 */
import sharp, { type Metadata, type Sharp } from 'sharp';
import { type Animation, animatedFormat, animationOf, framesToDecode, rawFramesInput } from './animation';
import { IMAGE_TYPES } from './media-types';
import { PhotoError } from './errors';
import { checkHeicPixelLimit, decodeHeic, type HeicHeader } from './heic';
import { checkPixelLimit, type Limits, type ResolvedPreset, VARIANT_SETTINGS } from './presets';

export type EncodedFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'avif';

/**
 * No libvips operation cache (https://sharp.pixelplumbing.com/api-utility, `cache`: "false removes
 * all caching"): every photo is decoded once, from its own Buffer, so a cached operation is never
 * reused — but it keeps the decode alive, and with it libjpeg's buffers (a progressive JPEG keeps every
 * DCT coefficient: 150 MB for 50 MP) while the presets are encoded. `npm run bench -- --only peak-rss`:
 * a 50 MP progressive JPEG in JPEG + WebP + AVIF peaked at 324 MB with the cache, 266 MB without;
 * render CPU time unchanged.
 */
sharp.cache(false);

export interface SourceInfo {
  format: string;
  /** After EXIF orientation. */
  width: number;
  height: number;
  /** Has an alpha channel (after rendering: one with at least one pixel not fully opaque). */
  hasAlpha: boolean;
  /** An animated GIF/WebP original's frames (width and height above are one frame's). */
  animation?: Animation;
  /**
   * 16-bit RGB (a 16-bit PNG or TIFF, a 10-bit AVIF: sharp's `rgb16` space) with an embedded ICC
   * profile: sharp imports such an image into Display P3, not sRGB (its pipeline's processing profile
   * for 16-bit RGB: node_modules/sharp/src/pipeline.cc), and `toColourspace('srgb')` then only casts —
   * P3 values would ship as sRGB, every colour duller. Its renditions are converted to sRGB explicitly.
   * (A 16-bit greyscale image's profile is not applied by sharp at all; it is rendered as before.)
   */
  deepWithProfile?: true;
}

export interface Rendition {
  preset: ResolvedPreset;
  body: Buffer;
  width: number;
  height: number;
  format: EncodedFormat;
  ext: string;
  contentType: string;
}

export interface RenderResult {
  source: SourceInfo;
  renditions: Rendition[];
}

export async function renderPresets(input: Uint8Array, presets: readonly ResolvedPreset[], limits: Limits): Promise<RenderResult> {
  const { source, heic } = await readHeader(input, limits);
  const alone = !heic && rendersDirectly(source, presets) ? await renderDirectly(input, presets[0]!, limits) : undefined;
  if (alone) return { source, renditions: [alone] };
  const plan = planIntermediate(source, presets);
  // A HEIC is decoded by libheif (one frame); an animated GIF/WebP may keep every frame.
  const frames = heic ? undefined : framesToDecode(source, presets, limits);
  const raw = await decode(input, source, plan, limits, heic, frames);
  const transparent = source.hasAlpha && hasTransparency(raw);
  const renditions = await Promise.all(presets.map((preset) => cut(raw, preset, transparent, source).catch((error: unknown) => {
    throw new PhotoError('render-failed', `cannot render preset ${preset.name} (${preset.width}x${preset.height} ${preset.fit}) of a ${source.width}x${source.height} image: ${firstLine(error)}`);
  })));
  return { source: { ...source, hasAlpha: transparent }, renditions };
}

export async function inspect(input: Uint8Array, limits: Limits): Promise<SourceInfo> {
  return (await readHeader(input, limits)).source;
}

/** The header read, and for an HEVC-coded HEIF what heic.ts needs (sharp reads its container, not its pixels). */
async function readHeader(input: Uint8Array, limits: Limits): Promise<{ source: SourceInfo; heic?: HeicHeader }> {
  let meta: Metadata;
  try {
    meta = await withSpecificError(() => sharp(input, { limitInputPixels: false }).metadata());
  } catch (error) {
    throw decodeError(error);
  }
  const { width, height } = meta;
  if (!width || !height) throw new PhotoError('corrupt', 'cannot decode: image has no dimensions');
  checkPixelLimit(width, height, limits);
  // libvips reports no orientation for a HEIF (its Exif Orientation is informational: heic.ts), and
  // the size of the image after the file's own transforms.
  const swapped = (meta.orientation ?? 1) >= 5;
  const animation = animationOf(meta);
  const source: SourceInfo = {
    format: meta.format ?? 'unknown',
    width: swapped ? height : width,
    height: swapped ? width : height,
    hasAlpha: meta.hasAlpha === true,
    ...(animation ? { animation } : {}),
    ...(meta.icc && meta.space === 'rgb16' ? { deepWithProfile: true as const } : {}),
  };
  // `compression` is "the encoder used to compress an HEIF file, av1 (AVIF) or hevc (HEIC)" (sharp's metadata()).
  const hevc = meta.format === 'heif' && meta.compression === 'hevc';
  if (hevc) checkHeicPixelLimit(source.width, source.height, limits);
  return hevc ? { source, heic: { width: source.width, height: source.height, icc: meta.icc } } : { source };
}

export interface IntermediatePlan {
  width: number;
  height: number;
}

/** The scale each preset needs relative to the oriented original. */
export function presetScale(source: { width: number; height: number }, preset: Pick<ResolvedPreset, 'width' | 'height' | 'fit' | 'withoutEnlargement'>): number {
  const sx = preset.width / source.width;
  const sy = preset.height / source.height;
  const scale = preset.fit === 'cover' ? Math.max(sx, sy) : Math.min(sx, sy);
  return preset.withoutEnlargement ? Math.min(scale, 1) : scale;
}

/** An `inside` preset's result for a frame of this size: scaled by presetScale, sides rounded (at least 1). */
export function insideSize(source: { width: number; height: number }, preset: Pick<ResolvedPreset, 'width' | 'height' | 'fit' | 'withoutEnlargement'>): { width: number; height: number } {
  const scale = presetScale(source, preset);
  return { width: Math.max(1, Math.round(source.width * scale)), height: Math.max(1, Math.round(source.height * scale)) };
}

export function planIntermediate(source: { width: number; height: number }, presets: readonly ResolvedPreset[]): IntermediatePlan {
  const scale = Math.min(1, Math.max(...presets.map((preset) => presetScale(source, preset))));
  return {
    width: Math.min(source.width, Math.ceil(source.width * scale)),
    height: Math.min(source.height, Math.ceil(source.height * scale)),
  };
}

export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  /** Animated: `data` holds `frames.pages` frames of width x height, one under another. */
  frames?: Animation;
}

async function decode(input: Uint8Array, source: SourceInfo, plan: IntermediatePlan, limits: Limits, heic?: HeicHeader, frames?: Animation): Promise<RawImage> {
  // A HEIC's pixels come from libheif once, whatever the attempts below.
  const pixels = heic ? await decodeHeic(input, heic, limits) : undefined;
  // A new pipeline for each attempt, not clone(): sharp's clone() structuredClone()s its options, the
  // whole input Buffer with them (node_modules/sharp/dist/constructor.mjs) — a copy of the original
  // per decode (npm run bench -- --only on-demand-speed: 14 ms of CPU on a 20 MP JPEG).
  const pipeline = () => {
    let decoding: Sharp;
    if (pixels) {
      // Already oriented by libheif: no .rotate(), the raw pixels carry no Exif to apply twice.
      decoding = sharp(pixels.input, pixels.options);
    } else if (frames) {
      // Every frame, resized frame by frame (an animated original has no orientation: animation.ts).
      decoding = sharp(input, { limitInputPixels: limits.maxInputPixels, failOn: 'error', animated: true });
    } else {
      decoding = sharp(input, { limitInputPixels: limits.maxInputPixels, failOn: 'error' }).rotate();
    }
    if (plan.width < source.width || plan.height < source.height) {
      decoding = decoding.resize({ width: plan.width, height: plan.height, fit: 'fill' });
    }
    decoding = decoding.toColourspace('srgb');
    // Converted from the image's profile to sRGB (SourceInfo.deepWithProfile); raw output embeds no profile.
    if (source.deepWithProfile) decoding = decoding.withIccProfile('srgb');
    return source.hasAlpha ? decoding : decoding.removeAlpha();
  };
  try {
    const { data, info } = await withSpecificError(() => pipeline().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true }));
    if (frames) {
      const pages = info.pages ?? frames.pages;
      return { data, width: info.width, height: info.pageHeight ?? info.height / pages, channels: info.channels, frames: { ...frames, pages } };
    }
    return { data, width: info.width, height: info.height, channels: info.channels };
  } catch (error) {
    throw decodeError(error);
  }
}

/**
 * One preset alone (an on-demand size) of a still, opaque photo it scales down: decoded, scaled and
 * encoded in one libvips pipeline — no raw intermediate, and one resampling instead of two (`npm run
 * bench -- --only on-demand-speed`, 20 MP JPEG to 300x200: `steps.cpu.renderPresets` about 2 ms under
 * `render.decode` + `render.cut+encode`, the two steps). The scale, before any `withoutEnlargement`
 * cap, is at most 1: even libvips' own `cover` (whole frame scaled, then cropped) never grows the frame
 * (the odd geometry `cut` guards against), and an `inside` preset is never asked to enlarge.
 */
export function rendersDirectly(source: SourceInfo, presets: readonly ResolvedPreset[]): boolean {
  return presets.length === 1 && !source.animation && !source.hasAlpha && !source.deepWithProfile && presetScale(source, { ...presets[0]!, withoutEnlargement: false }) <= 1;
}

/**
 * The direct pipeline's rendition, or undefined when it fails: the two steps then render the photo
 * again and fail with the step that did (a decode's reason, or the preset that could not be made).
 */
async function renderDirectly(input: Uint8Array, preset: ResolvedPreset, limits: Limits): Promise<Rendition | undefined> {
  const format: EncodedFormat = preset.format === 'auto' ? 'jpeg' : preset.format;
  const pipeline = sharp(input, { limitInputPixels: limits.maxInputPixels, failOn: 'error' })
    .rotate()
    .resize({ width: preset.width, height: preset.height, fit: preset.fit, position: 'centre' })
    .toColourspace('srgb');
  return encoded(preset, format, pipeline).catch(() => undefined);
}

/** Attempts a failing decode is repeated to learn its real reason. */
const REASON_ATTEMPTS = 5;
/** Repeated decodes run one at a time in this process, so they cannot take each other's message. */
let repeating: Promise<unknown> = Promise.resolve();

/**
 * libvips keeps its error messages in one buffer per process: when decodes fail at the same time,
 * one may take another's message and sharp reports "Unknown error" (seen here: 7 of 40 failures of
 * 16 concurrent decodes). The reason is what a failure row records and compares, so a failure
 * without one is decoded again (it fails the same way) until it has it.
 */
async function withSpecificError<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (!isUnspecific(error)) throw error;
  }
  const again = repeating.then(async () => {
    let last: unknown;
    for (let attempt = 1; attempt < REASON_ATTEMPTS; attempt++) {
      try {
        return { value: await run() };
      } catch (error) {
        last = error;
        if (!isUnspecific(error)) break;
      }
    }
    return { error: last };
  });
  repeating = again.catch(() => undefined);
  const outcome = await again;
  if ('error' in outcome) throw outcome.error;
  return outcome.value;
}

function isUnspecific(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return message.trim() === '' || /^Unknown error/i.test(message.trim());
}

/** True when some pixel of the (interleaved, 8-bit, alpha last) raw image is not fully opaque. */
export function hasTransparency(raw: RawImage): boolean {
  if (raw.channels !== 2 && raw.channels !== 4) return false;
  for (let i = raw.channels - 1; i < raw.data.length; i += raw.channels) if (raw.data[i] !== 255) return true;
  return false;
}

/** libimagequant's effort for GIF renditions (see cut). */
const GIF_EFFORT = 1;

async function cut(raw: RawImage, preset: ResolvedPreset, transparent: boolean, source: SourceInfo): Promise<Rendition> {
  const animated = raw.frames ? animatedFormat(preset, source.format) : undefined;
  const format: EncodedFormat = animated ?? (preset.format === 'auto' ? (transparent ? 'png' : 'jpeg') : preset.format);
  const { input, options, encoderOptions } = rawFramesInput(raw, animated !== undefined);
  let pipeline = sharp(input, options);
  if (!transparent && (raw.channels === 2 || raw.channels === 4)) pipeline = pipeline.removeAlpha();
  if (preset.fit === 'cover' && !(preset.withoutEnlargement && presetScale(raw, preset) > 1)) {
    // Crop, then scale: libvips' own cover scales the whole frame first, and a 100000x1 strip cut to
    // 80x80 would be scaled to 8,000,000x80 ("affine: output coordinates out of range").
    const region = coverRegion(raw, preset);
    if (region.width < raw.width || region.height < raw.height) pipeline = pipeline.extract(region);
    pipeline = pipeline.resize({ width: preset.width, height: preset.height, fit: 'fill' });
  } else if (preset.fit === 'inside') {
    // The size the whole original scales to, not the intermediate (its sides are rounded up, so
    // 4288x2848 at 1024 inside would be 1024x681, where sharp on the original, and renderDirectly, give 1024x680).
    const size = insideSize(source, preset);
    pipeline = pipeline.resize({ width: size.width, height: size.height, fit: 'fill' });
  } else {
    pipeline = pipeline.resize({ width: preset.width, height: preset.height, fit: preset.fit, withoutEnlargement: preset.withoutEnlargement });
  }
  if (format === 'jpeg' && transparent) pipeline = pipeline.flatten({ background: '#ffffff' });
  // An AVIF variant that keeps an animation as WebP is encoded as the WebP variant is (same frames, same bytes).
  if (preset.variantOf !== undefined && format === 'webp' && preset.format !== 'webp') return { ...(await encoded({ ...preset, ...VARIANT_SETTINGS.webp }, format, pipeline, encoderOptions)), preset };
  return encoded(preset, format, pipeline, encoderOptions);
}

/** The preset's encoder on the pipeline, and the rendition it gives. */
async function encoded(preset: ResolvedPreset, format: EncodedFormat, pipeline: Sharp, encoderOptions: { loop?: number; delay?: number[] } = {}): Promise<Rendition> {
  if (format === 'jpeg') {
    pipeline = pipeline.jpeg({ quality: preset.quality, mozjpeg: preset.mozjpeg });
  } else if (format === 'png') {
    pipeline = pipeline.png({ compressionLevel: 6 });
  } else if (format === 'gif') {
    // A palette per frame (libimagequant), https://sharp.pixelplumbing.com/api-output#gif: `effort`
    // 1 (of 1..10, default 7) quantises about 3-4x faster for 7-19 % more bytes on photo-like pans
    // (`npm run bench -- --only animation`: 826 vs 3361 ms per megapixel, 1.78 vs 1.67 MB); GIF is
    // the slow encoder of the animated path (WebP: about 240 ms per megapixel in the same run).
    pipeline = pipeline.gif({ effort: GIF_EFFORT, ...encoderOptions });
  } else if (format === 'avif') {
    pipeline = pipeline.avif({ quality: preset.quality, effort: preset.effort });
  } else {
    pipeline = pipeline.webp({ quality: preset.quality, effort: preset.effort, ...encoderOptions });
  }
  const { data, info } = await pipeline.toBuffer({ resolveWithObject: true });
  // An animated output's info: `height` is every frame's, `pageHeight` one frame's.
  return { preset, body: data, width: info.width, height: info.pageHeight ?? info.height, format, ext: IMAGE_TYPES[format].ext, contentType: IMAGE_TYPES[format].contentType };
}

/**
 * The centred region of `frame` with the preset's aspect ratio (at least 1x1): what a `cover` resize
 * keeps of it. A `cover` preset is always exactly WxH (it enlarges when it must), as before.
 */
export function coverRegion(frame: { width: number; height: number }, preset: { width: number; height: number }): { left: number; top: number; width: number; height: number } {
  const scale = Math.max(preset.width / frame.width, preset.height / frame.height);
  const width = Math.min(frame.width, Math.max(1, Math.round(preset.width / scale)));
  const height = Math.min(frame.height, Math.max(1, Math.round(preset.height / scale)));
  return { left: Math.floor((frame.width - width) / 2), top: Math.floor((frame.height - height) / 2), width, height };
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim() || 'unknown error';
}

/** sharp's errors carry no code, only libvips' text: its pixel-limit refusal ("Input image exceeds pixel limit") is the one told apart. */
function decodeError(error: unknown): PhotoError {
  const message = error instanceof Error ? error.message : String(error);
  if (/pixel limit/i.test(message)) return new PhotoError('too-large', `too large: ${message}`);
  return new PhotoError('corrupt', `cannot decode: ${message.split('\n')[0]}`);
}
