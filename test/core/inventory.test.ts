import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors';
import {
  buildInventoryReport,
  decodeInventoryKey,
  encodeInventoryKey,
  type InventoryManifest,
  parseCsv,
  parseCsvRecords,
  parseInventoryCsv,
  parseManifest,
  readInventoryReport,
  reportTimestamp,
} from '../../src/core/inventory';
import { MemoryStore } from '../helpers/memory-store';

const md5 = (bytes: Uint8Array | string) => createHash('md5').update(bytes).digest('hex');
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');
const KEYS = ['plain.jpg', 'a b/ü+%25 x.jpg', '100%.jpg', 'c++.png', '日本/写真 1.png', 'quote"d, comma\'.jpg', 'x/y/z.jpeg', ' lead and trail ', 'emoji 📷.heic', "~!*'()&=?#[]@$;:.jpg", 'new\nline.jpg'];

function report(keys: readonly string[] = KEYS, rowsPerFile?: number) {
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

function manifestOf(fields: Record<string, unknown> = {}): string {
  const { manifestBody } = report();
  return JSON.stringify({ ...JSON.parse(text(manifestBody)), ...fields });
}

/** A data file listed correctly (size, MD5) for `csv`. */
function dataFile(csv: string) {
  const body = gzipSync(Buffer.from(csv, 'utf8'));
  return { body, file: { key: 'inventory/data/x.csv.gz', size: body.byteLength, MD5checksum: md5(body) } };
}

const manifest = (schema = 'Bucket, Key, Size, LastModifiedDate, ETag'): InventoryManifest => parseManifest(manifestOf({ fileSchema: schema }));

describe('inventory keys', () => {
  it.each(KEYS)('round-trips %j through the URL encoding', (key) => {
    const encoded = encodeInventoryKey(key);
    expect(encoded).not.toMatch(/ |%(?![0-9A-F]{2})/); // no raw space; every % starts an escape
    expect(decodeInventoryKey(encoded)).toBe(key);
  });

  it('encodes form style: "+" for a space, %2B a plus, %25 a percent, UTF-8 escapes, "/" kept', () => {
    expect(encodeInventoryKey('a b+c%dü/e')).toBe('a+b%2Bc%25d%C3%BC/e');
    expect(encodeInventoryKey('100%.jpg')).toBe('100%25.jpg');
    expect(encodeInventoryKey('c++.png')).toBe('c%2B%2B.png');
    expect(encodeInventoryKey('a b/ü+%25 x.jpg')).toBe('a+b/%C3%BC%2B%2525+x.jpg');
  });

  it('decodes what S3 Inventory writes, "/" plain or as %2F', () => {
    expect(decodeInventoryKey('a+b%2Bc%25d%C3%BC/e')).toBe('a b+c%dü/e');
    expect(decodeInventoryKey('dir%2Fsub%2Ffile+1.jpg')).toBe('dir/sub/file 1.jpg');
    expect(decodeInventoryKey('%E6%97%A5%E6%9C%AC')).toBe('日本');
  });

  it('refuses malformed escapes', () => {
    expect(() => decodeInventoryKey('bad%zz')).toThrow(URIError);
    expect(() => decodeInventoryKey('half%C3')).toThrow(URIError);
    expect(() => decodeInventoryKey('trailing%')).toThrow(URIError);
  });

  it('round-trips many generated keys byte for byte', () => {
    const alphabet = [...'abcXYZ019 +%/._-~!*\'()&=?#,;:"\\', 'ü', 'é', '日', '📷', '\t'];
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let n = 0; n < 500; n++) {
      const key = Array.from({ length: 1 + Math.floor(random() * 20) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
      expect(decodeInventoryKey(encodeInventoryKey(key))).toBe(key);
      expect(Buffer.from(decodeInventoryKey(encodeInventoryKey(key)), 'utf8').equals(Buffer.from(key, 'utf8'))).toBe(true);
    }
  });
});

describe('buildInventoryReport', () => {
  it('lays the report out as S3 Inventory does', () => {
    const { built } = report(KEYS, 4);
    expect(built.manifestKey).toBe('inventory/src-bucket/photo-scaler/2026-11-24T09-30Z/manifest.json');
    expect(built.checksumKey).toBe('inventory/src-bucket/photo-scaler/2026-11-24T09-30Z/manifest.checksum');
    const data = built.files.filter((f) => f.key.endsWith('.csv.gz'));
    expect(data).toHaveLength(3); // 11 keys, 4 per file
    for (const f of data) expect(f.key).toMatch(/^inventory\/src-bucket\/photo-scaler\/data\/[0-9a-f-]{36}\.csv\.gz$/);
    expect(built.files).toHaveLength(5);
    expect(reportTimestamp(new Date('2026-01-02T03:04:59.999Z'))).toBe('2026-01-02T03-04Z');
  });

  it('writes the manifest fields exactly as AWS does, with a matching manifest.checksum', () => {
    const { built, file, manifestBody, checksum } = report(KEYS, 4);
    const raw = JSON.parse(text(manifestBody));
    expect(Object.keys(raw)).toEqual(['sourceBucket', 'destinationBucket', 'version', 'creationTimestamp', 'fileFormat', 'fileSchema', 'files']);
    expect(raw).toMatchObject({
      sourceBucket: 'src-bucket',
      destinationBucket: 'arn:aws:s3:::inv-bucket',
      version: '2016-11-30',
      creationTimestamp: String(Date.parse('2026-11-24T09:30:45Z')),
      fileFormat: 'CSV',
      fileSchema: 'Bucket, Key, Size, LastModifiedDate, ETag',
    });
    expect(checksum).toBe(md5(manifestBody));
    for (const listed of raw.files) {
      expect(Object.keys(listed)).toEqual(['key', 'size', 'MD5checksum']);
      const body = file(listed.key);
      expect(listed).toEqual({ key: listed.key, size: body.byteLength, MD5checksum: md5(body) });
    }
    expect(built.files.map((f) => f.key)).toContain(raw.files[0].key);
  });

  it('quotes every CSV field, URL-encodes keys, and reads back to the same objects', () => {
    const { file, manifestBody, checksum } = report(KEYS, 4);
    const parsed = parseManifest(manifestBody, { checksum, expectedSourceBucket: 'src-bucket' });
    const firstCsv = text(gunzipSync(file(parsed.files[0]!.key)));
    expect(firstCsv.split('\n')[0]).toBe(`"src-bucket","plain.jpg","100","2026-01-01T00:00:00.000Z","${md5('plain.jpg')}"`);
    expect(firstCsv.endsWith('\n')).toBe(true);
    const rows = parsed.files.flatMap((f) => parseInventoryCsv(file(f.key), parsed, f));
    expect(rows.map((row) => decodeInventoryKey(row.Key!))).toEqual(KEYS);
    expect(rows[1]).toEqual({ Bucket: 'src-bucket', Key: encodeInventoryKey(KEYS[1]!), Size: '101', LastModifiedDate: '2026-01-01T00:00:00.000Z', ETag: md5(KEYS[1]!) });
  });

  it('an empty bucket still gets one (empty) data file, so the report reads back to no rows', () => {
    const { built, file, manifestBody } = report([]);
    const parsed = parseManifest(manifestBody);
    expect(parsed.files).toHaveLength(1);
    expect(parseInventoryCsv(file(parsed.files[0]!.key), parsed, parsed.files[0]!)).toEqual([]);
    expect(built.files).toHaveLength(3);
  });

  it('refuses a non-positive rowsPerFile', () => {
    expect(() => report(KEYS, 0)).toThrow(ConfigError);
  });
});

describe('parseManifest refuses a bad manifest with a message naming the problem', () => {
  it('checks manifest.checksum (MD5 of the manifest bytes)', () => {
    const { manifestBody, checksum } = report();
    expect(parseManifest(manifestBody, { checksum: `${checksum.toUpperCase()}\n` }).sourceBucket).toBe('src-bucket');
    expect(() => parseManifest(manifestBody, { checksum: md5('something else') })).toThrow(/does not match manifest.checksum/);
    expect(() => parseManifest(manifestBody, { checksum: 'not a digest' })).toThrow(/manifest.checksum is not an MD5/);
    const altered = Buffer.from(text(manifestBody).replace('src-bucket', 'src-buckex'));
    expect(() => parseManifest(altered, { checksum })).toThrow(ConfigError);
  });

  it.each([
    ['not JSON', '{not json', /not JSON/],
    ['a JSON array', '[]', /must hold a JSON object/],
    ['no sourceBucket', manifestOf({ sourceBucket: undefined }), /"sourceBucket" must be a non-empty string/],
    ['a destinationBucket that is not an ARN', manifestOf({ destinationBucket: 'inv-bucket' }), /"destinationBucket" must be a bucket ARN/],
    ['no version', manifestOf({ version: '' }), /"version" must be a non-empty string/],
    ['a creationTimestamp that is not milliseconds', manifestOf({ creationTimestamp: '2026-11-24' }), /"creationTimestamp" must be milliseconds/],
    ['an ORC report', manifestOf({ fileFormat: 'ORC' }), /"fileFormat" must be "CSV" \(got "ORC"/],
    ['a schema without Key', manifestOf({ fileSchema: 'Bucket, Size, ETag' }), /lacks the Key column/],
    ['a schema without Bucket', manifestOf({ fileSchema: 'Key, Size, ETag' }), /lacks the Bucket column/],
    // The ItemSelector reads Size and ETag: without them the execution would fail with States.Runtime.
    ['a schema without Size', manifestOf({ fileSchema: 'Bucket, Key, LastModifiedDate, ETag' }), /lacks the Size column \(the inventory configuration must include the Size and ETag fields/],
    ['a schema without ETag', manifestOf({ fileSchema: 'Bucket, Key, Size, LastModifiedDate' }), /lacks the ETag column/],
    ['a schema naming a column twice', manifestOf({ fileSchema: 'Bucket, Key, Key, Size, ETag' }), /names Key more than once/],
    // The layout S3 writes for IncludedObjectVersions: All (S3 User Guide, "Amazon S3 Inventory").
    ['a versioned report', manifestOf({ fileSchema: 'Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag' }), /has VersionId, IsLatest, IsDeleteMarker: the report lists every object version \(IncludedObjectVersions: All\)[\s\S]*inventory of current versions only/],
    ['no files', manifestOf({ files: [] }), /"files" must be a non-empty array/],
    ['a file without MD5', manifestOf({ files: [{ key: 'a.csv.gz', size: 1 }] }), /files\[0\]\.MD5checksum must be 32 hex digits/],
    ['a file with a negative size', manifestOf({ files: [{ key: 'a.csv.gz', size: -1, MD5checksum: md5('') }] }), /files\[0\]\.size must be a non-negative integer/],
    ['a file without key', manifestOf({ files: [{ size: 1, MD5checksum: md5('') }] }), /files\[0\]\.key must be a non-empty string/],
    ['a file listed twice', manifestOf({ files: [{ key: 'a', size: 1, MD5checksum: md5('') }, { key: 'a', size: 1, MD5checksum: md5('') }] }), /files\[1\]\.key a is listed twice/],
  ])('%s', (_, json, message) => {
    expect(() => parseManifest(json)).toThrow(ConfigError);
    expect(() => parseManifest(json)).toThrow(message);
  });

  it('reports every problem at once, and a report of another bucket', () => {
    expect(() => parseManifest(manifestOf({ fileFormat: 'Parquet', fileSchema: 'Size' }))).toThrow(/fileFormat[\s\S]*lacks the Bucket[\s\S]*lacks the Key/);
    expect(() => parseManifest(manifestOf(), { expectedSourceBucket: 'other' })).toThrow(/for bucket "src-bucket", not "other"/);
  });

  it('splits fileSchema into columns', () => {
    expect(manifest(' Bucket,Key , Size,  ETag, StorageClass').columns).toEqual(['Bucket', 'Key', 'Size', 'ETag', 'StorageClass']);
  });
});

describe('parseInventoryCsv', () => {
  it('refuses a data file whose MD5 or size is not what the manifest lists', () => {
    const { file, manifestBody } = report();
    const parsed = parseManifest(manifestBody);
    const listed = parsed.files[0]!;
    const body = file(listed.key);
    expect(() => parseInventoryCsv(body, parsed, { ...listed, MD5checksum: md5('x') })).toThrow(/MD5 [0-9a-f]{32} does not match the manifest's/);
    expect(() => parseInventoryCsv(body.subarray(1), parsed, listed)).toThrow(/bytes, the manifest says/);
    const flipped = Uint8Array.from(body);
    flipped[flipped.length - 5]! ^= 0xff;
    expect(() => parseInventoryCsv(flipped, parsed, listed)).toThrow(/does not match/);
  });

  it('refuses a listed file that is not gzip or not UTF-8', () => {
    const plain = Buffer.from('"src-bucket","a","1","d","e"\n');
    expect(() => parseInventoryCsv(plain, manifest(), { key: 'k', size: plain.byteLength, MD5checksum: md5(plain) })).toThrow(/k: not gzipped UTF-8 CSV/);
    const { body, file } = dataFile('');
    const latin1 = gzipSync(Buffer.from([0x22, 0xe9, 0x22, 0x0a]));
    expect(() => parseInventoryCsv(latin1, manifest(), { ...file, size: latin1.byteLength, MD5checksum: md5(latin1) })).toThrow(/not gzipped UTF-8/);
    expect(parseInventoryCsv(body, manifest(), file)).toEqual([]);
  });

  it.each([
    ['a row with a missing field', '"src-bucket","a.jpg","1","2026","e"\n"src-bucket","b.jpg","1","2026"\n', /x\.csv\.gz line 2: 4 fields, the fileSchema has 5/],
    ['a row with an extra field', '"src-bucket","a.jpg","1","2026","e","f"\n', /line 1: 6 fields/],
    ['a row for another bucket', '"src-bucket","a.jpg","1","2026","e"\n"evil","a.jpg","1","2026","e"\n', /line 2: bucket "evil" is not the manifest's "src-bucket"/],
    ['text after a closing quote', '"src-bucket","a.jpg"x,"1","2026","e"\n', /line 1: text after a closing quote/],
    ['a quote inside an unquoted field', 'src-bucket,a"b.jpg,1,2026,e\n', /line 1: quote inside an unquoted field/],
    ['an unterminated quote', '"src-bucket","a.jpg","1","2026","e"\n"src-bucket","a.jpg,1,2026,e\n', /line 2: unterminated quoted field/],
    ['an empty key', '"src-bucket","","1","2026","e"\n', /line 1: empty key/],
  ])('refuses %s, naming the file and line', (_, csv, message) => {
    const { body, file } = dataFile(csv);
    expect(() => parseInventoryCsv(body, manifest(), file)).toThrow(ConfigError);
    expect(() => parseInventoryCsv(body, manifest(), file)).toThrow(message);
  });

  it('maps columns by the fileSchema, whatever their order, and counts lines across quoted newlines', () => {
    const { body, file } = dataFile('"e1","k1","src-bucket","1"\r\n"e2","multi\nline","src-bucket","2"\n"e3","k3","other","3"\n');
    const schema = manifest('ETag, Key, Bucket, Size');
    expect(() => parseInventoryCsv(body, schema, file)).toThrow(/line 4: bucket "other"/);
    const ok = dataFile('"e1","k1","src-bucket","1"\r\n"e2","multi\nline","src-bucket","2"\n');
    expect(parseInventoryCsv(ok.body, schema, ok.file)).toEqual([
      { ETag: 'e1', Key: 'k1', Bucket: 'src-bucket', Size: '1' },
      { ETag: 'e2', Key: 'multi\nline', Bucket: 'src-bucket', Size: '2' },
    ]);
  });
});

describe('parseCsv', () => {
  it('reads quoted fields with commas, doubled quotes and newlines, CRLF rows, and skips blank lines', () => {
    expect(parseCsv('"a,b","c""d","e\nf"\r\n\n"g","",h\n')).toEqual([
      ['a,b', 'c"d', 'e\nf'],
      ['g', '', 'h'],
    ]);
    expect(parseCsvRecords('"a"\n\n"b"\n"c\nd"\n"e"').map((r) => r.line)).toEqual([1, 3, 4, 6]);
    expect(parseCsv('x,,\n')).toEqual([['x', '', '']]);
  });
});

describe('readInventoryReport', () => {
  async function stored(keys = KEYS, rowsPerFile = 3) {
    const { built } = report(keys, rowsPerFile);
    const store = new MemoryStore();
    for (const file of built.files) await store.put({ bucket: 'inv', key: file.key }, file.body, {});
    return { store, built, ref: { bucket: 'inv', key: built.manifestKey } };
  }

  it('reads a whole report from the store, checking manifest.checksum beside it', async () => {
    const { store, ref } = await stored();
    expect((await readInventoryReport(store, ref)).map((row) => decodeInventoryKey(row.Key!))).toEqual(KEYS);
  });

  it('reads a report without manifest.checksum', async () => {
    const { store, built, ref } = await stored();
    await store.delete({ bucket: 'inv', key: built.checksumKey });
    expect(await readInventoryReport(store, ref)).toHaveLength(KEYS.length);
  });

  it('refuses a report whose checksum, data file or manifest is wrong or missing', async () => {
    const { store, built, ref } = await stored();
    await expect(readInventoryReport(store, ref, { expectedSourceBucket: 'other' })).rejects.toThrow(/not "other"/);
    await store.put({ bucket: 'inv', key: built.checksumKey }, Buffer.from(md5('x')), {});
    await expect(readInventoryReport(store, ref)).rejects.toThrow(/does not match manifest.checksum/);
    await store.delete({ bucket: 'inv', key: built.checksumKey });
    await store.delete({ bucket: 'inv', key: built.files[1]!.key });
    await expect(readInventoryReport(store, ref)).rejects.toThrow(/listed in the manifest, cannot be read/);
    await expect(readInventoryReport(store, { bucket: 'inv', key: 'nope/manifest.json' })).rejects.toThrow(ConfigError);
  });
});
