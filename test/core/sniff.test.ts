import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { sniffImage } from '../../src/core/sniff';

describe('sniffImage', () => {
  it.each(['jpeg', 'png', 'gif', 'webp', 'tiff'] as const)('recognises %s by its first bytes', async (format) => {
    const image = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#123456' } }).toFormat(format).toBuffer();
    expect(sniffImage(image)?.format).toBe(format);
  });

  it('does not take text, an empty file or an SVG for a photo', () => {
    expect(sniffImage(Buffer.from('hello, I am a .jpg'))).toBeUndefined();
    expect(sniffImage(new Uint8Array(0))).toBeUndefined();
    expect(sniffImage(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeUndefined();
  });
});
