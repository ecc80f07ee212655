/**
 * HEVC-coded HEIF originals through the render core: real HEIC files made here by heif-enc (a missing
 * heif-enc fails these tests; CI installs it), decoded by libheif in WebAssembly, cut by sharp.
 */
import sharp from 'sharp';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { config } from '../../src/config';
import { decodeHeic } from '../../src/core/heic';
import { renderPresets } from '../../src/core/render';
import { validateConfig } from '../../src/core/presets';
import { cornerPhoto, encodeHeic, exifOrientation, requireHeifEnc, withRotation } from '../helpers/heic';
import { pixelAt } from '../helpers/images';

/** Every pixel decode heic-decode is asked for, counted (the container read is not one). */
const decodes = vi.hoisted(() => ({ count: 0 }));
vi.mock('heic-decode', async (importOriginal) => {
  const { countingDecoder } = await import('../helpers/heic');
  return countingDecoder(await importOriginal<typeof import('heic-decode')>(), () => decodes.count++);
});

const presets = validateConfig(config);
const limits = config.limits;
const RED = [expect.closeTo(255, -1.5), expect.closeTo(0, -1.5), expect.closeTo(0, -1.5)];
let photo: Buffer;
let heic: Buffer;

beforeAll(async () => {
  await requireHeifEnc();
  photo = await cornerPhoto(1200, 900);
  heic = await encodeHeic(photo);
}, 60_000);
beforeEach(() => {
  decodes.count = 0;
});

