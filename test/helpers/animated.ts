/** Animated GIF and WebP images made in code for tests (frames of solid colours), and reading them back. */
import sharp from 'sharp';
import { expect } from 'vitest';

export type Rgb = [number, number, number];
export const RED: Rgb = [255, 0, 0];
export const GREEN: Rgb = [0, 255, 0];
export const BLUE: Rgb = [0, 0, 255];

/**
 * An animated GIF or WebP of `colours.length` frames of width x height, frame i filled with
 * colours[i]: the frames stacked one under another as a raw image with `pageHeight`, as sharp
 * takes them (https://sharp.pixelplumbing.com/api-constructor, raw.pageHeight).
 */
export async function animatedImage(format: 'gif' | 'webp', options: { width: number; height: number; colours: Rgb[]; delay?: number[]; loop?: number }): Promise<Buffer> {
  const { width, height, colours } = options;
  const frame = width * height * 3;
  const data = Buffer.alloc(frame * colours.length);
  colours.forEach((colour, index) => {
    for (let offset = index * frame; offset < (index + 1) * frame; offset += 3) data.set(colour, offset);
  });
  const image = sharp(data, { raw: { width, height: height * colours.length, channels: 3, pageHeight: height } });
  const animation = { loop: options.loop ?? 0, ...(options.delay ? { delay: options.delay } : {}) };
  return format === 'gif' ? image.gif(animation).toBuffer() : image.webp({ ...animation, quality: 90 }).toBuffer();
}

/** What sharp reads of an image: format, frame count, one frame's size, loop and delays. */
export async function framesOf(image: Uint8Array): Promise<{ format?: string; pages: number; width?: number; height?: number; loop?: number; delay?: number[] }> {
  const meta = await sharp(image).metadata();
  return { format: meta.format, pages: meta.pages ?? 1, width: meta.width, height: meta.height, loop: meta.loop, delay: meta.delay };
}

/** [r, g, b] at the centre of frame `page`. */
export async function frameCentre(image: Uint8Array, page: number): Promise<number[]> {
  const { data, info } = await sharp(image, { page }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const offset = (Math.floor(info.height / 2) * info.width + Math.floor(info.width / 2)) * info.channels;
  return [data[offset]!, data[offset + 1]!, data[offset + 2]!];
}

/** Close to an expected colour (lossy WebP, GIF palettes). */
export function near(expected: Rgb): number[] {
  return expected.map((value) => expect.closeTo(value, -1.5)) as unknown as number[];
}
