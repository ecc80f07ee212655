/** Fixtures of the S3 Inventory tests: genuine reports built by the local writer, and hand-made parts of them. */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { type InventoryManifest, parseManifest } from '../../src/core/inventory/manifest';
import { buildInventoryReport } from '../../src/local/inventory-writer';

export const md5 = (bytes: Uint8Array | string) => createHash('md5').update(bytes).digest('hex');
export const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');
export const KEYS = ['plain.jpg', 'a b/ü+%25 x.jpg', '100%.jpg', 'c++.png', '日本/写真 1.png', 'quote"d, comma\'.jpg', 'x/y/z.jpeg', ' lead and trail ', 'emoji 📷.heic', "~!*'()&=?#[]@$;:.jpg", 'new\nline.jpg'];

export function report(keys: readonly string[] = KEYS, rowsPerFile?: number) {
  const built = buildInventoryReport({
    sourceBucket: 'src-bucket',
    destinationBucket: 'inv-bucket',
    prefix: 'inventory',
    objects: keys.map((key, i) => ({ key, size: 100 + i, etag: md5(key), lastModified: new Date('2026-01-01T00:00:00Z') })),
    now: new Date('2026-11-24T09:30:45Z'),
    rowsPerFile,
  });
  const file = (key: string) => built.files.find((f) => f.key === key)!.body;
  return { built, file, manifestBody: file(built.manifestKey), checksum: text(file(built.checksumKey)) };
}

export function manifestOf(fields: Record<string, unknown> = {}): string {
  const { manifestBody } = report();
  return JSON.stringify({ ...JSON.parse(text(manifestBody)), ...fields });
}

/** A data file listed correctly (size, MD5) for `csv`. */
export function dataFile(csv: string) {
  const body = gzipSync(Buffer.from(csv, 'utf8'));
  return { body, file: { key: 'inventory/data/x.csv.gz', size: body.byteLength, MD5checksum: md5(body) } };
}


export const manifest = (schema = 'Bucket, Key, Size, LastModifiedDate, ETag'): InventoryManifest => parseManifest(manifestOf({ fileSchema: schema }));
