/** plan's core on small genuine S3 Inventory reports (built by the local writer, read through the ObjectStore port). */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import { quoteCsv } from '../../src/core/inventory/data-files';
import { encodeInventoryKey } from '../../src/core/inventory/keys';
import { estimate } from '../../src/core/estimate';
import { md5 } from '../../src/core/inventory/manifest';
import { DUPLICATE_TABLE_SLOTS, PairTable, PLAN_REFUSALS, planInventory, planOf, type PlanInventoryOptions, S3_PREFIX_RATES } from '../../src/core/plan';
import type { CatalogRow, ObjectRef } from '../../src/core/ports';
import { DEFAULT_TIMINGS } from '../../src/core/prices';
import { validateConfig } from '../../src/core/presets';
import { checkReport } from '../../src/core/run-start';
import { derivedPrefixOf } from '../../src/core/source';
import { buildInventoryReport, type InventoryObject } from '../../src/local/inventory-writer';
import { MemoryCatalog } from '../helpers/memory-catalog';
import { MemoryStore } from '../helpers/memory-store';

const presets = validateConfig(config);
const OPTIONS: PlanInventoryOptions = { presets, derivedPrefixBytes: derivedPrefixOf({ presets, config }), maxInputBytes: config.limits.maxInputBytes };
const MACHINE = { maxConcurrency: 20, batchConcurrency: 8, batchSize: 8 };
const lastModified = new Date('2026-01-01T00:00:00Z');
const single = (n: number) => md5(`content ${n}`);
const object = (key: string, size = 1_000_000, etag = single(size + key.length)): InventoryObject => ({ key, size, etag, lastModified });

/** A store that records which keys were opened, for "nothing else read". */
class RecordingStore extends MemoryStore {
  opened: string[] = [];
  override async openRead(ref: ObjectRef) {
    this.opened.push(ref.key);
    return super.openRead(ref);
  }
}

async function stored(objects: InventoryObject[], rowsPerFile = 4) {
  const built = buildInventoryReport({ sourceBucket: 'src-bucket', destinationBucket: 'inv-bucket', prefix: 'inventory', objects, now: new Date('2026-11-24T09:30:00Z'), rowsPerFile });
  const store = new RecordingStore();
  store.chunkBytes = 37; // rows, quoted fields and the gzip trailer cut across chunks
  for (const file of built.files) await store.put({ bucket: 'inv', key: file.key }, file.body, {});
  return { store, built, ref: { bucket: 'inv', key: built.manifestKey } };
}

