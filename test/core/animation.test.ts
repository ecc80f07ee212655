/**
 * Animated GIF/WebP originals (src/core/animation.ts through src/core/render.ts): real animated
 * files made here, rendered, and every output decoded back frame by frame.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import { animatedFormat, animationOf, keepsAnimationOf } from '../../src/core/animation';
import { PhotoError } from '../../src/core/errors';
import { resolvePreset, validateConfig } from '../../src/core/presets';
import { renderPresets } from '../../src/core/render';
import { BLUE, GREEN, RED, animatedImage, frameCentre, framesOf, near } from '../helpers/animated';

const presets = validateConfig(config);
const limits = config.limits;
const COLOURS = [RED, GREEN, BLUE];
const DELAY = [100, 200, 300];
const preset = (name: string, format: 'auto' | 'jpeg' | 'png' | 'webp', fit: 'cover' | 'inside' = 'cover') => resolvePreset(name, { width: 120, height: 90, fit, format, quality: 85 });

/** Every frame of an output, checked: count, colour, and each frame's size. */
async function expectFrames(body: Buffer, expected: { format: string; width: number; height: number; loop: number }) {
  expect(await framesOf(body)).toEqual({ format: expected.format, pages: 3, width: expected.width, height: expected.height, loop: expected.loop, delay: DELAY });
  for (const [page, colour] of COLOURS.entries()) expect(await frameCentre(body, page), `frame ${page}`).toEqual(near(colour));
}

