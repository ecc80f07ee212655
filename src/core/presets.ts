import { ConfigError } from './errors';

export type Fit = 'cover' | 'inside';
/** `auto`: JPEG, unless the original has an alpha channel (then PNG). */
export type OutputFormat = 'auto' | 'jpeg' | 'png' | 'webp';

export interface Preset {
  width: number;
  height: number;
  fit: Fit;
  format?: OutputFormat;
  quality?: number;
  /** Defaults: false for `cover` (always exactly WxH), true for `inside` (never upscale). */
  withoutEnlargement?: boolean;
}

export interface Limits {
  maxInputPixels: number;
  maxInputBytes: number;
}

export interface PhotoScalerConfig {
  presets: Record<string, Preset>;
  jpegQuality: number;
  limits: Limits;
  claimLeaseMs: number;
}

/** A preset with every default filled in. */
export interface ResolvedPreset extends Required<Preset> {
  name: string;
  /** Stable fingerprint: a catalog row whose spec differs was made by another preset definition. */
  spec: string;
}

/** Names used by the key scheme itself (`dynamic/<WxH>/<key>` belongs to the on-demand API). */
export const RESERVED_PRESET_NAMES = ['dynamic', 'assets', 'runs', 'inventory', 'original'];
const NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const MAX_SIDE = 8192;

export function validateConfig(config: PhotoScalerConfig): ResolvedPreset[] {
  const problems: string[] = [];
  const presets = Object.entries(config.presets ?? {});
  if (presets.length === 0) problems.push('at least one preset is required');
  if (!isIntIn(config.jpegQuality, 1, 100)) problems.push(`jpegQuality must be an integer 1..100, got ${config.jpegQuality}`);
  if (!isIntIn(config.limits?.maxInputPixels, 1, Number.MAX_SAFE_INTEGER)) problems.push('limits.maxInputPixels must be a positive integer');
  if (!isIntIn(config.limits?.maxInputBytes, 1, Number.MAX_SAFE_INTEGER)) problems.push('limits.maxInputBytes must be a positive integer');
  if (!isIntIn(config.claimLeaseMs, 1, Number.MAX_SAFE_INTEGER)) problems.push('claimLeaseMs must be a positive integer');
  const resolved: ResolvedPreset[] = [];
  for (const [name, preset] of presets) {
    const where = `preset "${name}"`;
    if (!NAME.test(name)) problems.push(`${where}: name must match ${NAME}`);
    if (RESERVED_PRESET_NAMES.includes(name)) problems.push(`${where}: "${name}" is reserved`);
    if (!isIntIn(preset.width, 1, MAX_SIDE)) problems.push(`${where}: width must be an integer 1..${MAX_SIDE}`);
    if (!isIntIn(preset.height, 1, MAX_SIDE)) problems.push(`${where}: height must be an integer 1..${MAX_SIDE}`);
    if (preset.fit !== 'cover' && preset.fit !== 'inside') problems.push(`${where}: fit must be "cover" or "inside"`);
    const format = preset.format ?? 'auto';
    if (!['auto', 'jpeg', 'png', 'webp'].includes(format)) problems.push(`${where}: format must be auto, jpeg, png or webp`);
    const quality = preset.quality ?? config.jpegQuality;
    if (!isIntIn(quality, 1, 100)) problems.push(`${where}: quality must be an integer 1..100`);
    const withoutEnlargement = preset.withoutEnlargement ?? preset.fit === 'inside';
    const spec = `${preset.width}x${preset.height}-${preset.fit}-${format}-q${quality}${withoutEnlargement ? '-noup' : ''}`;
    resolved.push({ name, width: preset.width, height: preset.height, fit: preset.fit, format, quality, withoutEnlargement, spec });
  }
  if (problems.length > 0) throw new ConfigError(`invalid photo-scaler config:\n  - ${problems.join('\n  - ')}`);
  return resolved;
}

function isIntIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}
