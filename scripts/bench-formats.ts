/**
 * The format measurements of `npm run bench` (sections `formats` and `peakRssFormats`): candidate
 * encoder settings for each output format, rendered as src/core/render.ts renders (ONE decode to a
 * raw intermediate, every preset cut from it, each encoded without metadata).
 *
 * sharp's output options and their defaults (sharp 0.35, https://sharp.pixelplumbing.com/api-output,
 * and node_modules/sharp/lib/index.d.ts): jpeg quality 80, mozjpeg false (mozjpeg: true = trellis
 * quantisation, overshoot deringing, optimised progressive scans, quantisation table 3); webp
 * quality 80, effort 4 (0-6); avif quality 50, effort 4 (0-9), chromaSubsampling '4:4:4'.
 * What the services people compare us with use (cited in the report of issue 18):
 *   imgproxy (docs/configuration/options.mdx, imgproxy/imgproxy-docs): IMGPROXY_QUALITY 80,
 *     IMGPROXY_FORMAT_QUALITY avif=65, IMGPROXY_AVIF_SPEED 9 (the fastest: effort 0);
 *   AWS serverless-image-handler (source/image-handler/image-request.ts): sharp's defaults, WebP
 *     effort 4 ("default in sharp") when the request's Accept takes WebP.
 */
import sharp, { type AvifOptions, type JpegOptions, type Sharp, type WebpOptions } from 'sharp';
import { coverRegion, inspect, planIntermediate, presetScale, type RawImage } from '../src/core/render';
import type { Limits, ResolvedPreset } from '../src/core/presets';

export type CandidateFormat = 'jpeg' | 'webp' | 'avif';

export interface Candidate {
  name: string;
  format: CandidateFormat;
  options: JpegOptions | WebpOptions | AvifOptions;
}

/** The settings compared. `jpeg` and `mozjpeg` at the config's quality are today's output and its mozjpeg switch. */
export function formatCandidates(jpegQuality: number): Candidate[] {
  return [
    { name: 'jpeg', format: 'jpeg', options: { quality: jpegQuality } },
    { name: 'jpeg-q80', format: 'jpeg', options: { quality: 80 } },
    { name: 'mozjpeg', format: 'jpeg', options: { quality: jpegQuality, mozjpeg: true } },
    { name: 'mozjpeg-q80', format: 'jpeg', options: { quality: 80, mozjpeg: true } },
    { name: 'webp-q75-e4', format: 'webp', options: { quality: 75, effort: 4 } },
    { name: 'webp-q80-e4', format: 'webp', options: { quality: 80, effort: 4 } },
    { name: 'avif-q50-e4', format: 'avif', options: { quality: 50, effort: 4 } },
    { name: 'avif-q55-e2', format: 'avif', options: { quality: 55, effort: 2 } },
    { name: 'avif-q65-e0', format: 'avif', options: { quality: 65, effort: 0 } },
  ];
}

/** render.ts's decode step (inspect, plan, ONE decode: rotate, shrink to the plan, sRGB, 8-bit raw), without its alpha handling: photos are flattened to RGB. */
export async function decodeOnce(input: Uint8Array, presets: readonly ResolvedPreset[], limits: Limits, options: { sequentialRead?: boolean } = {}): Promise<RawImage> {
  const source = await inspect(input, limits);
  const plan = planIntermediate(source, presets);
  let pipeline = sharp(input, { limitInputPixels: limits.maxInputPixels, failOn: 'error', ...(options.sequentialRead === undefined ? {} : { sequentialRead: options.sequentialRead }) }).rotate();
  if (plan.width < source.width || plan.height < source.height) pipeline = pipeline.resize({ width: plan.width, height: plan.height, fit: 'fill' });
  const { data, info } = await pipeline.toColourspace('srgb').removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** render.ts's cut step up to the encoder: the preset's pixels from the intermediate. */
export function cutPipeline(raw: RawImage, preset: ResolvedPreset): Sharp {
  let pipeline = sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels } });
  if (preset.fit === 'cover' && !(preset.withoutEnlargement && presetScale(raw, preset) > 1)) {
    const region = coverRegion(raw, preset);
    if (region.width < raw.width || region.height < raw.height) pipeline = pipeline.extract(region);
    return pipeline.resize({ width: preset.width, height: preset.height, fit: 'fill' });
  }
  return pipeline.resize({ width: preset.width, height: preset.height, fit: preset.fit, withoutEnlargement: preset.withoutEnlargement });
}

export function encode(pipeline: Sharp, candidate: Candidate): Promise<Buffer> {
  if (candidate.format === 'jpeg') return pipeline.jpeg(candidate.options as JpegOptions).toBuffer();
  if (candidate.format === 'webp') return pipeline.webp(candidate.options as WebpOptions).toBuffer();
  return pipeline.avif(candidate.options as AvifOptions).toBuffer();
}

/** Every preset in every candidate format from ONE decode, all cuts at once (as renderPresets runs its presets). Returns the bytes written. */
export async function renderAllFormats(input: Uint8Array, presets: readonly ResolvedPreset[], limits: Limits, candidates: readonly Candidate[], options: { sequentialRead?: boolean } = {}): Promise<number> {
  const raw = await decodeOnce(input, presets, limits, options);
  const outputs = await Promise.all(presets.flatMap((preset) => candidates.map((candidate) => encode(cutPipeline(raw, preset), candidate))));
  return outputs.reduce((sum, body) => sum + body.byteLength, 0);
}

/**
 * Mean SSIM of the luma of `encoded` against the `reference` pixels (RGB, same size), over 8x8
 * windows (Wang et al. 2004, constants K1 = 0.01, K2 = 0.03): a quality figure beside the bytes, so
 * that a smaller file is not simply a worse picture.
 */
export async function lumaSsim(reference: RawImage, encoded: Buffer): Promise<number> {
  const decoded = await sharp(encoded).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const a = luma(reference.data, reference.channels, reference.width * reference.height);
  const b = luma(decoded.data, decoded.info.channels, decoded.info.width * decoded.info.height);
  const { width, height } = reference;
  const c1 = (0.01 * 255) ** 2;
  const c2 = (0.03 * 255) ** 2;
  let sum = 0;
  let windows = 0;
  for (let y = 0; y + 8 <= height; y += 8) {
    for (let x = 0; x + 8 <= width; x += 8) {
      let ma = 0, mb = 0;
      for (let j = 0; j < 8; j++) for (let i = 0; i < 8; i++) ma += a[(y + j) * width + x + i]!, mb += b[(y + j) * width + x + i]!;
      ma /= 64;
      mb /= 64;
      let va = 0, vb = 0, cov = 0;
      for (let j = 0; j < 8; j++) {
        for (let i = 0; i < 8; i++) {
          const da = a[(y + j) * width + x + i]! - ma;
          const db = b[(y + j) * width + x + i]! - mb;
          va += da * da;
          vb += db * db;
          cov += da * db;
        }
      }
      va /= 63;
      vb /= 63;
      cov /= 63;
      sum += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
      windows++;
    }
  }
  return windows ? sum / windows : 1;
}

function luma(data: Buffer, channels: number, pixels: number): Float32Array {
  const out = new Float32Array(pixels);
  for (let p = 0; p < pixels; p++) {
    const o = p * channels;
    out[p] = channels >= 3 ? 0.299 * data[o]! + 0.587 * data[o + 1]! + 0.114 * data[o + 2]! : data[o]!;
  }
  return out;
}