describe('planInventory: refusals', () => {
  it('counts each refusal reason with examples and the message the pipeline would record', async () => {
    const long = `${'x'.repeat(1010)}.jpg`;
    const { store, ref } = await stored([
      object('ok/a.jpg'),
      object('albums/'),
      object('thumb/cat.jpg'),
      object('assets/ab/x.jpg'),
      object(long),
      object('a/../b.jpg'),
      object('empty.jpg', 0),
      object('huge.tif', config.limits.maxInputBytes + 1),
      object('notes.txt', 10),
      object('logo.svg', 10),
      object('no-extension', 10),
    ]);
    const { tally } = await planInventory(store, ref, OPTIONS);
    expect(Object.keys(tally.refused)).toEqual([...PLAN_REFUSALS]);
    expect(tally.refused).toEqual({ 'folder-marker': 1, 'layout-collision': 2, 'key-too-long': 1, 'key-refused': 1, empty: 1, 'too-large': 1, 'not-an-image': 1, unsupported: 1 });
    const examples = Object.fromEntries(tally.refusals.map((r) => [r.reason, r.examples]));
    expect(examples['layout-collision']).toEqual([
      { key: 'thumb/cat.jpg', why: 'key starts with "thumb/", a prefix the library uses for the crops of that preset' },
      { key: 'assets/ab/x.jpg', why: 'key starts with "assets/", a prefix the library uses for its own objects' },
    ]);
    expect(examples['key-too-long']![0]!.why).toMatch(/too long for its derived keys/);
    expect(examples['key-refused']).toEqual([{ key: 'a/../b.jpg', why: 'key contains "." or ".." segments' }]);
    expect(examples['too-large']![0]!.why).toBe(`too large: ${config.limits.maxInputBytes + 1} bytes, limit is ${config.limits.maxInputBytes}`);
    expect(tally.objects).toBe(11);
    expect(tally.accepted.objects).toBe(2); // ok/a.jpg, and no-extension (sniffed when read)
    expect(tally.toProcess).toEqual(tally.accepted);
  });

  it('decodes URL-encoded keys as the pipeline does (space, +, %, non-ASCII) and refuses a key that does not decode', async () => {
    const keys = ['a b.jpg', 'c++.jpg', '100%.jpg', '日本/写真 1.jpg', 'thumb/é+x.jpg'];
    const { store, built, ref } = await stored(keys.map((key) => object(key)));
    // The writer encodes as S3 Inventory does: '+' for a space, %2B for '+', %25 for '%'.
    expect(encodeInventoryKey('a b+%.jpg')).toBe('a+b%2B%25.jpg');
    const { tally } = await planInventory(store, ref, { ...OPTIONS, largest: 10 });
    expect(tally.largest.map((o) => o.key).sort()).toEqual([...keys].sort());
    expect(tally.refusals.find((r) => r.reason === 'layout-collision')!.examples[0]!.key).toBe('thumb/é+x.jpg');
    expect(tally.accepted.objects).toBe(4);

    // A hand-made row whose key is not valid URL encoding (a bare '%').
    const bad = await withRows(built, [['src-bucket', '50%off.jpg', '10', '2026-01-01T00:00:00.000Z', single(1)]]);
    const planned = await planInventory(bad.store, bad.ref, OPTIONS);
    expect(planned.tally.refusals).toEqual([expect.objectContaining({ reason: 'key-refused', examples: [{ key: '50%off.jpg', why: 'key is not valid URL encoding: 50%off.jpg' }] })]);
  });
});

describe('planInventory: sizes, extensions, largest', () => {
  it('buckets sizes by powers of ten, counts extensions (any case) with their likely format, keeps the N largest', async () => {
    const { store, ref } = await stored([object('a.jpg', 500), object('b.JPG', 5_000), object('c.png', 5_000_000), object('d.heic', 50_000_000), object('e', 0), object('f.jpeg', 2_000_000_000)]);
    const { tally } = await planInventory(store, ref, { ...OPTIONS, largest: 2 });
    expect(tally.bytes).toBe(500 + 5_000 + 5_000_000 + 50_000_000 + 2_000_000_000);
    expect(tally.sizes.filter((s) => s.objects > 0).map((s) => [s.range, s.objects])).toEqual([
      ['0 B', 1],
      ['1 B – 1 KB', 1],
      ['1 KB – 10 KB', 1],
      ['1 MB – 10 MB', 1],
      ['10 MB – 100 MB', 1],
      ['1 GB and over', 1],
    ]);
    expect(tally.extensions.find((e) => e.extension === 'jpg')).toEqual({ extension: 'jpg', format: 'image/jpeg', objects: 2, bytes: 5_500 });
    expect(tally.extensions.find((e) => e.extension === 'heic')!.format).toBe('image/heic');
    expect(tally.extensions.find((e) => e.extension === '(none)')!.objects).toBe(1);
    expect(tally.largest).toEqual([
      { key: 'f.jpeg', size: 2_000_000_000 },
      { key: 'd.heic', size: 50_000_000 },
    ]);
  });
});

