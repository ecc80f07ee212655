import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { sniffImage } from '../../src/core/sniff';

/** An ISOBMFF `ftyp` box: size, 'ftyp', major brand, minor version 0, compatible brands. */
function ftyp(major: string, compatible: string[]): Buffer {
  const size = 16 + 4 * compatible.length;
  const box = Buffer.alloc(size);
  box.writeUInt32BE(size, 0);
  box.write('ftyp', 4, 'latin1');
  box.write(major, 8, 'latin1');
  compatible.forEach((brand, index) => box.write(brand, 16 + 4 * index, 'latin1'));
  return box;
}

/** The brands of a file's ftyp box, major first. */
function brandsOf(file: Buffer): string[] {
  const size = file.readUInt32BE(0);
  const brands = [file.subarray(8, 12).toString('latin1')];
  for (let offset = 16; offset < size; offset += 4) brands.push(file.subarray(offset, offset + 4).toString('latin1'));
  return brands;
}

describe('sniffImage', () => {
  it.each(['jpeg', 'png', 'gif', 'webp', 'tiff', 'avif'] as const)('recognises %s by its first bytes', async (format) => {
    const image = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#123456' } }).toFormat(format).toBuffer();
    expect(sniffImage(image)?.format).toBe(format);
  });

  it('recognises an AVIF by its compatible brands when its major brand is mif1 (it was filed as HEIC)', async () => {
    const avif = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#123456' } }).avif().toBuffer();
    expect(brandsOf(avif)).toEqual(['avif', 'mif1', 'avif', 'miaf']);
    // The same file, its major brand rewritten to the structural 'mif1' ('avif' stays among the compatible brands).
    const mif1 = Buffer.from(avif);
    mif1.write('mif1', 8, 'latin1');
    expect(brandsOf(mif1)).toEqual(['mif1', 'mif1', 'avif', 'miaf']);
    // Still a real AVIF: it decodes to its colour (libvips' own metadata calls it 'hevc' by the major brand).
    const { data, info } = await sharp(mif1).raw().toBuffer({ resolveWithObject: true });
    expect(info).toMatchObject({ width: 8, height: 8 });
    for (const [channel, value] of [0x12, 0x34, 0x56].entries()) expect(Math.abs(data[channel]! - value)).toBeLessThanOrEqual(3);
    expect(sniffImage(mif1)).toEqual({ format: 'avif', ext: 'avif', contentType: 'image/avif' });
  });

  it('files a HEIC-branded header as HEIC, whichever of its brands names HEVC', () => {
    const heic = { format: 'heif', ext: 'heic', contentType: 'image/heic' };
    // An iPhone photo's box: major 'heic', compatible 'mif1', 'heic' (then the meta box).
    expect(sniffImage(Buffer.concat([ftyp('heic', ['mif1', 'heic']), Buffer.from('\0\0\0\x22meta', 'latin1')]))).toEqual(heic);
    expect(sniffImage(ftyp('mif1', ['mif1', 'heic']))).toEqual(heic);
    // A box that names only the structural brand: HEIF, as before.
    expect(sniffImage(ftyp('mif1', ['mif1', 'miaf']))).toEqual(heic);
    // Not an image at all: an MP4 video's box.
    expect(sniffImage(ftyp('isom', ['isom', 'iso2', 'mp41']))).toBeUndefined();
  });

  it('does not take text, an empty file or an SVG for a photo', () => {
    expect(sniffImage(Buffer.from('hello, I am a .jpg'))).toBeUndefined();
    expect(sniffImage(new Uint8Array(0))).toBeUndefined();
    expect(sniffImage(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeUndefined();
  });
});
