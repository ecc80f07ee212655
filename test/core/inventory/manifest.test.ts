import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors';
import { parseManifest } from '../../../src/core/inventory/manifest';
import { manifest, manifestOf, md5, report, text } from '../../helpers/inventory';

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
