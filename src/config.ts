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
  /**
   * mozjpeg encoding for JPEG crops: about 19 % smaller files for about 1.5x the render time (see
   * `npm run bench`, field mozjpeg). Off: Lambda time is the migration's cost; turn it on when egress
   * and storage dominate.
   */
  mozjpeg: false,
  limits: {
    /** sharp `limitInputPixels`: larger originals are recorded FAILED (decompression bombs). */
    maxInputPixels: 100_000_000,
    /** Originals larger than this are recorded FAILED before download. */
    maxInputBytes: 200 * 1024 * 1024,
    /** A HEIC's own pixel limit: its WebAssembly decode holds ~17 bytes a pixel (HEIC_MAX_PIXELS, src/core/presets.ts). */
    maxHeicPixels: 64_000_000,
  },
  onDemand: {
    /**
     * The only sizes `GET /dynamic/<size>/<key>` renders (`WxH` = cover, `WxH-inside` = fit inside
     * without enlargement). Anything else is refused: unbounded sizes are a denial-of-wallet hole.
     */
    sizes: ['100x100', '150x150', '300x200', '300x200-inside', '640x480', '640x480-inside', '800x600-inside', '1280x720', '1600x1200-inside'],
    /** Environment variable holding the HMAC-SHA256 signing secret; when it is set, every on-demand URL needs `?sig=`. */
    signingSecretEnv: 'PHOTO_SCALER_SIGNING_SECRET',
  },
  /**
   * Cache lifetimes of what a logical URL (`/<key>`, `/<preset>/<key>`, `/dynamic/<size>/<key>`)
   * answers through the CDN. Assets (`/assets/…`) are immutable and cached for a year regardless.
   */
  delivery: {
    /** Browsers: an overwritten photo is seen within a minute. */
    browserSeconds: 60,
    /** CloudFront: a day; live sync invalidates the URLs it changes, so this only bounds a missed change. */
    cdnSeconds: 86_400,
    /** 404s and refusals: a minute. */
    errorSeconds: 60,
  },
  /** A claim on content being rendered expires after this long (a crashed worker cannot block it forever). */
  claimLeaseMs: 5 * 60 * 1000,
};
