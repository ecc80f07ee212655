import sharp, { type Sharp } from 'sharp';
import { describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import { PhotoError } from '../../src/core/errors';
import { validateConfig } from '../../src/core/presets';
import { coverRegion, planIntermediate, renderPresets, rendersDirectly } from '../../src/core/render';
import { resolvePreset } from '../../src/core/presets';
import { alphaPng, noiseJpeg, opaquePng, pixelAt, twoToneJpeg } from '../helpers/images';

const presets = validateConfig(config);
const limits = config.limits;
const dims = (result: Awaited<ReturnType<typeof renderPresets>>) =>
  Object.fromEntries(result.renditions.map((r) => [r.preset.name, `${r.width}x${r.height}`]));

describe('renderPresets', () => {
  it('cuts every default preset from a JPEG, as JPEG, with the promised sizes', async () => {
    const result = await renderPresets(await twoToneJpeg(1600, 1200), presets, limits);
    expect(dims(result)).toEqual({ thumb: '80x80', small: '300x200', medium: '600x400', large: '1024x768' });
    for (const rendition of result.renditions) {
      const meta = await sharp(rendition.body).metadata();
      expect(meta.format).toBe('jpeg');
      expect(`${meta.width}x${meta.height}`).toBe(`${rendition.width}x${rendition.height}`);
      expect(rendition.contentType).toBe('image/jpeg');
      expect(meta.exif).toBeUndefined();
      expect(meta.icc).toBeUndefined();
    }
    const large = result.renditions.find((r) => r.preset.name === 'large')!;
    expect(await pixelAt(large.body, 10, 384)).toEqual([expect.closeTo(255, -1.5), expect.any(Number), expect.closeTo(0, -1.5)]);
  });

  it.each([2, 3, 4, 5, 6, 7, 8])('applies EXIF orientation %i: red stays left, blue right, landscape stays landscape', async (orientation) => {
    const result = await renderPresets(await twoToneJpeg(1200, 800, { orientation }), presets, limits);
    expect(result.source).toMatchObject({ width: 1200, height: 800 });
    const large = result.renditions.find((r) => r.preset.name === 'large')!;
    expect(`${large.width}x${large.height}`).toBe('1024x683');
    const [leftR, , leftB] = await pixelAt(large.body, 20, 340);
    const [rightR, , rightB] = await pixelAt(large.body, 1000, 340);
    expect(leftR).toBeGreaterThan(200);
    expect(leftB).toBeLessThan(60);
    expect(rightB).toBeGreaterThan(200);
    expect(rightR).toBeLessThan(60);
    expect((await sharp(large.body).metadata()).orientation).toBeUndefined();
  });

  it('keeps PNG with alpha as PNG with alpha, and turns an opaque PNG into JPEG', async () => {
    const alpha = await renderPresets(await alphaPng(900, 600), presets, limits);
    for (const rendition of alpha.renditions) {
      expect(rendition.format).toBe('png');
      expect((await sharp(rendition.body).metadata()).hasAlpha).toBe(true);
    }
    const opaque = await renderPresets(await opaquePng(900, 600), presets, limits);
    expect(opaque.renditions.map((r) => r.format)).toEqual(['jpeg', 'jpeg', 'jpeg', 'jpeg']);
  });

  it('never enlarges an `inside` preset, while `cover` presets are always exactly WxH', async () => {
    const result = await renderPresets(await twoToneJpeg(120, 90), presets, limits);
    expect(dims(result)).toEqual({ thumb: '80x80', small: '300x200', medium: '600x400', large: '120x90' });
  });

  it('converts CMYK to sRGB and greyscale to sRGB', async () => {
    const cmyk = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#3366cc' } }).toColourspace('cmyk').jpeg().toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const fromCmyk = await renderPresets(cmyk, presets, limits);
    expect((await sharp(fromCmyk.renditions[0]!.body).metadata()).space).toBe('srgb');
    const grey = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#777777' } }).greyscale().jpeg().toBuffer();
    const fromGrey = await renderPresets(grey, presets, limits);
    expect(fromGrey.renditions).toHaveLength(4);
  });

  it('refuses what it cannot decode, and pixel bombs, with PhotoError', async () => {
    const jpeg = await twoToneJpeg(800, 600);
    await expect(renderPresets(jpeg.subarray(0, jpeg.length / 2), presets, limits)).rejects.toThrow(PhotoError);
    await expect(renderPresets(Buffer.from('not an image at all'), presets, limits)).rejects.toMatchObject({ reason: 'corrupt', detail: expect.stringMatching(/^cannot decode/) });
    await expect(renderPresets(jpeg, presets, { ...limits, maxInputPixels: 1000 })).rejects.toMatchObject({ reason: 'too-large', detail: expect.stringMatching(/^too large: 800x600/) });
  });
});

describe('odd geometry', () => {
  // libvips' cover scales the whole frame before cropping: a 100000x1 strip cut to 80x80 was scaled to
  // 8,000,000x80 and failed with "affine: output coordinates out of range".
  it.each([
    [100_000, 1, { thumb: '80x80', small: '300x200', medium: '600x400', large: '1024x1' }],
    [1, 100_000, { thumb: '80x80', small: '300x200', medium: '600x400', large: '1x1024' }],
    [1, 1, { thumb: '80x80', small: '300x200', medium: '600x400', large: '1x1' }],
    [30_000, 7, { thumb: '80x80', small: '300x200', medium: '600x400', large: '1024x1' }],
  ])('a %ix%i PNG gets every preset at its promised size', async (width, height, expected) => {
    const png = await sharp({ create: { width, height, channels: 3, background: '#c03020' } }).png().toBuffer();
    const result = await renderPresets(png, presets, limits);
    expect(dims(result)).toEqual(expected);
    const thumb = result.renditions.find((r) => r.preset.name === 'thumb')!;
    expect(await pixelAt(thumb.body, 40, 40)).toEqual([expect.closeTo(0xc0, -1.5), expect.closeTo(0x30, -1.5), expect.closeTo(0x20, -1.5)]);
  });

  it('cover keeps the centred region of the preset\'s aspect ratio, as a cover resize does', async () => {
    expect(coverRegion({ width: 1600, height: 1200 }, { width: 300, height: 200 })).toEqual({ left: 0, top: 66, width: 1600, height: 1067 });
    expect(coverRegion({ width: 100_000, height: 1 }, { width: 80, height: 80 })).toEqual({ left: 49_999, top: 0, width: 1, height: 1 });
    // A two-tone photo (red left half, blue right half) cut to a square: the centre column is the border.
    const square = (await renderPresets(await twoToneJpeg(1600, 400), [resolvePreset('sq', { width: 100, height: 100, fit: 'cover', quality: 90 })], limits)).renditions[0]!;
    expect((await pixelAt(square.body, 5, 50))[0]).toBeGreaterThan(200);
    expect((await pixelAt(square.body, 95, 50))[2]).toBeGreaterThan(200);
  });

  it('a failure inside rendering is a PhotoError naming the preset, never a raw libvips error', async () => {
    const broken = { ...resolvePreset('broken', { width: 100, height: 100, fit: 'cover', quality: 80 }), quality: 0 };
    const error = await renderPresets(await twoToneJpeg(400, 300), [broken], limits).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PhotoError);
    expect(error).toMatchObject({ reason: 'render-failed', detail: expect.stringMatching(/^cannot render preset broken \(100x100 cover\) of a 400x300 image: /) });
  });
});