describe('HEIC originals', () => {
  it('sharp reads the container but cannot decode HEVC: the reason heic.ts exists', async () => {
    expect(await sharp(heic).metadata()).toMatchObject({ format: 'heif', compression: 'hevc', width: 1200, height: 900 });
    await expect(sharp(heic).raw().toBuffer()).rejects.toThrow(/HEVC/);
  });

  it('renders every preset from one decode, as sRGB JPEG at the preset sizes, upright', async () => {
    const result = await renderPresets(heic, presets, limits);
    expect(decodes.count).toBe(1);
    expect(result.source).toEqual({ format: 'heif', width: 1200, height: 900, hasAlpha: false });
    expect(Object.fromEntries(result.renditions.map((r) => [r.preset.name, `${r.width}x${r.height}`]))).toEqual({ thumb: '80x80', small: '300x200', medium: '600x400', large: '1024x768' });
    for (const rendition of result.renditions) {
      const meta = await sharp(rendition.body).metadata();
      expect(meta).toMatchObject({ format: 'jpeg', space: 'srgb', width: rendition.width, height: rendition.height });
      expect(meta.exif).toBeUndefined();
    }
    const large = result.renditions.find((r) => r.preset.name === 'large')!;
    expect(await pixelAt(large.body, 10, 10)).toEqual(RED);
    expect((await pixelAt(large.body, 1013, 757))[0]).toBeLessThan(60);
  });

  it('applies the file\'s irot transform, and not the Exif Orientation an iPhone also writes (that would rotate twice)', async () => {
    // As a camera writes a portrait: the pixels stored landscape, `irot` 270° anticlockwise (90° clockwise)
    // and Exif Orientation 6 saying the same. heif-enc carries the Exif tag; withRotation adds the irot.
    const stored = await encodeHeic(await cornerPhoto(1200, 900, { orientation: 6 }));
    expect(exifOrientation((await sharp(stored).metadata()).exif)).toBe(6);
    const portrait = withRotation(stored, 3);
    const result = await renderPresets(portrait, presets, limits);
    expect(result.source).toMatchObject({ width: 900, height: 1200 });
    const large = result.renditions.find((r) => r.preset.name === 'large')!;
    expect(`${large.width}x${large.height}`).toBe('768x1024');
    // The red top-left block of the stored pixels, turned 90° clockwise, is at the top right.
    expect(await pixelAt(large.body, 757, 10)).toEqual(RED);
    expect((await pixelAt(large.body, 10, 10))[0]).toBeLessThan(60);
    // With no irot, the Exif Orientation alone is not applied either (HEIF: informational only).
    const unrotated = await renderPresets(stored, presets, limits);
    const flat = unrotated.renditions.find((r) => r.preset.name === 'large')!;
    expect(`${flat.width}x${flat.height}`).toBe('1024x768');
    expect(await pixelAt(flat.body, 10, 10)).toEqual(RED);
  }, 30_000);

  it('honours an embedded ICC profile: Display P3 pixels come out as the same sRGB colour', async () => {
    const jpeg = await cornerPhoto(600, 400, { p3: true });
    // The stored numbers are P3's (sRGB red is about 234,51,35 in P3): ignoring the profile would show them.
    const [r, g] = await sharp(jpeg, { ignoreIcc: true }).raw().toBuffer();
    expect(r).toBeLessThan(245);
    expect(g).toBeGreaterThan(30);
    const p3 = await encodeHeic(jpeg);
    // heif-enc carried the JPEG's profile into the HEIC's `colr` box.
    expect((await sharp(p3).metadata()).icc?.equals((await sharp(jpeg).metadata()).icc!)).toBe(true);
    const stored = await renderPresets(p3, presets, limits);
    const large = stored.renditions.find((r) => r.preset.name === 'large')!;
    expect(await pixelAt(large.body, 5, 5)).toEqual(RED);
    expect((await sharp(large.body).metadata()).space).toBe('srgb');
  }, 30_000);

  it('refuses a HEIC over the pixel limit as too-large, before any pixel is decoded', async () => {
    const small = { ...limits, maxInputPixels: 1200 * 900 - 1 };
    await expect(renderPresets(heic, presets, small)).rejects.toMatchObject({ reason: 'too-large', detail: 'too large: 1200x900 is 1080000 pixels, limit is 1079999' });
    // heic.ts checks the container's size itself too, whoever calls it.
    await expect(decodeHeic(heic, { width: 1200, height: 900 }, small)).rejects.toMatchObject({ reason: 'too-large' });
    expect(decodes.count).toBe(0);
  });

  it('refuses a HEIC over its own, lower limit (limits.maxHeicPixels: its decode holds ~17 bytes a pixel) though under maxInputPixels; a JPEG of that size is rendered', async () => {
    const heicLimit = { ...limits, maxHeicPixels: 1200 * 900 - 1 };
    expect(limits.maxInputPixels).toBeGreaterThan(1200 * 900);
    await expect(renderPresets(heic, presets, heicLimit)).rejects.toMatchObject({ reason: 'too-large', detail: expect.stringContaining('limit for a HEIC is 1079999') });
    await expect(decodeHeic(heic, { width: 1200, height: 900 }, heicLimit)).rejects.toMatchObject({ reason: 'too-large' });
    expect(decodes.count).toBe(0);
    const jpeg = await sharp({ create: { width: 1200, height: 900, channels: 3, background: '#808080' } }).jpeg().toBuffer();
    expect((await renderPresets(jpeg, presets, heicLimit)).renditions).toHaveLength(presets.length);
    // The default, under the 1769 MB Lambdas that render (an iPhone's largest, 48 MP, measured 958 MB: npm run bench -- --only heic).
    expect(config.limits.maxHeicPixels).toBe(64_000_000);
  });

  it('records a truncated HEIC, and one whose coded data is damaged, as corrupt', async () => {
    await expect(renderPresets(heic.subarray(0, Math.floor(heic.length / 2)), presets, limits)).rejects.toMatchObject({ reason: 'corrupt', detail: expect.stringMatching(/^cannot decode/) });
    // Header intact, HEVC data zeroed: sharp reads the header, libheif's decoder fails.
    const damaged = Buffer.from(heic);
    damaged.fill(0, damaged.indexOf('mdat', 0, 'latin1') + 8);
    await expect(renderPresets(damaged, presets, limits)).rejects.toMatchObject({ reason: 'corrupt', detail: expect.stringMatching(/^cannot decode: HEIC/) });
  });

  it('keeps a transparent HEIC transparent (PNG presets)', async () => {
    const rgba = await sharp({ create: { width: 400, height: 300, channels: 4, background: { r: 0, g: 128, b: 255, alpha: 0.5 } } }).png().toBuffer();
    const transparent = await renderPresets(await encodeHeic(rgba), presets, limits);
    expect(transparent.source.hasAlpha).toBe(true);
    for (const rendition of transparent.renditions) {
      expect(rendition.format).toBe('png');
      expect((await sharp(rendition.body).metadata()).hasAlpha).toBe(true);
    }
  }, 30_000);
});