describe('planInventory: duplicates', () => {
  it('groups objects with the same ETag and size; multipart ETags are counted and only match the same multipart ETag', async () => {
    const same = single(7);
    const multipart = `${single(8)}-3`;
    const { store, ref } = await stored([
      object('a.jpg', 100, same),
      object('b.jpg', 100, same),
      object('c.jpg', 100, `"${same}"`), // quoted as S3 answers it: the same ETag
      object('d.jpg', 101, same), // another size: not the same content
      object('e.jpg', 5_000_000, multipart),
      object('f.jpg', 5_000_000, multipart),
      object('g.jpg', 5_000_000, `${single(9)}-4`),
      object('h.jpg', 100, single(10)),
    ]);
    const { tally } = await planInventory(store, ref, OPTIONS);
    expect(tally.duplicates).toMatchObject({ groups: 2, objects: 5, extraCopies: 3, multipartObjects: 3, exact: true });
    expect(tally.duplicates.note).toMatch(/multipart upload's ETag/);
  });

  it('the fingerprint table stays within its slots: past them new pairs are not counted and the result says so', () => {
    const table = new PairTable(1 << 16);
    for (let i = 0; i < 60_000; i++) table.add(single(i), i);
    for (let i = 0; i < 10; i++) table.add(single(i), i);
    expect(table.saturated).toBe(true);
    expect(table.capacity).toBe(49_152);
    expect(table).toMatchObject({ groups: 10, objects: 20 });
    const big = new PairTable(DUPLICATE_TABLE_SLOTS);
    for (let i = 0; i < 200_000; i++) big.add(single(i % 150_000), 1000);
    expect(big).toMatchObject({ groups: 50_000, objects: 100_000, saturated: false });
  });
});

describe('planInventory: bad reports, refused as start refuses them', () => {
  it('a corrupt data file: refused with its MD5, and no later file is read', async () => {
    const objects = Array.from({ length: 12 }, (_, i) => object(`p${i}.jpg`));
    const { store, built, ref } = await stored(objects, 4);
    const dataKeys = built.files.filter((f) => f.key.endsWith('.csv.gz')).map((f) => f.key);
    expect(dataKeys).toHaveLength(3);
    const body = Uint8Array.from((await store.get({ bucket: 'inv', key: dataKeys[1]! })).body);
    body[body.length - 12]! ^= 0xff;
    await store.put({ bucket: 'inv', key: dataKeys[1]! }, body, {});
    await expect(planInventory(store, ref, OPTIONS)).rejects.toThrow(new RegExp(`${dataKeys[1]}: MD5 [0-9a-f]{32} does not match the manifest's`));
    expect(store.opened).toEqual(dataKeys.slice(0, 2));
  });

  it('a data file cut short or missing is named', async () => {
    const { store, built, ref } = await stored([object('a.jpg'), object('b.jpg')], 1);
    const [first, second] = built.files.filter((f) => f.key.endsWith('.csv.gz')).map((f) => f.key);
    await store.put({ bucket: 'inv', key: first! }, (await store.get({ bucket: 'inv', key: first! })).body.subarray(0, 20), {});
    await expect(planInventory(store, ref, OPTIONS)).rejects.toThrow(`${first}: 20 bytes, the manifest says`);
    await store.delete({ bucket: 'inv', key: first! });
    await expect(planInventory(store, ref, OPTIONS)).rejects.toThrow(`${first}, listed in the manifest, cannot be read`);
    expect(second).toBeDefined();
  });

  it('a report with version columns (IsLatest, VersionId, delete markers) is refused with the message start gives', async () => {
    const { built } = await stored([object('a.jpg')]);
    const schema = 'Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, ETag';
    const rows = [
      ['src-bucket', 'a.jpg', 'v2', 'true', 'false', '100', single(1)],
      ['src-bucket', 'a.jpg', 'v1', 'false', 'false', '90', single(2)],
      ['src-bucket', 'b.jpg', 'v3', 'true', 'true', '', ''],
    ];
    const { store, ref } = await withRows(built, rows, schema);
    const startMessage = await checkReport(store, ref).then(
      () => 'accepted',
      (error: Error) => error.message,
    );
    expect(startMessage).toMatch(/"fileSchema" has VersionId, IsLatest, IsDeleteMarker: the report lists every object version/);
    await expect(planInventory(store, ref, OPTIONS)).rejects.toThrow(startMessage);
  });

  it('a manifest that does not match manifest.checksum, or a key that is not a manifest.json, is refused as start refuses it', async () => {
    const { store, built, ref } = await stored([object('a.jpg')]);
    await store.put({ bucket: 'inv', key: built.checksumKey }, Buffer.from(md5('other')), {});
    const startMessage = await checkReport(store, ref).then(() => 'accepted', (error: Error) => error.message);
    expect(startMessage).toMatch(/does not match manifest.checksum/);
    await expect(planInventory(store, ref, OPTIONS)).rejects.toThrow(startMessage);
    await expect(planInventory(store, { bucket: 'inv', key: 'inventory/report.json' }, OPTIONS)).rejects.toThrow('not a manifest.json: inventory/report.json');
  });
});

describe('planInventory: the catalog', () => {
  it('counts accepted objects whose rows are complete with the same ETag: what a rerun skips', async () => {
    const { store, ref } = await stored([object('done.jpg', 100, single(1)), object('changed.jpg', 100, single(2)), object('new.jpg', 100, single(3)), object('thumb/x.jpg', 100, single(4))]);
    const catalog = new MemoryCatalog();
    const rows = (sourceKey: string, etag: string): CatalogRow[] =>
      [{ name: 'original', spec: '' }, ...presets].map((preset) => ({
        sourceKey,
        preset: preset.name,
        logicalKey: sourceKey,
        assetKey: 'assets/aa/bb/cc/x.jpg',
        sha256: 'a'.repeat(64),
        sourceSha256: 'a'.repeat(64),
        width: 1,
        height: 1,
        bytes: 1,
        contentType: 'image/jpeg',
        sourceBucket: 'src-bucket',
        sourceEtag: etag,
        spec: preset.spec,
        runId: 'r',
        updatedAt: '2026-01-01T00:00:00.000Z',
      }));
    await catalog.putRows([...rows('done.jpg', single(1)), ...rows('changed.jpg', single(99))]);
    const { tally } = await planInventory(store, ref, { ...OPTIONS, catalog: { catalog } });
    expect(tally.catalog).toEqual({ checked: 3, unchanged: 1, unchangedBytes: 100 });
    // The three looked up together, as FindUnchanged reads a batch: one BatchGetItem, not a query each.
    expect(catalog.readRequests).toBe(1);
    expect(tally.toProcess).toEqual({ objects: 2, bytes: 200 });
    const without = await planInventory(store, ref, OPTIONS);
    expect(without.tally.catalog).toBeUndefined();
  });
});

describe('planOf: the estimate and the request rate', () => {
  it('prices what would be processed with estimate.ts, and recommends the MaxConcurrency that keeps S3 within one prefix', async () => {
    const objects = Array.from({ length: 40 }, (_, i) => object(`p${i}.jpg`, 4_000_000, single(i % 30)));
    const { store, ref } = await stored(objects, 16);
    const { tally } = await planInventory(store, ref, OPTIONS);
    const plan = planOf(tally, { machine: MACHINE, timings: DEFAULT_TIMINGS, presets: 4, memoryMB: 1769, dedupeMemoryMB: 512 });
    expect(plan.duplicates).toMatchObject({ groups: 10, objects: 20, extraCopies: 10 });
    expect(plan.estimate.input).toMatchObject({ photos: 40, avgMB: 4, avgMegapixels: 12, duplicateShare: 0.25, concurrency: 160, batchSize: 8 });
    // estimate.ts's own figures for this input (40 photos cost less than a cent: the lines say how).
    expect(plan.estimate).toEqual(estimate(plan.estimate.input!, DEFAULT_TIMINGS));
    expect(plan.estimate.lines.map((line) => line.item)).toEqual(expect.arrayContaining(['S3 PUT (assets + pointers)', 'Lambda compute (arm64)', 'Step Functions Express (children)', 'DynamoDB writes']));
    expect(plan.estimate.totalUsd).toBe(Math.round(plan.estimate.lines.reduce((sum, line) => sum + line.usd, 0) * 100) / 100);
    const rate = plan.requestRate;
    expect(rate.limits).toMatchObject({ putPerSecondPerPrefix: 3_500, getPerSecondPerPrefix: 5_500 });
    expect(rate.putPerSecond).toBeGreaterThan(0);
    // Within the rates at MaxConcurrency 20 for 12 MP photos; tiny photos go much faster and would not be.
    expect(rate.throttled).toBe(rate.putPerSecond > S3_PREFIX_RATES.putPerSecond || rate.getPerSecond > S3_PREFIX_RATES.getPerSecond);
    const fast = planOf(tally, { machine: { ...MACHINE, maxConcurrency: 200 }, timings: DEFAULT_TIMINGS, presets: 4, memoryMB: 1769, dedupeMemoryMB: 512, avgMegapixels: 0.1 });
    expect(fast.requestRate.throttled).toBe(true);
    expect(fast.requestRate.recommendedMaxConcurrency).toBeLessThan(200);
    // A million such photos: the wall clock at the recommended concurrency is the estimate's, scaled.
    const million = { ...tally, accepted: { objects: 1e6, bytes: 4e11 }, toProcess: { objects: 1e6, bytes: 4e11 } };
    const slow = planOf(million, { machine: { ...MACHINE, maxConcurrency: 200 }, timings: DEFAULT_TIMINGS, presets: 4, memoryMB: 1769, dedupeMemoryMB: 512 });
    expect(slow.requestRate.throttled).toBe(true);
    expect(slow.requestRate.wallClockHoursAtRecommended).toBeCloseTo((slow.estimate.wallClockHours * 200) / slow.requestRate.recommendedMaxConcurrency, 1);
    expect(slow.requestRate.wallClockHoursAtRecommended).toBeGreaterThan(slow.estimate.wallClockHours);
    // At the recommended concurrency, the rates fit.
    const paced = planOf(tally, { machine: { ...MACHINE, maxConcurrency: fast.requestRate.recommendedMaxConcurrency }, timings: DEFAULT_TIMINGS, presets: 4, memoryMB: 1769, dedupeMemoryMB: 512, avgMegapixels: 0.1 });
    expect(paced.requestRate.putPerSecond).toBeLessThanOrEqual(S3_PREFIX_RATES.putPerSecond);
    expect(paced.requestRate.getPerSecond).toBeLessThanOrEqual(S3_PREFIX_RATES.getPerSecond);
    expect(paced.requestRate.throttled).toBe(false);
  });

  it('nothing to process costs nothing', async () => {
    const { store, ref } = await stored([object('x/', 0), object('y.txt', 3)]);
    const { tally } = await planInventory(store, ref, OPTIONS);
    const plan = planOf(tally, { machine: MACHINE, timings: DEFAULT_TIMINGS, presets: 4, memoryMB: 1769, dedupeMemoryMB: 512 });
    expect(plan.estimate.totalUsd).toBe(0);
    expect(plan.requestRate).toMatchObject({ putPerSecond: 0, recommendedMaxConcurrency: 20, throttled: false });
  });
});

/** The report with its data files replaced by one holding `rows` (quoted as S3 writes them), the manifest re-listed and re-checksummed. */
async function withRows(built: ReturnType<typeof buildInventoryReport>, rows: string[][], schema?: string) {
  const store = new MemoryStore();
  const csv = rows.map((fields) => `${fields.map(quoteCsv).join(',')}\n`).join('');
  const body = gzipSync(Buffer.from(csv, 'utf8'));
  const dataKey = 'inventory/src-bucket/photo-scaler/data/hand-made.csv.gz';
  const manifest = JSON.parse(Buffer.from(built.files.find((f) => f.key === built.manifestKey)!.body).toString('utf8'));
  const manifestBody = Buffer.from(JSON.stringify({ ...manifest, ...(schema ? { fileSchema: schema } : {}), files: [{ key: dataKey, size: body.byteLength, MD5checksum: md5(body) }] }));
  await store.put({ bucket: 'inv', key: dataKey }, body, {});
  await store.put({ bucket: 'inv', key: built.manifestKey }, manifestBody, {});
  await store.put({ bucket: 'inv', key: built.checksumKey }, Buffer.from(md5(manifestBody)), {});
  return { store, ref: { bucket: 'inv', key: built.manifestKey } };
}
