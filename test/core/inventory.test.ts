import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors';
import { buildInventoryReport, decodeInventoryKey, encodeInventoryKey, parseCsv, parseInventoryCsv, parseManifest, readInventoryReport } from '../../src/core/inventory';
import { MemoryStore } from '../helpers/memory-store';

const md5 = (bytes: Uint8Array | string) => createHash('md5').update(bytes).digest('hex');
const KEYS = ['plain.jpg', 'a b/ü+%25 x.jpg', '100%.jpg', 'c++.png', '日本/写真 1.png', "quote\"d, comma'.jpg", 'x/y/z.jpeg'];

function report(keys = KEYS, rowsPerFile?: number) {
  const built = buildInventoryReport({
    sourceBucket: 'src-bucket',
    destinationBucket: 'inv-bucket',
    prefix: 'inventory',
    objects: keys.map((key, i) => ({ key, size: 100 + i, etag: md5(key), lastModified: new Date('2026-01-01T00:00:00Z') })),
    now: new Date('2026-11-24T09:30:00Z'),
    rowsPerFile,
  });
  const file = (key: string) => built.files.find((f) => f.key === key)!.body;
  return { built, file, manifestBody: file(built.manifestKey), checksum: Buffer.from(file(built.checksumKey)).toString() };
}

describe('inventory keys', () => {
  it.each(KEYS)('round-trips %s through the URL encoding', (key) => {
    expect(decodeInventoryKey(encodeInventoryKey(key))).toBe(key);
  });

  it('decodes the form encoding S3 Inventory writes: "+" is a space, "%2B" a plus', () => {
    expect(decodeInventoryKey('a+b%2Bc%25d%C3%BC/e')).toBe('a b+c%dü/e');
    expect(encodeInventoryKey('a b+c%dü/e')).toBe('a+b%2Bc%25d%C3%BC/e');
    expect(() => decodeInventoryKey('bad%zz')).toThrow(URIError);
  });
});

describe('a generated report', () => {
  it('has the layout and fields S3 Inventory writes, and reads back to the same keys', () => {
    const { built, file, manifestBody, checksum } = report(KEYS, 3);
    expect(built.manifestKey).toBe('inventory/src-bucket/photo-scaler/2026-11-24T09-30Z/manifest.json');
    expect(built.checksumKey).toBe('inventory/src-bucket/photo-scaler/2026-11-24T09-30Z/manifest.checksum');
    const manifest = parseManifest(manifestBody, { checksum, expectedSourceBucket: 'src-bucket' });
    expect(manifest).toMatchObject({ destinationBucket: 'arn:aws:s3:::inv-bucket', version: '2016-11-30', fileFormat: 'CSV', columns: ['Bucket', 'Key', 'Size', 'LastModifiedDate', 'ETag'] });
    expect(manifest.files).toHaveLength(3);
    for (const f of manifest.files) expect(f.key).toMatch(/^inventory\/src-bucket\/photo-scaler\/data\/[0-9a-f-]{36}\.csv\.gz$/);
    const rows = manifest.files.flatMap((f) => parseInventoryCsv(file(f.key), manifest, f));
    expect(rows.map((row) => decodeInventoryKey(row.Key!))).toEqual(KEYS);
    expect(rows[1]).toMatchObject({ Bucket: 'src-bucket', Size: '101', ETag: md5(KEYS[1]!), LastModifiedDate: '2026-01-01T00:00:00.000Z' });
  });
});

describe('a bad report is refused with a clear message', () => {
  it('manifest.json that does not match manifest.checksum', () => {
    const { manifestBody } = report();
    expect(() => parseManifest(manifestBody, { checksum: md5('something else') })).toThrow(/does not match manifest.checksum/);
  });

  it('a manifest for another bucket, another format, or missing fields', () => {
    const { manifestBody } = report();
    expect(() => parseManifest(manifestBody, { expectedSourceBucket: 'other' })).toThrow(/for bucket "src-bucket", not "other"/);
    const raw = JSON.parse(Buffer.from(manifestBody).toString());
    expect(() => parseManifest(JSON.stringify({ ...raw, fileFormat: 'Parquet' }))).toThrow(/fileFormat/);
    expect(() => parseManifest(JSON.stringify({ ...raw, files: [] }))).toThrow(/"files" must be a non-empty array/);
    expect(() => parseManifest(JSON.stringify({ ...raw, fileSchema: 'Bucket, Size' }))).toThrow(/lacks the Key column/);
    expect(() => parseManifest('{not json')).toThrow(ConfigError);
  });

  it('a data file with the wrong MD5 or size', () => {
    const { built, file, manifestBody } = report();
    const manifest = parseManifest(manifestBody);
    const listed = manifest.files[0]!;
    const body = file(listed.key);
    expect(() => parseInventoryCsv(body, manifest, { ...listed, MD5checksum: md5('x') })).toThrow(/MD5 .* does not match/);
    expect(() => parseInventoryCsv(body.subarray(1), manifest, listed)).toThrow(/bytes, the manifest says/);
    expect(built.files.length).toBeGreaterThan(2);
  });

  it.each([
    ['a row with a missing field', '"src-bucket","a.jpg","1","2026-01-01T00:00:00.000Z"\n', /4 fields, the fileSchema has 5/],
    ['a row for another bucket', '"evil","a.jpg","1","2026-01-01T00:00:00.000Z","e"\n', /bucket "evil" is not/],
    ['an unterminated quote', '"src-bucket","a.jpg,"1","2026","e"\n', /unterminated|after a closing quote/],
    ['an empty key', '"src-bucket","","1","2026-01-01T00:00:00.000Z","e"\n', /empty key/],
  ])('%s', (_, csv, message) => {
    const body = gzipSync(Buffer.from(csv));
    const manifest = parseManifest(Buffer.from(report().manifestBody));
    expect(() => parseInventoryCsv(body, manifest, { key: 'data/x.csv.gz', size: body.byteLength, MD5checksum: md5(body) })).toThrow(message);
  });
});

describe('readInventoryReport', () => {
  it('reads a whole report from a store, and refuses one whose listed data file is missing', async () => {
    const { built } = report(KEYS, 3);
    const store = new MemoryStore();
    for (const file of built.files) await store.put({ bucket: 'inv', key: file.key }, file.body, {});
    const rows = await readInventoryReport(store, { bucket: 'inv', key: built.manifestKey });
    expect(rows.map((row) => decodeInventoryKey(row.Key!))).toEqual(KEYS);
    await store.delete({ bucket: 'inv', key: built.files[1]!.key });
    await expect(readInventoryReport(store, { bucket: 'inv', key: built.manifestKey })).rejects.toThrow(/listed in the manifest, cannot be read/);
  });
});

describe('parseCsv', () => {
  it('reads quoted fields with commas, doubled quotes and newlines, and CRLF rows', () => {
    expect(parseCsv('"a,b","c""d","e\nf"\r\n"g","",h\n')).toEqual([
      ['a,b', 'c"d', 'e\nf'],
      ['g', '', 'h'],
    ]);
  });
});
