import { ConfigError, PhotoError } from './errors';
import { RESERVED_NAMES, VARIANT_FORMATS, type VariantFormat, variantName } from './layout';

export type Fit = 'cover' | 'inside';
/** `auto`: JPEG, unless the original has an alpha channel (then PNG); an animated GIF/WebP keeps its format. */
export type OutputFormat = 'auto' | 'jpeg' | 'png' | 'webp' | 'avif';

/**
 * Encoder settings of each variant format (`npm run bench -- --only formats` on ../shared/photos: WebP
 * q80 effort 4 is 0.68x the bytes of JPEG q82 at the same SSIM for +1.15x render time; AVIF q55 effort
 * 2 is 0.45x for +3.1x — at effort 4 it costs 24x). Effort: sharp's `webp({effort})` 0..6 (default 4),
 * `avif({effort})` 0..9 (default 4): https://sharp.pixelplumbing.com/api-output
 */
export const VARIANT_SETTINGS: Readonly<Record<VariantFormat, { quality: number; effort: number }>> = {
  webp: { quality: 80, effort: 4 },
  avif: { quality: 55, effort: 2 },
};

export interface Preset {
  width: number;
  height: number;
  fit: Fit;
  format?: OutputFormat;
  quality?: number;
  /** Defaults: false for `cover` (always exactly WxH), true for `inside` (never upscale). */
  withoutEnlargement?: boolean;
  /** mozjpeg's encoder: smaller JPEGs, slower encoding (npm run bench reports both). */
  mozjpeg?: boolean;
  /**
   * Extra encodings of the same crop beside the primary one (`webp`, `avif`): each its own asset,
   * pointer at `<preset>.<format>/<key>` and catalog row, rendered from the same single decode.
   */
  formats?: VariantFormat[];
}

export interface Limits {
  maxInputPixels: number;
  maxInputBytes: number;
  /**
   * A HEIC's own pixel limit (default HEIC_MAX_PIXELS), under maxInputPixels: its WebAssembly decode
   * holds about 17 bytes a pixel at once (src/core/heic.ts), so a 100 MP HEIC would not fit a 1769 MB Lambda.
   */
  maxHeicPixels?: number;
}

/**
 * 64 MP. Peak RSS rendering every preset of a Display P3 HEIC (`npm run bench -- --only heic`): 314 MB
 * at 12 MP, 958 MB at 48 MP (an iPhone's largest), 17.6 MB more per megapixel — so ~1.2 GB at 64 MP,
 * with room in the rendering Lambdas' 1769 MB, and ~1.9 GB at the 100 MP maxInputPixels, without.
 */
export const HEIC_MAX_PIXELS = 64_000_000;

/**
 * The pixel limit, checked from a header before any pixel is decoded: an image of `width` x `height`
 * (and `frames` of them, for an animation) over `limits.maxInputPixels` is refused (too-large).
 */
export function checkPixelLimit(width: number, height: number, limits: Limits, frames = 1): void {
  const pixels = width * height * frames;
  if (pixels > limits.maxInputPixels) {
    throw new PhotoError('too-large', `too large: ${width}x${height}${frames > 1 ? ` x ${frames} frames` : ''} is ${pixels} pixels, limit is ${limits.maxInputPixels}`);
  }
}

export interface OnDemandConfig {
  sizes: string[];
  /**
   * Variant formats a new on-demand size may be made in (default none): a request is rendered in the
   * one its Accept takes (src/core/negotiate.ts), stored at `dynamic/<WxH>.<format>/<key>`.
   */
  formats?: VariantFormat[];
  signingSecretEnv: string;
}

/** How long caches keep what a logical URL answered (src/core/resolve.ts; the CDN and browsers). */
export interface DeliveryConfig {
  /** Browsers (max-age): a re-pointed logical URL is seen within this long. */
  browserSeconds: number;
  /** The CDN (s-maxage): live sync invalidates what it changes; otherwise this bounds staleness. */
  cdnSeconds: number;
  /** A 4xx answer (a 404, a refused size): short, so a new upload appears soon, yet a flood of one bad URL is absorbed. */
  errorSeconds: number;
}

