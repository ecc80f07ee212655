/**
 * Real HEIC files made in the test set-up with Debian's `heif-enc` (package libheif-examples; .ci/run
 * installs it): HEVC-coded, as iPhones write them. Nothing binary is committed or downloaded.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';

const run = promisify(execFile);

/** Fails (never skips) when heif-enc is missing: CI installs it, so a missing one is a broken set-up. */
export async function requireHeifEnc(): Promise<void> {
  try {
    await run('heif-enc', ['--help']);
  } catch (error) {
    // heif-enc --help exits 0 on Debian's 1.15; an ENOENT is the only "missing".
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('heif-enc is not installed: the HEIC tests need Debian\'s libheif-examples (`apt-get install libheif-examples`; .ci/run installs it)');
    }
  }
}

/** A JPEG or PNG encoded as HEIC (HEVC, x265) by heif-enc. heif-enc carries the input's ICC profile and Exif. */
export async function encodeHeic(input: Buffer, options: { quality?: number; extension?: 'jpg' | 'png' } = {}): Promise<Buffer> {
  await requireHeifEnc();
  const dir = await mkdtemp(join(tmpdir(), 'photo-scaler-heic-'));
  try {
    const source = join(dir, `in.${options.extension ?? (input[0] === 0xff ? 'jpg' : 'png')}`);
    await writeFile(source, input);
    await run('heif-enc', ['-q', String(options.quality ?? 90), '-o', join(dir, 'out.heic'), source]);
    return await readFile(join(dir, 'out.heic'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Box {
  type: string;
  start: number;
  /** Where the payload starts (after size, type and, for a full box, version and flags). */
  body: number;
  end: number;
}

function boxesIn(file: Buffer, start: number, end: number): Box[] {
  const boxes: Box[] = [];
  for (let offset = start; offset + 8 <= end;) {
    const size = file.readUInt32BE(offset);
    if (size < 8) throw new Error(`unsupported box size ${size} at ${offset}`);
    const type = file.toString('latin1', offset + 4, offset + 8);
    boxes.push({ type, start: offset, body: offset + 8, end: offset + size });
    offset += size;
  }
  return boxes;
}

function child(file: Buffer, parent: { body: number; end: number }, type: string, full = false): Box {
  const box = boxesIn(file, parent.body, parent.end).find((candidate) => candidate.type === type);
  if (!box) throw new Error(`no ${type} box`);
  return full ? { ...box, body: box.body + 4 } : box;
}

function boxBytes(type: string, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + payload.length, 0);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, payload]);
}

/**
 * The same HEIC with an `irot` property (ISO/IEC 23008-12 § 6.5.10: rotation by angle × 90° anticlockwise)
 * associated with its primary item, as a camera writes one: heif-enc 1.15 has no option for it. The
 * `ipco` gets the box, the primary item's `ipma` entry an essential association, every enclosing box
 * its new size, and every `iloc` file offset behind `meta` the shift. Pixels are unchanged.
 */
export function withRotation(heic: Buffer, quarterTurnsAnticlockwise: 1 | 2 | 3): Buffer {
  const top = boxesIn(heic, 0, heic.length);
  const meta = { ...top.find((box) => box.type === 'meta')!, body: top.find((box) => box.type === 'meta')!.body + 4 };
  const pitm = child(heic, meta, 'pitm', true);
  const primary = heic[pitm.body - 4] === 0 ? heic.readUInt16BE(pitm.body) : heic.readUInt32BE(pitm.body);
  const iprp = child(heic, meta, 'iprp');
  const ipco = child(heic, iprp, 'ipco');
  const ipma = child(heic, iprp, 'ipma', true);
  const propertyIndex = boxesIn(heic, ipco.body, ipco.end).length + 1;
  const irot = boxBytes('irot', Buffer.from([quarterTurnsAnticlockwise & 3]));
  const newIpco = Buffer.concat([heic.subarray(ipco.start, ipco.end), irot]);
  newIpco.writeUInt32BE(newIpco.length, 0);

  // ipma: entry_count, then per entry item_ID (16 bits in version 0), association_count (8 bits) and
  // associations of 8 bits (flags & 1 == 0) or 16 bits: essential bit, then the 1-based property index.
  const version = heic[ipma.body - 4]!;
  const wide = (heic.readUInt32BE(ipma.body - 4) & 1) === 1;
  const parts: Buffer[] = [heic.subarray(ipma.start, ipma.body + 4)];
  let offset = ipma.body + 4;
  for (let entry = heic.readUInt32BE(ipma.body); entry > 0; entry--) {
    const idSize = version < 1 ? 2 : 4;
    const item = idSize === 2 ? heic.readUInt16BE(offset) : heic.readUInt32BE(offset);
    const count = heic[offset + idSize]!;
    const entryEnd = offset + idSize + 1 + count * (wide ? 2 : 1);
    if (item !== primary) {
      parts.push(heic.subarray(offset, entryEnd));
    } else {
      const head = Buffer.from(heic.subarray(offset, offset + idSize + 1));
      head[idSize] = count + 1;
      const association = wide ? Buffer.alloc(2) : Buffer.alloc(1);
      if (wide) association.writeUInt16BE(0x8000 | propertyIndex, 0);
      else association[0] = 0x80 | propertyIndex;
      parts.push(head, heic.subarray(offset + idSize + 1, entryEnd), association);
    }
    offset = entryEnd;
  }
  const newIpma = Buffer.concat(parts);
  newIpma.writeUInt32BE(newIpma.length, 0);
  const newIprp = boxBytes('iprp', Buffer.concat(boxesIn(heic, iprp.body, iprp.end).map((box) => box.type === 'ipco' ? newIpco : box.type === 'ipma' ? newIpma : heic.subarray(box.start, box.end))));
  const newMeta = Buffer.concat([heic.subarray(meta.start, meta.body), ...boxesIn(heic, meta.body, meta.end).map((box) => box.type === 'iprp' ? newIprp : heic.subarray(box.start, box.end))]);
  newMeta.writeUInt32BE(newMeta.length, 0);
  const shift = newMeta.length - (meta.end - meta.start);
  shiftIlocOffsets(newMeta, child(newMeta, { body: 12, end: newMeta.length }, 'iloc', true), meta.end, shift);
  return Buffer.concat([heic.subarray(0, meta.start), newMeta, heic.subarray(meta.end)]);
}

/** Adds `shift` to every file offset (construction method 0) at or after `from` in an `iloc` box, in place. */
function shiftIlocOffsets(meta: Buffer, iloc: Box, from: number, shift: number): void {
  const version = meta[iloc.body - 4]!;
  const offsetSize = meta[iloc.body]! >> 4;
  const lengthSize = meta[iloc.body]! & 15;
  const baseSize = meta[iloc.body + 1]! >> 4;
  const indexSize = version >= 1 ? meta[iloc.body + 1]! & 15 : 0;
  const read = (at: number, size: number) => (size === 0 ? 0 : size === 4 ? meta.readUInt32BE(at) : size === 8 ? Number(meta.readBigUInt64BE(at)) : meta.readUInt16BE(at));
  const write = (at: number, size: number, value: number) => (size === 4 ? meta.writeUInt32BE(value, at) : size === 8 ? meta.writeBigUInt64BE(BigInt(value), at) : meta.writeUInt16BE(value, at));
  let at = iloc.body + 2;
  const itemCount = version < 2 ? meta.readUInt16BE(at) : meta.readUInt32BE(at);
  at += version < 2 ? 2 : 4;
  for (let item = 0; item < itemCount; item++) {
    at += version < 2 ? 2 : 4;
    let method = 0;
    if (version >= 1) {
      method = meta.readUInt16BE(at) & 15;
      at += 2;
    }
    at += 2; // data_reference_index
    const baseAt = at;
    const base = read(at, baseSize);
    at += baseSize;
    const extents = meta.readUInt16BE(at);
    at += 2;
    if (method === 0 && baseSize > 0 && base >= from) write(baseAt, baseSize, base + shift);
    for (let extent = 0; extent < extents; extent++) {
      at += indexSize;
      const value = read(at, offsetSize);
      if (method === 0 && offsetSize > 0 && base + value >= from && !(baseSize > 0 && base >= from)) write(at, offsetSize, value + shift);
      at += offsetSize + lengthSize;
    }
  }
}

/**
 * A photo whose top-left corner block (a quarter of each side) is pure red and the rest a green/blue
 * gradient, so orientation can be read from pixels. JPEG; `orientation` stores it with that Exif tag
 * (pixels unchanged), `p3` converts the pixels to Display P3 and embeds that profile.
 */
export async function cornerPhoto(width: number, height: number, options: { orientation?: number; p3?: boolean } = {}): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const corner = x < width / 4 && y < height / 4;
      data[i] = corner ? 255 : 30;
      data[i + 1] = corner ? 0 : Math.round((180 * x) / width) + 40;
      data[i + 2] = corner ? 0 : Math.round((180 * y) / height) + 40;
    }
  }
  let image = sharp(data, { raw: { width, height, channels: 3 } });
  if (options.orientation) image = image.withMetadata({ orientation: options.orientation });
  if (options.p3) image = image.withIccProfile('p3');
  return image.jpeg({ quality: 95 }).toBuffer();
}

