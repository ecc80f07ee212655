/**
 * Animated originals (GIF, WebP): which renditions keep the animation, what it costs, and how the
 * frames are handed to sharp. render.ts calls these at its steps; nothing here decodes.
 *
 *   - An original is animated when it is a GIF or a WebP of more than one frame (`pages` in sharp's
 *     header read) and has no EXIF orientation to apply: libvips cannot rotate a multi-page image
 *     by 90° ("Rotate is not supported for multi-page images"), so such a rare file is rendered,
 *     oriented, from its first frame, as every animated original was before.
 *   - A rendition keeps the animation when its format can carry it: GIF or WebP. A preset of format
 *     `auto` renders an animated original in the original's own format: an animated GIF stays an
 *     animated GIF (every browser shows it; the pointer at `<preset>/<key>` serves every browser),
 *     an animated WebP stays an animated WebP. A `webp` preset makes an animated WebP of either.
 *     A `jpeg`, `png` or `avif` preset gets the first frame. A WebP or AVIF variant keeps the
 *     animation exactly when its primary does, as an animated WebP (animatedFormat).
 *   - Cost: all frames are decoded only when some preset keeps the animation, and then every frame
 *     counts against `limits.maxInputPixels` (frames x width x height), checked from the header
 *     before any pixel is decoded; over it, the photo is refused (PhotoError too-large), exactly as
 *     a still over the limit is. sharp's own `limitInputPixels` applies to the whole strip of frames
 *     as well (it checks the decoded image's width x height, all pages stacked).
 *
 * sharp (https://sharp.pixelplumbing.com/api-constructor, /api-input#metadata, /api-output#gif):
 * `animated: true` reads every frame as one "toilet roll" image of `pages` frames of `pageHeight`
 * rows each; `metadata()` of the file (default `pages: 1`) reports one frame's width and height,
 * the frame count `pages`, `loop` and `delay` (ms per frame). A raw input declares its frames with
 * `raw.pageHeight` (and `animated: true`, or sharp resizes the strip as one image); resize and
 * extract then apply to each frame (sharp's CropMultiPage since lovell/sharp#2789), and `gif()` /
 * `webp()` take `loop` and `delay`.
 */
import type { Metadata, SharpOptions } from 'sharp';
import { checkPixelLimit, type Limits, type ResolvedPreset } from './presets';

/** What an animated original's frames are: what its animated renditions keep. */
export interface Animation {
  /** Frame count (> 1). */
  pages: number;
  /** Iterations, 0 for forever. */
  loop: number;
  /** Per-frame delay in ms (one entry per frame), when the file has them. */
  delay?: number[];
}

/** The formats a rendition can carry an animation in. */
export type AnimatedFormat = 'gif' | 'webp';
const ANIMATED_SOURCES: readonly string[] = ['gif', 'webp'];

/** The animation of an original from its header read (sharp metadata with the default `pages: 1`), or undefined for a still. */
export function animationOf(meta: Pick<Metadata, 'format' | 'pages' | 'loop' | 'delay' | 'orientation'>): Animation | undefined {
  if (!ANIMATED_SOURCES.includes(meta.format ?? '') || (meta.pages ?? 1) < 2) return undefined;
  if ((meta.orientation ?? 1) !== 1) return undefined;
  const delay = Array.isArray(meta.delay) && meta.delay.length === meta.pages ? meta.delay : undefined;
  return { pages: meta.pages!, loop: meta.loop ?? 0, ...(delay ? { delay } : {}) };
}

/**
 * The format a preset renders an animated original in when it keeps the animation, else undefined
 * (the preset gets the first frame, in the format it would give a still).
 *
 * A *variant* (`<preset>.webp`, `<preset>.avif`, issue 18) is its primary's picture in fewer bytes for
 * the browsers that take it, and the CDN hands it to them at the primary's URL: it keeps the animation
 * exactly when its primary does, and then as WebP, the variant format that carries frames — an AVIF
 * variant of an animated primary is an animated WebP (libvips writes one AVIF frame; every browser that
 * takes AVIF takes WebP). A still primary (a `jpeg` or `png` preset) has first-frame variants.
 */
export function animatedFormat(preset: Pick<ResolvedPreset, 'format' | 'variantOf' | 'primaryFormat'>, sourceFormat: string): AnimatedFormat | undefined {
  if (preset.variantOf !== undefined) return animatedFormat({ format: preset.primaryFormat ?? 'auto' }, sourceFormat) ? 'webp' : undefined;
  if (preset.format === 'webp') return 'webp';
  if (preset.format === 'auto' && (sourceFormat === 'gif' || sourceFormat === 'webp')) return sourceFormat;
  return undefined;
}

/**
 * The frames to decode: the original's animation when some preset keeps it (after checking that
 * every frame fits the pixel limit), else undefined (the first frame only, as for a still).
 */
export function framesToDecode(source: { format: string; width: number; height: number; animation?: Animation }, presets: readonly ResolvedPreset[], limits: Limits): Animation | undefined {
  const { animation } = source;
  if (!animation || !presets.some((preset) => animatedFormat(preset, source.format))) return undefined;
  checkPixelLimit(source.width, source.height, limits, animation.pages);
  return animation;
}

/**
 * Whether a stored rendition can stand in for the original as the source of an on-demand size
 * without losing an animation the original may have: for a GIF or WebP original, only a rendition
 * of the same type (an `auto` preset keeps its animation in that type; a JPEG/PNG one is a frame).
 */
export function keepsAnimationOf(originalContentType: string, renditionContentType: string): boolean {
  const animatable = originalContentType === 'image/gif' || originalContentType === 'image/webp';
  return !animatable || renditionContentType === originalContentType;
}

/**
 * sharp's input for cutting a preset from the raw intermediate: every frame (declared with
 * `raw.pageHeight` and `animated: true`, so extract and resize apply frame by frame) when the
 * preset keeps the animation, else the first frame alone (a view of the buffer, no copy); and the
 * `loop`/`delay` options its encoder takes (none for a still).
 */
export function rawFramesInput(raw: { data: Buffer; width: number; height: number; channels: 1 | 2 | 3 | 4; frames?: Animation }, animated: boolean): {
  input: Buffer;
  options: SharpOptions;
  encoderOptions: { loop?: number; delay?: number[] };
} {
  const { width, height, channels, frames } = raw;
  if (!frames || !animated) {
    return { input: frames ? raw.data.subarray(0, width * height * channels) : raw.data, options: { raw: { width, height, channels } }, encoderOptions: {} };
  }
  return {
    input: raw.data,
    options: { raw: { width, height: height * frames.pages, channels, pageHeight: height }, animated: true },
    encoderOptions: { loop: frames.loop, ...(frames.delay ? { delay: frames.delay } : {}) },
  };
}
