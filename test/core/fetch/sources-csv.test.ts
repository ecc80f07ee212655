import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MAX_RECORD_BYTES, parseSourceRecord, readSources, type SourceRecordResult } from '../../../src/core/fetch/sources-csv';

async function all(text: string | string[], chunk = 0): Promise<SourceRecordResult[]> {
  const parts = Array.isArray(text) ? text : chunk ? (text.match(new RegExp(`[\\s\\S]{1,${chunk}}`, 'g')) ?? []) : [text];
  const out: SourceRecordResult[] = [];
  for await (const result of readSources(Readable.from(parts.map((part) => Buffer.from(part))), 'sources.csv')) out.push(result);
  return out;
}

const MD5 = '0123456789abcdef0123456789abcdef';
const SHA = 'a'.repeat(64);

describe('readSources: the sources file, streamed', () => {
  it('reads rows with every optional column, whatever the chunking', async () => {
    const text = `key,url,size,md5,sha256,content-type\r\n"a, b.jpg",https://h.example/a.jpg?sig=S,12,${MD5},${SHA},image/jpeg\r\nc/d.png,s3://old/c/d.png,,,,\r\n\n`;
    for (const chunk of [0, 1, 3, 7]) {
      expect(await all(text, chunk)).toEqual([
        { line: 2, row: { key: 'a, b.jpg', url: 'https://h.example/a.jpg?sig=S', size: 12, md5: MD5, sha256: SHA, contentType: 'image/jpeg' } },
        { line: 3, row: { key: 'c/d.png', url: 's3://old/c/d.png' } },
      ]);
    }
  });

  it('reads a base64 md5 (Azure Content-MD5) as hex, and a header in any case with a BOM', async () => {
    const md5 = Buffer.from(MD5, 'hex').toString('base64');
    expect(await all(`\ufeffKEY,URL,MD5\nk.jpg,https://h.example/k.jpg,${md5}\n`)).toEqual([{ line: 2, row: { key: 'k.jpg', url: 'https://h.example/k.jpg', md5: MD5 } }]);
  });

  it('yields a clear error per bad row, naming its line, never the secret of its URL', async () => {
    const results = await all(
      [
        'key,url,size,sha256\n',
        'ok.jpg,https://h.example/ok.jpg?sig=SECRET,1,\n',
        ',https://h.example/x.jpg,,\n',
        'x.jpg,ftp://h.example/x.jpg?sig=SECRET,,\n',
        'y.jpg,https://h.example/y.jpg?sig=SECRET,-3,\n',
        'z.jpg,https://h.example/z.jpg?sig=SECRET,,abc\n',
        'ok.jpg,https://h.example/again.jpg,,\n',
        'too,many,fields,here,now\n',
      ].join(''),
    );
    expect(results.map((r) => r.line)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    expect('row' in results[0]!).toBe(true);
    const errors = results.slice(1).map((r) => ('error' in r ? r.error : ''));
    expect(errors[0]).toMatch(/empty key/);
    expect(errors[1]).toMatch(/x\.jpg: url ftp:\/\/h\.example\/x\.jpg\?\*\*\* is not https/);
    expect(errors[2]).toMatch(/size "-3"/);
    expect(errors[3]).toMatch(/sha256 "abc"/);
    expect(errors[4]).toMatch(/a second row for this key/);
    expect(errors[5]).toMatch(/5 fields, the header has 4/);
    for (const error of errors) expect(error).not.toContain('SECRET');
  });

  it('refuses a header without key,url or with an unknown column', async () => {
    await expect(all('key,link\n')).rejects.toThrow(/unknown column "link"/);
    await expect(all('key,size\n')).rejects.toThrow(/no url column/);
    await expect(all('key,url,sha-256\n')).rejects.toThrow(/unknown column "sha-256".*known: key, url/);
    await expect(all('')).rejects.toThrow(/empty/);
  });

  it('bounds a record: an endless one is one error, the rows after it still read', async () => {
    const huge = 'x'.repeat(MAX_RECORD_BYTES + 10);
    const results = await all([`key,url\n"${huge}`, `",https://h.example/a\n`, 'b.jpg,https://h.example/b.jpg\n'], 0);
    expect(results).toEqual([
      { line: 2, error: `a record of more than ${MAX_RECORD_BYTES} characters` },
      { line: 3, row: { key: 'b.jpg', url: 'https://h.example/b.jpg' } },
    ]);
    expect(await all('key,url\n"open,https://h.example/a\n')).toEqual([{ line: 2, error: 'a quoted field is never closed' }]);
  });

  it('parseSourceRecord checks an ItemReader row the same way', () => {
    expect(parseSourceRecord({ key: 'a.jpg', url: 'https://h.example/a.jpg', size: '', md5: '', sha256: '', 'content-type': '' })).toEqual({ key: 'a.jpg', url: 'https://h.example/a.jpg' });
    expect(() => parseSourceRecord({ key: 'a.jpg' })).toThrow(/empty url/);
    // The header as written (a BOM, another case): the ItemReader keys rows by it.
    expect(parseSourceRecord({ '\ufeffKey': 'a.jpg', ' URL ': 'https://h.example/a.jpg', SHA256: 'A'.repeat(64) })).toEqual({ key: 'a.jpg', url: 'https://h.example/a.jpg', sha256: 'a'.repeat(64) });
  });
});