describe('the reason of a failed decode', () => {
  it('is the decoder\'s own, even when many decodes fail at once (libvips\' shared error buffer says "Unknown error" otherwise)', async () => {
    const good = await noiseJpeg(800, 600, 1);
    const truncated = good.subarray(0, 4000);
    const reasons: string[] = [];
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        Array.from({ length: 16 }, async (_, i) => {
          try {
            await renderPresets(i % 2 ? truncated : good, presets, config.limits);
          } catch (error) {
            reasons.push(`${(error as PhotoError).reason} ${(error as PhotoError).detail}`);
          }
        }),
      );
    }
    expect(reasons).toHaveLength(40);
    expect([...new Set(reasons)]).toEqual(['corrupt cannot decode: VipsJpeg: premature end of JPEG image']);
  });
});

describe('planIntermediate', () => {
  it('is the smallest size every preset can be cut from, never larger than the original', () => {
    expect(planIntermediate({ width: 8000, height: 6000 }, presets)).toEqual({ width: 1024, height: 768 });
    expect(planIntermediate({ width: 6000, height: 1000 }, presets)).toEqual({ width: 2400, height: 400 });
    expect(planIntermediate({ width: 100, height: 100 }, presets)).toEqual({ width: 100, height: 100 });
  });
});

describe('alpha', () => {
  it('an alpha channel that is fully opaque does not make PNG crops', async () => {
    const rgbaOpaque = await sharp({ create: { width: 600, height: 400, channels: 4, background: { r: 1, g: 2, b: 3, alpha: 1 } } }).png().toBuffer();
    expect((await sharp(rgbaOpaque).metadata()).hasAlpha).toBe(true);
    const result = await renderPresets(rgbaOpaque, presets, limits);
    expect(result.source.hasAlpha).toBe(false);
    for (const rendition of result.renditions) {
      const meta = await sharp(rendition.body).metadata();
      expect([meta.format, meta.channels]).toEqual(['jpeg', 3]);
    }
  });
});