export interface PhotoScalerConfig {
  presets: Record<string, Preset>;
  /** Defaults: DEFAULT_DELIVERY in src/core/resolve.ts. */
  delivery?: DeliveryConfig;
  jpegQuality: number;
  /** Default of every preset's `mozjpeg`. */
  mozjpeg: boolean;
  limits: Limits;
  onDemand: OnDemandConfig;
  claimLeaseMs: number;
}

/** A preset with every default filled in; each variant of a preset is one too (named `<preset>.<format>`). */
export interface ResolvedPreset extends Required<Omit<Preset, 'formats'>> {
  name: string;
  /** A variant's preset (`thumb` for `thumb.webp`); absent on a primary preset. */
  variantOf?: string;
  /** A variant's primary's format: a variant keeps an animation exactly when its primary does (animation.ts). */
  primaryFormat?: OutputFormat;
  /** sharp's encoder effort, for WebP and AVIF. */
  effort?: number;
  /** Stable fingerprint: a catalog row whose spec differs was made by another preset definition. */
  spec: string;
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const MAX_SIDE = 8192;

export function validateConfig(config: PhotoScalerConfig): ResolvedPreset[] {
  const problems: string[] = [];
  const presets = Object.entries(config.presets ?? {});
  if (presets.length === 0) problems.push('at least one preset is required');
  if (!isIntIn(config.jpegQuality, 1, 100)) problems.push(`jpegQuality must be an integer 1..100, got ${config.jpegQuality}`);
  if (!isIntIn(config.limits?.maxInputPixels, 1, Number.MAX_SAFE_INTEGER)) problems.push('limits.maxInputPixels must be a positive integer');
  if (!isIntIn(config.limits?.maxInputBytes, 1, Number.MAX_SAFE_INTEGER)) problems.push('limits.maxInputBytes must be a positive integer');
  if (config.limits?.maxHeicPixels !== undefined && !isIntIn(config.limits.maxHeicPixels, 1, Number.MAX_SAFE_INTEGER)) problems.push('limits.maxHeicPixels must be a positive integer');
  if (!isIntIn(config.claimLeaseMs, 1, Number.MAX_SAFE_INTEGER)) problems.push('claimLeaseMs must be a positive integer');
  for (const size of config.onDemand?.sizes ?? []) {
    if (!parseSize(size)) problems.push(`onDemand.sizes: "${size}" is not WxH or WxH-cover / WxH-inside with sides 1..${MAX_SIDE}`);
  }
  if (!config.onDemand || !Array.isArray(config.onDemand.sizes)) problems.push('onDemand.sizes must be a list of sizes');
  variantFormats(config.onDemand?.formats ?? [], 'onDemand.formats', problems);
  for (const field of ['browserSeconds', 'cdnSeconds', 'errorSeconds'] as const) {
    // CloudFront's longest TTL is a year (31,536,000 s).
    if (config.delivery && !isIntIn(config.delivery[field], 0, 31_536_000)) problems.push(`delivery.${field} must be an integer 0..31536000`);
  }
  const resolved: ResolvedPreset[] = [];
  for (const [name, preset] of presets) {
    const where = `preset "${name}"`;
    if (!NAME.test(name)) problems.push(`${where}: name must match ${NAME}`);
    if (RESERVED_NAMES.includes(name)) problems.push(`${where}: "${name}" is reserved`);
    if (!isIntIn(preset.width, 1, MAX_SIDE)) problems.push(`${where}: width must be an integer 1..${MAX_SIDE}`);
    if (!isIntIn(preset.height, 1, MAX_SIDE)) problems.push(`${where}: height must be an integer 1..${MAX_SIDE}`);
    if (preset.fit !== 'cover' && preset.fit !== 'inside') problems.push(`${where}: fit must be "cover" or "inside"`);
    const format = preset.format ?? 'auto';
    if (!['auto', 'jpeg', 'png', 'webp', 'avif'].includes(format)) problems.push(`${where}: format must be auto, jpeg, png, webp or avif`);
    const quality = preset.quality ?? config.jpegQuality;
    if (!isIntIn(quality, 1, 100)) problems.push(`${where}: quality must be an integer 1..100`);
    resolved.push(resolvePreset(name, { ...preset, format, quality, mozjpeg: preset.mozjpeg ?? config.mozjpeg === true }));
    for (const variant of variantFormats(preset.formats ?? [], `${where}: formats`, problems)) {
      if (variant === format) problems.push(`${where}: ${variant} is its primary format already`);
      else resolved.push(resolveVariant(name, preset, variant));
    }
  }
  if (problems.length > 0) throw new ConfigError(`invalid photo-scaler config:\n  - ${problems.join('\n  - ')}`);
  return resolved;
}

/**
 * The valid formats a list names, each once; every other entry is a problem (`label` names the list:
 * a preset's `formats`, `onDemand.formats`).
 */
function variantFormats(list: unknown, label: string, problems: string[]): VariantFormat[] {
  if (!Array.isArray(list)) {
    problems.push(`${label} must be a list of ${VARIANT_FORMATS.join(', ')}`);
    return [];
  }
  return list.filter((format, i): format is VariantFormat => {
    if (!VARIANT_FORMATS.includes(format)) problems.push(`${label} may name ${VARIANT_FORMATS.join(', ')}, not "${format}"`);
    else if (list.indexOf(format) !== i) problems.push(`${label} names ${format} twice`);
    else return true;
    return false;
  });
}

/**
 * The variant `<base>.<format>` of a preset (or of an on-demand size): the same geometry, encoded with
 * the format's measured settings (VARIANT_SETTINGS).
 */
export function resolveVariant(base: string, geometry: Preset, format: VariantFormat): ResolvedPreset {
  return resolvePreset(variantName(base, format), { ...geometry, format, quality: VARIANT_SETTINGS[format].quality, mozjpeg: false }, base, geometry.format ?? 'auto');
}

/**
 * Fills in a preset's defaults and its spec fingerprint. A variant's spec does not name its primary's
 * format, though what the variant holds of an animation follows it: a change of the primary's format
 * changes the primary's spec, and Resize renders every preset of the key again; a change of the rule
 * itself (variants stored before it) is what `verify --deep` finds and `repair` mends, key by key,
 * rather than every photo of a library rendered again.
 */
export function resolvePreset(name: string, preset: Preset & { quality: number }, variantOf?: string, primaryFormat?: OutputFormat): ResolvedPreset {
  const format = preset.format ?? 'auto';
  const withoutEnlargement = preset.withoutEnlargement ?? preset.fit === 'inside';
  const mozjpeg = preset.mozjpeg === true;
  // A variant's encoder effort is part of its spec; a primary WebP/AVIF preset keeps sharp's default.
  const effort = variantOf !== undefined && (format === 'webp' || format === 'avif') ? VARIANT_SETTINGS[format].effort : undefined;
  const spec = `${preset.width}x${preset.height}-${preset.fit}-${format}-q${preset.quality}${withoutEnlargement ? '-noup' : ''}${mozjpeg ? '-moz' : ''}${effort !== undefined ? `-e${effort}` : ''}`;
  return {
    name, width: preset.width, height: preset.height, fit: preset.fit, format, quality: preset.quality, withoutEnlargement, mozjpeg, spec,
    ...(variantOf !== undefined ? { variantOf, primaryFormat: primaryFormat ?? 'auto' } : {}),
    ...(effort !== undefined ? { effort } : {}),
  };
}

export interface Size {
  width: number;
  height: number;
  fit: Fit;
  /** Canonical text: `300x200` (cover) or `300x200-inside`. */
  text: string;
}

/** `300x200`, `300x200-cover` (same as `300x200`) or `300x200-inside`; undefined when malformed. */
export function parseSize(text: string): Size | undefined {
  const match = /^([1-9]\d{0,4})x([1-9]\d{0,4})(?:-(cover|inside))?$/.exec(text);
  if (!match) return undefined;
  const width = Number(match[1]);
  const height = Number(match[2]);
  if (width > MAX_SIDE || height > MAX_SIDE) return undefined;
  const fit = (match[3] ?? 'cover') as Fit;
  return { width, height, fit, text: `${width}x${height}${fit === 'inside' ? '-inside' : ''}` };
}

function isIntIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}
