/**
 * src/core/catalog-rows.ts on the rows a real photo gets (dedupe + resize of a real JPEG through the
 * in-memory ports): which row is the original, which are current, when a key is complete, and
 * which rows a rewrite would change.
 */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import { changedRows, currentRows, isComplete, originalRow, sameRow } from '../../src/core/catalog-rows';
import type { StepContext } from '../../src/core/context';
import { dedupe } from '../../src/core/dedupe';
import { encodeInventoryKey } from '../../src/core/inventory/keys';
import { dynamicName, ORIGINAL } from '../../src/core/layout';
import type { CatalogRow } from '../../src/core/ports';
import { resolvePreset, validateConfig } from '../../src/core/presets';
import { resize } from '../../src/core/resize';
import { noiseJpeg } from '../helpers/images';
import { MemoryCatalog } from '../helpers/memory-catalog';
import { MemoryStore } from '../helpers/memory-store';

const presets = validateConfig(config);
const KEY = 'trips/dawn.jpg';
let rows: CatalogRow[];
let etag: string;

beforeAll(async () => {
  const store = new MemoryStore();
  const catalog = new MemoryCatalog();
  const context: StepContext = { store, catalog, libraryBucket: 'library', config, presets, now: () => new Date('2026-01-02T03:04:05Z') };
  const photo = await noiseJpeg(640, 480, 5);
  etag = createHash('md5').update(photo).digest('hex');
  await store.put({ bucket: 'source', key: KEY }, photo, { contentType: 'image/jpeg' });
  const event = { item: { bucket: 'source', key: encodeInventoryKey(KEY), size: String(photo.byteLength), etag }, runId: 'run-1' };
  const first = await dedupe(context, event);
  expect(first.status).toBe('needs-resize');
  await resize(context, { ...event, outcome: first as never });
  rows = await catalog.rowsForKey(KEY);
}, 60_000);

describe('originalRow', () => {
  it('is the row of the original itself, among the crops', () => {
    expect(rows).toHaveLength(1 + presets.length);
    const original = originalRow(rows)!;
    expect(original).toMatchObject({ sourceKey: KEY, preset: ORIGINAL, logicalKey: KEY, sourceEtag: etag });
    expect(original.sha256).toBe(original.sourceSha256);
    expect(originalRow(rows.filter((row) => row !== original))).toBeUndefined();
  });
});

describe('isComplete', () => {
  it('holds for the original and a current row per preset, of this very object', () => {
    expect(isComplete(rows, presets)).toBe(true);
    expect(isComplete(rows, presets, { etag, bucket: 'source' })).toBe(true);
    // S3 answers ETags quoted, S3 Inventory lists them bare: the same object either way.
    expect(isComplete(rows, presets, { etag: `"${etag}"` })).toBe(true);
  });

  it('fails without the original, without a preset\'s row, for another object, or for a changed preset', () => {
    expect(isComplete(rows.filter((row) => row.preset !== ORIGINAL), presets)).toBe(false);
    expect(isComplete(rows.filter((row) => row.preset !== 'thumb'), presets)).toBe(false);
    expect(isComplete(rows, presets, { etag: 'another' })).toBe(false);
    expect(isComplete(rows, presets, { bucket: 'other-bucket' })).toBe(false);
    const changed = presets.map((preset) => (preset.name === 'small' ? resolvePreset('small', { ...preset, quality: preset.quality - 1 }) : preset));
    expect(isComplete(rows, changed)).toBe(false);
    // A crop made from other content than the original now.
    const stale = rows.map((row) => (row.preset === 'medium' ? { ...row, sourceSha256: 'f'.repeat(64) } : row));
    expect(isComplete(stale, presets)).toBe(false);
  });
});

describe('currentRows', () => {
  it('keeps the original and the crops of configured presets at their current spec; drops on-demand sizes and old specs', () => {
    const thumb = rows.find((row) => row.preset === 'thumb')!;
    const onDemand: CatalogRow = { ...thumb, preset: dynamicName('300x200'), logicalKey: `${dynamicName('300x200')}/${KEY}`, spec: '300x200-cover-auto-q82' };
    const removedPreset: CatalogRow = { ...thumb, preset: 'poster', logicalKey: `poster/${KEY}` };
    const current = currentRows([...rows, onDemand, removedPreset], presets);
    expect(current.map((row) => row.preset).sort()).toEqual([ORIGINAL, ...presets.map((preset) => preset.name)].sort());
    const changed = presets.map((preset) => (preset.name === 'small' ? resolvePreset('small', { ...preset, quality: preset.quality - 1 }) : preset));
    expect(currentRows(rows, changed).map((row) => row.preset)).not.toContain('small');
  });
});

describe('sameRow / changedRows', () => {
  it('ignores when and by which run a row was written, nothing else', () => {
    const [row] = rows;
    expect(sameRow(row!, { ...row!, runId: 'run-2', updatedAt: '2027-01-01T00:00:00.000Z' })).toBe(true);
    for (const field of ['assetKey', 'sha256', 'sourceEtag', 'spec', 'logicalKey'] as const) {
      expect(sameRow(row!, { ...row!, [field]: 'other' }), field).toBe(false);
    }
    expect(sameRow(row!, { ...row!, width: row!.width + 1 })).toBe(false);
    expect(sameRow(row!, { ...row!, preset: 'other' })).toBe(false);
  });

  it('lists the wanted rows that are missing or different', () => {
    const rewritten = rows.map((row) => ({ ...row, runId: 'run-2' }));
    expect(changedRows(rewritten, rows)).toEqual([]);
    const moved = rows.map((row) => (row.preset === 'large' ? { ...row, sourceEtag: 'new-etag' } : row));
    expect(changedRows(moved, rows).map((row) => row.preset)).toEqual(['large']);
    expect(changedRows(rows, []).length).toBe(rows.length);
  });
});