describe('libvips operation cache', () => {
  it('is off once render.ts is loaded: a rendered photo leaves no cached operation (nor its decode buffers) behind', async () => {
    await renderPresets(await noiseJpeg(1200, 800), presets, limits);
    const stats = sharp.cache();
    expect([stats.items.max, stats.items.current, stats.memory.max]).toEqual([0, 0, 0]);
  });
});

describe('variants', () => {
  it('renders every variant from the one decode: WebP and AVIF decoded at the preset size, sRGB, upright', async () => {
    const presets = validateConfig({ ...config, presets: { small: { width: 300, height: 200, fit: 'cover', formats: ['webp', 'avif'] } } });
    // 600x400, left half red, right half blue: a wrong orientation or crop moves the red.
    const input = await twoToneJpeg(600, 400);
    const { renditions } = await renderPresets(input, presets, config.limits);
    expect(renditions.map((r) => [r.preset.name, r.format, r.ext, r.contentType])).toEqual([
      ['small', 'jpeg', 'jpg', 'image/jpeg'],
      ['small.webp', 'webp', 'webp', 'image/webp'],
      ['small.avif', 'avif', 'avif', 'image/avif'],
    ]);
    for (const rendition of renditions) {
      const meta = await sharp(rendition.body).metadata();
      expect([meta.width, meta.height, meta.space], rendition.preset.name).toEqual([300, 200, 'srgb']);
      expect(meta.format).toBe(rendition.format === 'avif' ? 'heif' : rendition.format);
      const [r = 0, g = 0, b = 0] = await pixelAt(rendition.body, 10, 10);
      expect(r, rendition.preset.name).toBeGreaterThan(180);
      expect(g + b, rendition.preset.name).toBeLessThan(150);
    }
    expect(renditions[1]!.body.byteLength).toBeLessThan(renditions[0]!.body.byteLength);
  });
});

