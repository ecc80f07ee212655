/**
 * Animated originals (src/core/animation.ts): what keeping the frames costs. `npm run bench -- --only
 * animation --json`. The input is photo-like: a pan across the bench's largest photo, as an animated
 * GIF and WebP of FRAMES frames of WIDTHxHEIGHT, rendered with the default presets (animated) and
 * with the same presets as JPEG (the first frame only, as before issue 18).
 */
import sharp from 'sharp';
import { config } from '../src/config';
import { validateConfig } from '../src/core/presets';
import { renderPresets } from '../src/core/render';

const WIDTH = 480;
const HEIGHT = 270;
const FRAMES = 20;

export async function animationBench(photo: Buffer) {
  const presets = validateConfig(config);
  const base = await sharp(photo).rotate().resize({ width: WIDTH * 2, height: HEIGHT + 40, fit: 'cover' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const frames = Buffer.alloc(WIDTH * HEIGHT * 3 * FRAMES);
  for (let page = 0; page < FRAMES; page++) {
    for (let y = 0; y < HEIGHT; y++) {
      const from = ((y + 20) * base.info.width + page * Math.floor(WIDTH / FRAMES)) * 3;
      base.data.copy(frames, (page * HEIGHT + y) * WIDTH * 3, from, from + WIDTH * 3);
    }
  }
  const raw = { raw: { width: WIDTH, height: HEIGHT * FRAMES, channels: 3 as const, pageHeight: HEIGHT }, animated: true };
  const megapixels = (WIDTH * HEIGHT * FRAMES) / 1e6;
  const timed = async <T>(work: () => Promise<T>) => {
    const started = performance.now();
    const value = await work();
    return { value, ms: performance.now() - started };
  };
  const gifEncode: Record<string, { msPerMegapixel: number; bytes: number }> = {};
  for (const effort of [1, 7]) {
    const { value, ms } = await timed(() => sharp(frames, raw).gif({ effort }).toBuffer());
    gifEncode[`effort${effort}`] = { msPerMegapixel: round(ms / megapixels), bytes: value.length };
  }
  const webp = await timed(() => sharp(frames, raw).webp({ quality: config.jpegQuality }).toBuffer());
  const inputs = { gif: await sharp(frames, raw).gif({ effort: 1 }).toBuffer(), webp: webp.value };
  const stills = presets.map((preset) => ({ ...preset, format: 'jpeg' as const }));
  const render: Record<string, unknown> = {};
  for (const [format, input] of Object.entries(inputs)) {
    const animated = await timed(() => renderPresets(input, presets, config.limits));
    const firstFrame = await timed(() => renderPresets(input, stills, config.limits));
    render[format] = {
      inputBytes: input.length,
      animatedMs: round(animated.ms),
      animatedBytesOut: animated.value.renditions.reduce((sum, r) => sum + r.body.length, 0),
      firstFrameMs: round(firstFrame.ms),
      firstFrameBytesOut: firstFrame.value.renditions.reduce((sum, r) => sum + r.body.length, 0),
    };
  }
  return { frames: `${FRAMES}x${WIDTH}x${HEIGHT}`, gifEncode, webpEncodeMsPerMegapixel: round(webp.ms / megapixels), render };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
