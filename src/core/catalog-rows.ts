/** Building and comparing catalog rows: which crops a source key has, and whether they are complete. */
import { normalizeEtag } from './etag';
import { failureOf, isFailureReason } from './errors';
import { isOriginalRow } from './layout';
import type { CatalogRow, FailureRow } from './ports';
import type { ResolvedPreset } from './presets';

/** Rows are compared by their bare ETags (the rule lives in etag.ts; exported here for the rows' readers). */
export { normalizeEtag };

export function originalRow(rows: readonly CatalogRow[]): CatalogRow | undefined {
  return rows.find(isOriginalRow);
}

/** The original's row and the crops made with a configured preset's current spec (what is served and checked). */
export function currentRows(rows: readonly CatalogRow[], presets: readonly ResolvedPreset[]): CatalogRow[] {
  return rows.filter((row) => isOriginalRow(row) || presets.some((preset) => preset.name === row.preset && preset.spec === row.spec));
}

/**
 * Complete = the ORIGINAL row and one row per configured preset made with the preset's current spec
 * exist (and, when a source object is given, the original row was made from that very object: the
 * same bucket and ETag — the same key in another bucket is another photo).
 */
export function isComplete(rows: readonly CatalogRow[], presets: readonly ResolvedPreset[], source?: { etag?: string; bucket?: string }): boolean {
  const original = originalRow(rows);
  if (!original) return false;
  if (source?.etag !== undefined && normalizeEtag(original.sourceEtag) !== normalizeEtag(source.etag)) return false;
  if (source?.bucket !== undefined && original.sourceBucket !== source.bucket) return false;
  return presets.every((preset) => rows.some((row) => row.preset === preset.name && row.spec === preset.spec && row.sourceSha256 === original.sha256));
}

/** Fields that make a row different; `runId` and `updatedAt` only say when it was written. */
const IDENTITY: ReadonlyArray<keyof CatalogRow> = [
  'logicalKey', 'assetKey', 'sha256', 'sourceSha256', 'width', 'height', 'bytes', 'contentType', 'sourceBucket', 'sourceEtag', 'spec',
];

export function sameRow(a: CatalogRow, b: CatalogRow): boolean {
  return a.sourceKey === b.sourceKey && a.preset === b.preset && IDENTITY.every((field) => a[field] === b[field]);
}

/** The rows of `wanted` that are missing or different in `existing`. */
export function changedRows(wanted: readonly CatalogRow[], existing: readonly CatalogRow[]): CatalogRow[] {
  return wanted.filter((row) => !existing.some((old) => sameRow(row, old)));
}

/**
 * A failure row as stored: one written before failures carried a reason has none, and reads as the
 * reason its error name gives (a PhotoError of then: `unclassified`).
 */
export function readFailureRow(item: Record<string, unknown>): FailureRow {
  const row = item as unknown as FailureRow;
  return isFailureReason(row.reason) ? row : { ...row, reason: failureOf(row.errorType ?? '', row.error ?? '').reason };
}