describe('one preset alone (an on-demand size): decoded, scaled and encoded in one pipeline', () => {
  const alone = resolvePreset('dynamic-300x200', { width: 300, height: 200, fit: 'cover', quality: 90 });
  const tiny = resolvePreset('tiny', { width: 8, height: 8, fit: 'cover', quality: 90 });
  const still = { format: 'jpeg', width: 1200, height: 800, hasAlpha: false };

  it('is taken for a still, opaque photo it scales down, and nothing else', () => {
    expect(rendersDirectly(still, [alone])).toBe(true);
    expect(rendersDirectly({ ...still, width: 300, height: 200 }, [alone])).toBe(true);
    expect(rendersDirectly(still, [alone, tiny])).toBe(false);
    expect(rendersDirectly({ ...still, width: 200, height: 100 }, [alone])).toBe(false);
    // An `inside` size larger than the photo (its scale capped at 1 by withoutEnlargement) is the two steps'.
    const insideLarge = resolvePreset('dynamic-1600x1200-inside', { width: 1600, height: 1200, fit: 'inside', quality: 90 });
    expect(insideLarge.withoutEnlargement).toBe(true);
    expect(rendersDirectly({ ...still, width: 800, height: 600 }, [insideLarge])).toBe(false);
    expect(rendersDirectly({ ...still, width: 3200, height: 2400 }, [insideLarge])).toBe(true);
    expect(rendersDirectly({ ...still, hasAlpha: true }, [alone])).toBe(false);
    expect(rendersDirectly({ ...still, format: 'gif', animation: { pages: 3, loop: 0 } }, [alone])).toBe(false);
  });

  it.each([
    ['an EXIF-rotated JPEG', () => twoToneJpeg(1200, 800, { orientation: 6 })],
    ['a CMYK JPEG', () => sharp({ create: { width: 900, height: 600, channels: 3, background: '#3366cc' } }).toColourspace('cmyk').jpeg().toBuffer()],
    ['a Display P3 JPEG', () => sharp({ create: { width: 900, height: 600, channels: 3, background: '#3366cc' } }).withIccProfile('p3').jpeg({ quality: 95 }).toBuffer()],
    ['a greyscale JPEG', () => sharp({ create: { width: 900, height: 600, channels: 3, background: '#777777' } }).greyscale().jpeg().toBuffer()],
    ['a 16-bit PNG', () => sharp({ create: { width: 900, height: 600, channels: 3, background: '#c03020' } }).toColourspace('rgb16').png().toBuffer()],
    ['an opaque PNG whose alpha is all 255', () => opaquePng(900, 600)],
  ])('gives the picture the two steps give: %s', async (_name, make) => {
    const input = await make();
    const direct = (await renderPresets(input, [alone], limits)).renditions[0]!;
    const twoSteps = (await renderPresets(input, [alone, tiny], limits)).renditions[0]!;
    const decoded = async (body: Buffer) => sharp(body).raw().toBuffer({ resolveWithObject: true });
    const [a, b] = await Promise.all([decoded(direct.body), decoded(twoSteps.body)]);
    expect([direct.width, direct.height, direct.format, a.info.width, a.info.height, a.info.channels]).toEqual([twoSteps.width, twoSteps.height, twoSteps.format, 300, 200, 3]);
    const meta = await sharp(direct.body).metadata();
    expect([meta.space, meta.icc, meta.exif, meta.orientation]).toEqual(['srgb', undefined, undefined, undefined]);
    let difference = 0;
    for (let i = 0; i < a.data.length; i++) difference += Math.abs(a.data[i]! - b.data[i]!);
    expect(difference / a.data.length).toBeLessThan(3);
  });

  it.each([
    ['a 16-bit PNG', (image: Sharp) => image.withIccProfile('p3').toColourspace('rgb16').png()],
    ['an 8-bit PNG', (image: Sharp) => image.withIccProfile('p3').png()],
  ])('converts %s tagged Display P3 to sRGB, on either path: sRGB red stays red (sharp imports 16-bit into P3 and stops there)', async (_name, encode) => {
    const input = await encode(sharp({ create: { width: 900, height: 600, channels: 3, background: '#ff0000' } })).toBuffer();
    const direct = (await renderPresets(input, [alone], limits)).renditions[0]!;
    const twoSteps = (await renderPresets(input, [alone, tiny], limits)).renditions[0]!;
    for (const body of [direct.body, twoSteps.body]) {
      const [r, g, b] = await pixelAt(body, 150, 100);
      expect([r! > 245, g! < 10, b! < 10], `[${r}, ${g}, ${b}]`).toEqual([true, true, true]);
      expect((await sharp(body).metadata()).icc).toBeUndefined();
    }
  });

  it('an `inside` preset is the size the whole original scales to (sides rounded) on both paths — for these camera-like sizes what sharp gives too (its JPEG shrink-on-load rounds a few odd sizes the other way)', async () => {
    for (const [width, height, box, expected] of [[4288, 2848, 1024, '1024x680'], [1200, 800, 500, '500x333'], [2000, 100, 1024, '1024x51'], [5472, 3648, 800, '800x533']] as const) {
      const photo = await sharp({ create: { width, height, channels: 3, background: '#808080' } }).jpeg().toBuffer();
      const inside = resolvePreset('box', { width: box, height: box, fit: 'inside', quality: 90 });
      const bare = await sharp(photo).resize(box, box, { fit: 'inside' }).toBuffer({ resolveWithObject: true });
      expect(`${bare.info.width}x${bare.info.height}`).toBe(expected);
      expect(dims(await renderPresets(photo, [inside, tiny], limits)).box, `${width}x${height} two steps`).toBe(expected);
      expect(dims(await renderPresets(photo, [inside], limits)).box, `${width}x${height} one pipeline`).toBe(expected);
    }
  });

  it('never enlarges: an 800x600 photo at a 1600x1200 `inside` size stays 800x600, a 3200x2400 one becomes 1600x1200', async () => {
    const insideLarge = resolvePreset('dynamic-1600x1200-inside', { width: 1600, height: 1200, fit: 'inside', quality: 90 });
    expect(dims(await renderPresets(await twoToneJpeg(800, 600), [insideLarge], limits))).toEqual({ 'dynamic-1600x1200-inside': '800x600' });
    expect(dims(await renderPresets(await twoToneJpeg(3200, 2400), [insideLarge], limits))).toEqual({ 'dynamic-1600x1200-inside': '1600x1200' });
  });

  it('keeps the centred region upright: an EXIF-rotated two-tone photo has red left, blue right', async () => {
    const direct = (await renderPresets(await twoToneJpeg(1200, 800, { orientation: 6 }), [alone], limits)).renditions[0]!;
    expect((await pixelAt(direct.body, 10, 100))[0]).toBeGreaterThan(200);
    expect((await pixelAt(direct.body, 290, 100))[2]).toBeGreaterThan(200);
  });
});