/** The value of the Exif Orientation tag (0x0112) in an Exif block, either byte order; undefined without one. */
export function exifOrientation(exif: Buffer | undefined): number | undefined {
  if (!exif) return undefined;
  for (let i = 0; i + 10 <= exif.length; i++) {
    if (exif[i] === 0x01 && exif[i + 1] === 0x12 && exif[i + 2] === 0x00 && exif[i + 3] === 0x03) return exif.readUInt16BE(i + 8);
    if (exif[i] === 0x12 && exif[i + 1] === 0x01 && exif[i + 2] === 0x03 && exif[i + 3] === 0x00) return exif.readUInt16LE(i + 8);
  }
  return undefined;
}

/**
 * heic-decode with every pixel decode reported to `onDecode` before it runs (the container read is not
 * one): for `vi.mock('heic-decode', …)`, so a test can assert that a photo was refused before decoding.
 */
export function countingDecoder<M extends { all: (input: { buffer: Uint8Array }) => Promise<Array<{ width: number; height: number; decode: () => Promise<unknown> }>> }>(
  actual: M,
  onDecode: (image: { width: number; height: number }) => void,
): M {
  return {
    ...actual,
    all: async (input: { buffer: Uint8Array }) => {
      const images = await actual.all(input);
      for (const image of images) {
        const decode = image.decode;
        image.decode = () => {
          onDecode(image);
          return decode();
        };
      }
      return images;
    },
  };
}
