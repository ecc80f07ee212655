/** The entries of a zip file, read from its central directory (no unzip binary needed), each with a reader of its bytes. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { inflateRawSync } from 'node:zlib';

export function zipEntries(path: string): Map<string, () => Buffer> {
  const zip = readFileSync(path);
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end--;
  if (end < 0) throw new Error(`${path}: not a zip file`);
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  const entries = new Map<string, () => Buffer>();
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error(`${path}: bad central directory`);
    const method = zip.readUInt16LE(offset + 10);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const local = zip.readUInt32LE(offset + 42);
    entries.set(zip.subarray(offset + 46, offset + 46 + nameLength).toString('utf8'), () => {
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const data = zip.subarray(start, start + compressedSize);
      return method === 8 ? inflateRawSync(data) : Buffer.from(data);
    });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Writes every file of a zip under `dir` (directories made as needed); refuses entries that would land outside it. */
export function extractZip(path: string, dir: string): string[] {
  const names: string[] = [];
  for (const [name, read] of zipEntries(path)) {
    if (name.endsWith('/')) continue;
    const target = resolve(dir, name);
    if (!target.startsWith(resolve(dir) + sep)) throw new Error(`${path}: entry ${name} points outside the extraction folder`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, read());
    names.push(name);
  }
  return names;
}
