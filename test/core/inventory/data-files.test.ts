import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors';
import { CsvParser, parseCsv, parseCsvRecords, parseInventoryCsv, streamInventoryCsv } from '../../../src/core/inventory/data-files';
import { parseManifest } from '../../../src/core/inventory/manifest';
import { dataFile, manifest, md5, report } from '../../helpers/inventory';

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

describe('streamInventoryCsv and CsvParser: the same rows and refusals, whatever the chunks', () => {
  const chunked = async function* (bytes: Uint8Array, size: number) {
    for (let at = 0; at < bytes.byteLength; at += size) yield bytes.subarray(at, at + size);
  };
  const streamed = async (bytes: Uint8Array, size: number, parsed = manifest(), file = dataFile('').file) => {
    const rows = [];
    for await (const group of streamInventoryCsv(chunked(bytes, size), parsed, file)) rows.push(...group);
    return rows;
  };
  const CSV = '"src-bucket","a,b ""q"".jpg","1","2026","e1"\r\n"src-bucket","multi\nline\r\n.jpg","22","2026","e2"\n\n"src-bucket","%E6%97%A5+1.jpg","333","2026","e3"';

  it.each([1, 2, 3, 7, 64, 100_000])('chunks of %i bytes give the rows parseInventoryCsv gives', async (size) => {
    const { body, file } = dataFile(CSV);
    const whole = parseInventoryCsv(body, manifest(), file);
    expect(whole).toHaveLength(3);
    expect(await streamed(body, size, manifest(), file)).toEqual(whole);
  });

  it('CsvParser fed one character at a time gives parseCsvRecords\'s records and lines', () => {
    const parser = new CsvParser('x');
    const records = [...CSV].flatMap((c) => parser.push(c));
    expect([...records, ...parser.end()]).toEqual(parseCsvRecords(CSV, 'x'));
  });

  it.each([
    ['a row for another bucket', '"src-bucket","a.jpg","1","2026","e"\n"evil","a.jpg","1","2026","e"\n', /line 2: bucket "evil" is not the manifest's "src-bucket"/],
    ['text after a closing quote', '"src-bucket","a.jpg"x,"1","2026","e"\n', /line 1: text after a closing quote/],
    ['an unterminated quote', '"src-bucket","a.jpg","1","2026","e"\n"src-bucket","a.jpg,1,2026,e\n', /line 2: unterminated quoted field/],
  ])('refuses %s with parseInventoryCsv\'s message', async (_, csv, message) => {
    const { body, file } = dataFile(csv);
    expect(() => parseInventoryCsv(body, manifest(), file)).toThrow(message);
    await expect(streamed(body, 5, manifest(), file)).rejects.toThrow(message);
  });

  it('a damaged file is refused for its MD5 (read to its end), one longer than listed as soon as it is, one not gzip as such', async () => {
    const { body, file } = dataFile(CSV.repeat(50));
    const damaged = Uint8Array.from(body);
    damaged[40]! ^= 0xff;
    await expect(streamed(damaged, 16, manifest(), file)).rejects.toThrow(/MD5 [0-9a-f]{32} does not match the manifest's/);
    const longer = new Uint8Array(body.byteLength + 100);
    longer.set(body);
    await expect(streamed(longer, 16, manifest(), file)).rejects.toThrow(`${file.key}: ${body.byteLength + 16 - (body.byteLength % 16)} bytes, the manifest says ${body.byteLength}`);
    const plain = Buffer.from('"src-bucket","a","1","d","e"\n');
    await expect(streamed(plain, 4, manifest(), { key: 'k', size: plain.byteLength, MD5checksum: md5(plain) })).rejects.toThrow(/k: not gzipped UTF-8 CSV/);
  });
});
