import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors';
import { parseInventoryCsv } from '../../src/core/inventory/data-files';
import { decodeInventoryKey, encodeInventoryKey } from '../../src/core/inventory/keys';
import { parseManifest } from '../../src/core/inventory/manifest';
import { reportTimestamp } from '../../src/local/inventory-writer';
import { KEYS, md5, report, text } from '../helpers/inventory';

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
