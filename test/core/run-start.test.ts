import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors';
import { checksumKeyOf } from '../../src/core/inventory/read';
import { buildInventoryReport } from '../../src/local/inventory-writer';
import { checkReport, executionNameFor, type RunInput, type RunStarter, startRun } from '../../src/core/run-start';
import { MemoryStore } from '../helpers/memory-store';

const objects = [
  { key: 'a.jpg', size: 10, lastModified: new Date('2026-11-01T00:00:00Z'), etag: 'e1' },
  { key: 'b c.jpg', size: 20, lastModified: new Date('2026-11-01T00:00:00Z'), etag: 'e2' },
];

async function storedReport(sourceBucket = 'photos') {
  const store = new MemoryStore();
  const report = buildInventoryReport({ sourceBucket, destinationBucket: 'inv', prefix: 'inventory', objects, now: new Date('2026-11-24T01:00:00Z'), rowsPerFile: 1 });
  for (const file of report.files) await store.put({ bucket: 'inv', key: file.key }, file.body, {});
  return { store, report, ref: { bucket: 'inv', key: report.manifestKey } };
}

class RecordingStarter implements RunStarter {
  readonly started = new Map<string, RunInput>();
  async start(name: string, input: RunInput) {
    const alreadyStarted = this.started.has(name);
    if (!alreadyStarted) this.started.set(name, input);
    return { executionArn: `arn:aws:states:eu-west-1:1:execution:m:${name}`, alreadyStarted };
  }
}

/** The stored report's manifest with another fileSchema, its checksum made to match (a report S3 could write). */
async function withSchema(store: MemoryStore, report: { manifestKey: string; checksumKey: string }, fileSchema: string) {
  const { createHash } = await import('node:crypto');
  const manifest = JSON.parse(Buffer.from((await store.get({ bucket: 'inv', key: report.manifestKey })).body).toString('utf8'));
  const body = Buffer.from(JSON.stringify({ ...manifest, fileSchema }));
  await store.put({ bucket: 'inv', key: report.manifestKey }, body, {});
  await store.put({ bucket: 'inv', key: report.checksumKey }, Buffer.from(createHash('md5').update(body).digest('hex')), {});
}

describe('checkReport', () => {
  it.each([
    ['without Size', 'Bucket, Key, LastModifiedDate, ETag', /lacks the Size column/],
    ['without ETag', 'Bucket, Key, Size, LastModifiedDate', /lacks the ETag column/],
    ['of every version', 'Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag', /lists every object version/],
  ])('refuses a report %s before anything starts (the state machine would fail with States.Runtime)', async (_, schema, message) => {
    const { store, report, ref } = await storedReport();
    await withSchema(store, report, schema);
    await expect(checkReport(store, ref, { requireChecksum: true })).rejects.toThrow(message);
    const starter = new RecordingStarter();
    await expect(startRun(store, starter, ref, { requireChecksum: true })).rejects.toThrow(ConfigError);
    expect(starter.started.size).toBe(0);
  });

  it('accepts a complete report and counts its data files and bytes', async () => {
    const { store, report, ref } = await storedReport();
    const checked = await checkReport(store, ref, { expectedSourceBucket: 'photos', requireChecksum: true });
    expect(checked.dataFiles).toBe(2);
    const dataBytes = report.files.filter((file) => file.key.endsWith('.csv.gz')).reduce((sum, file) => sum + file.body.byteLength, 0);
    expect(checked.dataBytes).toBe(dataBytes);
  });

  it('refuses a manifest that does not match its checksum', async () => {
    const { store, report, ref } = await storedReport();
    await store.put({ bucket: 'inv', key: report.checksumKey }, Buffer.from('0'.repeat(32)), {});
    await expect(checkReport(store, ref)).rejects.toThrow(/checksum/);
  });

  it('refuses a report of another bucket, one without its checksum yet, and a missing manifest', async () => {
    const { store, report, ref } = await storedReport('someone-else');
    await expect(checkReport(store, ref, { expectedSourceBucket: 'photos' })).rejects.toThrow(/someone-else/);
    await store.delete({ bucket: 'inv', key: report.checksumKey });
    await expect(checkReport(store, ref, { requireChecksum: true })).rejects.toThrow(/manifest\.checksum is missing: S3 Inventory writes it last/);
    await expect(checkReport(store, { bucket: 'inv', key: 'inventory/nothing/manifest.json' })).rejects.toThrow(ConfigError);
  });

  it('refuses a report whose data file is missing or of another size', async () => {
    const { store, report, ref } = await storedReport();
    const data = report.files.find((file) => file.key.endsWith('.csv.gz'))!;
    await store.put({ bucket: 'inv', key: data.key }, new Uint8Array([...data.body, 0]), {});
    await expect(checkReport(store, ref)).rejects.toThrow(`lists ${data.key} as ${data.body.byteLength} bytes; it is ${data.body.byteLength + 1}`);
    await store.delete({ bucket: 'inv', key: data.key });
    await expect(checkReport(store, ref)).rejects.toThrow(`lists s3://inv/${data.key}, which does not exist`);
  });

  it('refuses a key that is not a manifest.json', () => {
    expect(checksumKeyOf('x/2026-11-24T01-00Z/manifest.json')).toBe('x/2026-11-24T01-00Z/manifest.checksum');
    expect(() => checksumKeyOf('x/data/1.csv.gz')).toThrow(/not a manifest\.json/);
  });
});

describe('executionNameFor', () => {
  it('is readable, valid for Step Functions, and differs per report', () => {
    const name = executionNameFor({ bucket: 'inv', key: 'inventory/photos/photo-scaler/2026-11-24T01-00Z/manifest.json' });
    expect(name).toMatch(/^inventory-2026-11-24T01-00Z-[0-9a-f]{16}$/);
    expect(name.length).toBeLessThanOrEqual(80);
    expect(executionNameFor({ bucket: 'inv', key: 'inventory/photos/photo-scaler/2026-11-24T01-00Z/manifest.json' })).toBe(name);
    expect(executionNameFor({ bucket: 'inv2', key: 'inventory/photos/photo-scaler/2026-11-24T01-00Z/manifest.json' })).not.toBe(name);
    expect(executionNameFor({ bucket: 'inv', key: 'hand made/manifest.json' })).toMatch(/^inventory-[0-9a-f]{16}$/);
  });
});

describe('startRun', () => {
  it('starts once per report: the second start finds the first run', async () => {
    const { store, ref } = await storedReport();
    const starter = new RecordingStarter();
    const first = await startRun(store, starter, ref);
    const second = await startRun(store, starter, ref);
    expect(first).toMatchObject({ alreadyStarted: false, name: executionNameFor(ref) });
    expect(second).toMatchObject({ alreadyStarted: true, executionArn: first.executionArn });
    expect([...starter.started.values()]).toEqual([{ manifest: ref }]);
  });

  it('starts nothing when the report is refused', async () => {
    const { store, report, ref } = await storedReport();
    await store.put({ bucket: 'inv', key: report.checksumKey }, Buffer.from('f'.repeat(32)), {});
    const starter = new RecordingStarter();
    await expect(startRun(store, starter, ref)).rejects.toThrow(ConfigError);
    expect(starter.started.size).toBe(0);
  });
});
