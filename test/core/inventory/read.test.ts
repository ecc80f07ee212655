import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors';
import { decodeInventoryKey } from '../../../src/core/inventory/keys';
import { readInventoryReport } from '../../../src/core/inventory/read';
import { KEYS, md5, report } from '../../helpers/inventory';
import { MemoryStore } from '../../helpers/memory-store';

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
