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

/** A PNG whose header declares `width` x `height` but carries almost no data: a decompression bomb. */
export function pngBomb(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const idat = Buffer.from([0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01]);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** Every odd input a real library holds, made in code: name → bytes. */
export async function hostileLibrary(): Promise<Record<string, Buffer>> {
  const solid = (background: string, width = 400, height = 300) => sharp({ create: { width, height, channels: 3, background } });
  const good = await twoToneJpeg(640, 480);
  const frames = await Promise.all(['#f00', '#0f0', '#00f'].map((c) => solid(c, 64, 48).png().toBuffer()));
  const files: Record<string, Buffer> = {
    'odd/truncated.jpg': good.subarray(0, good.length / 2),
    'odd/empty.jpg': Buffer.alloc(0),
    'odd/notes.jpg': Buffer.from('shopping list: milk, eggs. Not a photo.'),
    'odd/bomb.png': pngBomb(60_000, 60_000),
    'odd/sixteen-bit.png': await solid('#336699').toColourspace('rgb16').png().toBuffer(),
    'odd/cmyk-with-icc.jpg': await solid('#336699').toColourspace('cmyk').withIccProfile('cmyk').jpeg().toBuffer(),
    'odd/cmyk-no-icc.jpg': await solid('#336699').toColourspace('cmyk').jpeg().toBuffer(),
    'odd/animated.gif': await sharp(frames, { join: { animated: true } }).gif().toBuffer(),
    'odd/grey.jpg': await solid('#777777').greyscale().jpeg().toBuffer(),
    'odd/alpha.png': await alphaPng(300, 200),
    'odd/external.svg': Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><image href="http://127.0.0.1:9/x.png" width="10" height="10"/></svg>'),
  };
  for (let orientation = 1; orientation <= 8; orientation++) files[`odd/orientation-${orientation}.jpg`] = await twoToneJpeg(600, 400, { orientation });
  return files;
}