describe('an animated GIF original', () => {
  it('keeps its animation in every `auto` preset, as an animated GIF: 3 frames of the preset size, colours, loop and delays kept', async () => {
    const gif = await animatedImage('gif', { width: 640, height: 480, colours: COLOURS, delay: DELAY, loop: 0 });
    const result = await renderPresets(gif, presets, limits);
    expect(result.source).toMatchObject({ format: 'gif', width: 640, height: 480, animation: { pages: 3, loop: 0, delay: DELAY } });
    const sizes = { thumb: [80, 80], small: [300, 200], medium: [600, 400], large: [640, 480] } as Record<string, [number, number]>;
    for (const rendition of result.renditions) {
      const [width, height] = sizes[rendition.preset.name]!;
      expect([rendition.format, rendition.ext, rendition.contentType, rendition.width, rendition.height], rendition.preset.name).toEqual(['gif', 'gif', 'image/gif', width, height]);
      await expectFrames(rendition.body, { format: 'gif', width, height, loop: 0 });
    }
  });

  it('a `webp` preset makes an animated WebP; a `jpeg` or `png` preset gets the first frame, from the same render', async () => {
    const gif = await animatedImage('gif', { width: 400, height: 300, colours: COLOURS, delay: DELAY, loop: 3 });
    const result = await renderPresets(gif, [preset('w', 'webp'), preset('j', 'jpeg'), preset('p', 'png', 'inside'), preset('a', 'auto')], limits);
    const [webp, jpeg, png, auto] = result.renditions;
    await expectFrames(webp!.body, { format: 'webp', width: 120, height: 90, loop: 3 });
    await expectFrames(auto!.body, { format: 'gif', width: 120, height: 90, loop: 3 });
    for (const still of [jpeg!, png!]) {
      const frames = await framesOf(still.body);
      expect([frames.format, frames.pages, frames.width, frames.height], still.preset.name).toEqual([still.format, 1, 120, 90]);
      expect(await frameCentre(still.body, 0)).toEqual(near(RED));
    }
  });

  it('with only still presets, decodes the first frame alone: a GIF whose frames would be over the pixel limit still renders', async () => {
    const gif = await animatedImage('gif', { width: 100, height: 100, colours: COLOURS, delay: DELAY });
    const result = await renderPresets(gif, [preset('j', 'jpeg')], { ...limits, maxInputPixels: 25_000 });
    expect(await frameCentre(result.renditions[0]!.body, 0)).toEqual(near(RED));
  });

  it('counts every frame against the pixel limit and is refused (too-large) from its header, before any frame is decoded', async () => {
    const gif = await animatedImage('gif', { width: 100, height: 100, colours: COLOURS, delay: DELAY });
    // 3 x 100 x 100 = 30,000 pixels: one frame fits 25,000, the animation does not. The refusal is
    // ours (frames named), not libvips' decode-time "Input image exceeds pixel limit".
    await expect(renderPresets(gif, presets, { ...limits, maxInputPixels: 25_000 })).rejects.toMatchObject({
      reason: 'too-large',
      detail: 'too large: 100x100 x 3 frames is 30000 pixels, limit is 25000',
    });
  });

  it('an animated GIF of 2,000 frames over the limit is refused at once, never decoded whole', async () => {
    const many = Array.from({ length: 2000 }, (_, i) => COLOURS[i % 3]!);
    const gif = await animatedImage('gif', { width: 32, height: 32, colours: many });
    expect((await framesOf(gif)).pages).toBe(2000);
    const error = await renderPresets(gif, presets, { ...limits, maxInputPixels: 1_000_000 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PhotoError);
    expect(error).toMatchObject({ reason: 'too-large', detail: 'too large: 32x32 x 2000 frames is 2048000 pixels, limit is 1000000' });
  });

  it('a cover crop of a frame of another aspect ratio is cut from each frame, not from the strip of frames', async () => {
    // 3 frames of 300x60 (5:1) cut to 80x80: each frame's centre 60x60 region.
    const gif = await animatedImage('gif', { width: 300, height: 60, colours: COLOURS, delay: DELAY });
    const thumb = (await renderPresets(gif, presets, limits)).renditions.find((r) => r.preset.name === 'thumb')!;
    await expectFrames(thumb.body, { format: 'gif', width: 80, height: 80, loop: 0 });
  });
});

describe('an animated WebP original', () => {
  it('keeps its animation in every `auto` preset, as an animated WebP; a `jpeg` preset gets the first frame', async () => {
    const webp = await animatedImage('webp', { width: 640, height: 480, colours: COLOURS, delay: DELAY, loop: 2 });
    const result = await renderPresets(webp, [...presets, preset('j', 'jpeg')], limits);
    for (const rendition of result.renditions.filter((r) => r.preset.name !== 'j')) {
      expect([rendition.format, rendition.contentType], rendition.preset.name).toEqual(['webp', 'image/webp']);
      await expectFrames(rendition.body, { format: 'webp', width: rendition.width, height: rendition.height, loop: 2 });
    }
    expect(result.renditions.find((r) => r.preset.name === 'thumb')).toMatchObject({ width: 80, height: 80 });
    const jpeg = result.renditions.find((r) => r.preset.name === 'j')!;
    expect(await framesOf(jpeg.body)).toMatchObject({ format: 'jpeg', pages: 1, width: 120, height: 90 });
    expect(await frameCentre(jpeg.body, 0)).toEqual(near(RED));
  });

  it('an on-demand size (one `auto` preset, fit inside) keeps the animation too', async () => {
    const webp = await animatedImage('webp', { width: 640, height: 480, colours: COLOURS, delay: DELAY, loop: 0 });
    const size = resolvePreset('dynamic/200x200-inside', { width: 200, height: 200, fit: 'inside', quality: config.jpegQuality });
    const [rendition] = (await renderPresets(webp, [size], limits)).renditions;
    await expectFrames(rendition!.body, { format: 'webp', width: 200, height: 150, loop: 0 });
  });
});

describe('a still GIF or WebP', () => {
  it('renders as before: `auto` presets are JPEG (PNG when transparent), one frame', async () => {
    const gif = await animatedImage('gif', { width: 400, height: 300, colours: [GREEN] });
    const webp = await animatedImage('webp', { width: 400, height: 300, colours: [BLUE] });
    for (const [image, colour] of [[gif, GREEN], [webp, BLUE]] as const) {
      const result = await renderPresets(image, presets, limits);
      expect(result.source.animation).toBeUndefined();
      for (const rendition of result.renditions) {
        expect(await framesOf(rendition.body)).toMatchObject({ format: 'jpeg', pages: 1, width: rendition.width, height: rendition.height });
        expect(await frameCentre(rendition.body, 0)).toEqual(near(colour));
      }
    }
    const transparent = await sharp({ create: { width: 200, height: 100, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).gif().toBuffer();
    expect((await renderPresets(transparent, presets, limits)).renditions.map((r) => r.format)).toEqual(['png', 'png', 'png', 'png']);
  });
});

describe('animation rules', () => {
  it('an original is animated when it is a GIF or WebP of more than one frame and has no orientation to apply', () => {
    expect(animationOf({ format: 'gif', pages: 3, loop: 0, delay: DELAY })).toEqual({ pages: 3, loop: 0, delay: DELAY });
    expect(animationOf({ format: 'webp', pages: 2 })).toEqual({ pages: 2, loop: 0 });
    expect(animationOf({ format: 'gif', pages: 1 })).toBeUndefined();
    expect(animationOf({ format: 'tiff', pages: 4 })).toBeUndefined();
    expect(animationOf({ format: 'heif', pages: 2 })).toBeUndefined();
    expect(animationOf({ format: 'webp', pages: 3, orientation: 6 })).toBeUndefined();
  });

  it('`auto` keeps the original\'s own format, `webp` is WebP, `jpeg`/`png` a still', () => {
    expect(animatedFormat({ format: 'auto' }, 'gif')).toBe('gif');
    expect(animatedFormat({ format: 'auto' }, 'webp')).toBe('webp');
    expect(animatedFormat({ format: 'webp' }, 'gif')).toBe('webp');
    expect(animatedFormat({ format: 'jpeg' }, 'gif')).toBeUndefined();
    expect(animatedFormat({ format: 'png' }, 'webp')).toBeUndefined();
    // AVIF: a primary gets the first frame. A variant follows its primary: animated (as WebP, libvips
    // writes one AVIF frame) when the primary is, the first frame when the primary is a still.
    expect(animatedFormat({ format: 'avif' }, 'gif')).toBeUndefined();
    expect(animatedFormat({ format: 'avif', variantOf: 'small', primaryFormat: 'auto' }, 'gif')).toBe('webp');
    expect(animatedFormat({ format: 'webp', variantOf: 'small', primaryFormat: 'auto' }, 'webp')).toBe('webp');
    expect(animatedFormat({ format: 'avif', variantOf: 'small', primaryFormat: 'webp' }, 'gif')).toBe('webp');
    expect(animatedFormat({ format: 'avif', variantOf: 'small', primaryFormat: 'jpeg' }, 'gif')).toBeUndefined();
    expect(animatedFormat({ format: 'webp', variantOf: 'small', primaryFormat: 'jpeg' }, 'gif')).toBeUndefined();
    expect(animatedFormat({ format: 'webp', variantOf: 'small', primaryFormat: 'avif' }, 'gif')).toBeUndefined();
  });

  it('an on-demand size of a GIF/WebP original is made from a stored rendition only of the original\'s own type', () => {
    expect(keepsAnimationOf('image/gif', 'image/gif')).toBe(true);
    expect(keepsAnimationOf('image/gif', 'image/jpeg')).toBe(false);
    expect(keepsAnimationOf('image/gif', 'image/webp')).toBe(false);
    expect(keepsAnimationOf('image/webp', 'image/webp')).toBe(true);
    expect(keepsAnimationOf('image/jpeg', 'image/jpeg')).toBe(true);
    expect(keepsAnimationOf('image/png', 'image/jpeg')).toBe(true);
  });
});
