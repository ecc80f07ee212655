/** Real images made in code for tests: nothing binary is committed. */
import sharp from 'sharp';

/** A JPEG whose left half is red and right half blue (upright), so orientation can be checked by pixels. */
export async function twoToneJpeg(width: number, height: number, options: { orientation?: number; quality?: number } = {}): Promise<Buffer> {
  const half = Math.floor(width / 2);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect width="${half}" height="${height}" fill="#ff0000"/><rect x="${half}" width="${width - half}" height="${height}" fill="#0000ff"/></svg>`;
  const upright = await sharp(Buffer.from(svg)).png().toBuffer();
  if (!options.orientation) return sharp(upright).jpeg({ quality: options.quality ?? 90 }).toBuffer();
  // Store the pixels so that applying `orientation` turns them upright again.
  const stored = await storedFor(upright, options.orientation);
  return sharp(stored).withMetadata({ orientation: options.orientation }).jpeg({ quality: options.quality ?? 90 }).toBuffer();
}

async function storedFor(upright: Buffer, orientation: number): Promise<Buffer> {
  // Inverse of the EXIF transform for each orientation.
  const image = sharp(upright);
  switch (orientation) {
    case 2: return image.flop().png().toBuffer();
    case 3: return image.rotate(180).png().toBuffer();
    case 4: return image.flip().png().toBuffer();
    case 5: return sharp(await image.rotate(90).png().toBuffer()).flop().png().toBuffer(); // transpose
    case 6: return image.rotate(-90).png().toBuffer();
    case 7: return sharp(await image.rotate(-90).png().toBuffer()).flop().png().toBuffer(); // transverse
    case 8: return image.rotate(90).png().toBuffer();
    default: return upright;
  }
}

export async function noiseJpeg(width: number, height: number, seed = 1): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < data.length; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    data[i] = x & 0xff;
  }
  return sharp(data, { raw: { width, height, channels: 3 } }).jpeg({ quality: 80 }).toBuffer();
}

export async function alphaPng(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 4, background: { r: 10, g: 200, b: 30, alpha: 0.5 } } }).png().toBuffer();
}

export async function opaquePng(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 100, b: 30 } } }).png().toBuffer();
}

/** Pixel [r,g,b] at (x, y) of a decoded image. */
export async function pixelAt(image: Uint8Array, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const offset = (y * info.width + x) * info.channels;
  return [data[offset]!, data[offset + 1]!, data[offset + 2]!];
}
