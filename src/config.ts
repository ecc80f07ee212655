/**
 * photo-scaler's one configuration file. Edit the presets here; `validateConfig` (src/core/presets.ts)
 * refuses a bad config before anything is written, locally and in every Lambda cold start.
 */
import type { PhotoScalerConfig } from './core/presets';

export const config: PhotoScalerConfig = {
  presets: {
    thumb: { width: 80, height: 80, fit: 'cover' },
    small: { width: 300, height: 200, fit: 'cover' },
    medium: { width: 600, height: 400, fit: 'cover' },
    large: { width: 1024, height: 1024, fit: 'inside' },
  },
  /** JPEG quality for every preset that does not set its own. */
  jpegQuality: 82,
  limits: {
    /** sharp `limitInputPixels`: larger originals are recorded FAILED (decompression bombs). */
    maxInputPixels: 100_000_000,
    /** Originals larger than this are recorded FAILED before download. */
    maxInputBytes: 200 * 1024 * 1024,
  },
  /** A claim on content being rendered expires after this long (a crashed worker cannot block it forever). */
  claimLeaseMs: 5 * 60 * 1000,
};
