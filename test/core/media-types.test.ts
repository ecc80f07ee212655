/** One table of image media types: what a name claims, what sniffing finds, what an asset is served as. */
import sharp, { type Sharp } from 'sharp';
import { describe, expect, it } from 'vitest';
import { contentTypeOfName, IMAGE_TYPES, type ImageFormat } from '../../src/core/media-types';
import { sniffImage } from '../../src/core/sniff';

const encoders: Array<[ImageFormat, (image: Sharp) => Sharp]> = [
  ['jpeg', (image) => image.jpeg()],
  ['png', (image) => image.png()],
  ['gif', (image) => image.gif()],
  ['webp', (image) => image.webp()],
  ['tiff', (image) => image.tiff()],
  ['avif', (image) => image.avif()],
];

describe('media types', () => {
  it.each(encoders)('a real %s is sniffed as the type its asset extension names', async (format, encode) => {
    const bytes = await encode(sharp({ create: { width: 16, height: 12, channels: 3, background: '#3a7' } })).toBuffer();
    const type = sniffImage(bytes)!;
    expect(type).toBe(IMAGE_TYPES[format]);
    expect(type.contentType).toBe(contentTypeOfName(`photo.${type.ext}`));
  });

  it('every format\'s Content-Type is the one its asset extension claims', () => {
    for (const type of Object.values(IMAGE_TYPES)) expect(contentTypeOfName(`assets/ab/cd/ef/x.${type.ext}`), type.format).toBe(type.contentType);
  });

  it('a name claims the type of its extension, any case; dot files, unknown and missing extensions claim none', () => {
    expect(contentTypeOfName('trips/a b.JPEG')).toBe('image/jpeg');
    expect(contentTypeOfName('x.jfif')).toBe('image/jpeg');
    expect(contentTypeOfName('scan.TIF')).toBe('image/tiff');
    expect(contentTypeOfName('phone/IMG_1.heif')).toBe('image/heif');
    expect(contentTypeOfName('phone/IMG_1.heic')).toBe('image/heic');
    expect(contentTypeOfName('logo.svg')).toBe('image/svg+xml');
    for (const name of ['notes.txt', 'README', '.jpg', 'dir.jpg/file', 'a.']) expect(contentTypeOfName(name), name).toBeUndefined();
  });
});
