/**
 * The definition of done for a run, checked: every inventory item is DONE (its catalog rows exist,
 * each asset exists with the recorded size and sha-256, each pointer points at the right asset) or
 * FAILED (a failure row with its reason). Anything else is a discrepancy. Works on any ports: the
 * emulators locally, S3 + DynamoDB on AWS.
 */
import { currentRows, isComplete, normalizeEtag, originalRow } from './catalog-rows';
import type { InventoryRow } from './inventory/data-files';
import { decodeInventoryKeyOrRaw } from './inventory/keys';
import { pointerTarget } from './keys';
import { sha256Hex } from './library';
import { mapLimit } from './map-limit';
import { madeFrom } from './stale-sizes';
import { isOriginalRow } from './layout';
import { sniffImage } from './sniff';
import type { Catalog, CatalogRow, ObjectStore } from './ports';
import type { ResolvedPreset } from './presets';

export interface VerifyContext {
  store: ObjectStore;
  catalog: Catalog;
  libraryBucket: string;
  presets: ResolvedPreset[];
}

export interface Discrepancy {
  key: string;
  problem: string;
}

export interface VerifyReport {
  items: number;
  done: number;
  failed: number;
  /** Neither DONE nor FAILED: each is also listed in discrepancies. */
  incomplete: number;
  assetsChecked: number;
  pointersChecked: number;
  discrepancies: Discrepancy[];
  /** Recorded FAILED (a redrive runs them again). */
  failedKeys: string[];
  /** Not finished: no catalog rows, or not all of them (a redrive runs them again). */
  unfinishedKeys: string[];
  /** Finished, but the library is not what the catalog says: an asset missing or corrupt, a pointer wrong (`repair` mends them). */
  damagedKeys: string[];
}

export interface VerifyOptions {
  /** Download every asset and hash it (otherwise: size, recorded sha-256 metadata and key). */
  deep?: boolean;
  concurrency?: number;
}

export async function verifyRun(context: VerifyContext, items: readonly InventoryRow[], options: VerifyOptions = {}): Promise<VerifyReport> {
  const report: VerifyReport = { items: items.length, done: 0, failed: 0, incomplete: 0, assetsChecked: 0, pointersChecked: 0, discrepancies: [], failedKeys: [], unfinishedKeys: [], damagedKeys: [] };
  await mapLimit(items, options.concurrency ?? 8, async (item) => {
    try {
      await verifyItem(context, item, options, report);
    } catch (error) {
      // One item that cannot be checked is one discrepancy, never the end of the audit.
      const key = keyOf(item);
      report.incomplete++;
      report.unfinishedKeys.push(key);
      report.discrepancies.push({ key, problem: `could not be checked: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}` });
    }
  });
  const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  report.discrepancies.sort((a, b) => byKey(a.key, b.key));
  for (const keys of [report.failedKeys, report.unfinishedKeys, report.damagedKeys]) keys.sort(byKey);
  return report;
}

function keyOf(item: InventoryRow): string {
  return decodeInventoryKeyOrRaw(item.Key ?? '');
}

async function verifyItem(context: VerifyContext, item: InventoryRow, options: VerifyOptions, report: VerifyReport): Promise<void> {
  const key = keyOf(item);
  const [rows, failure] = await Promise.all([context.catalog.rowsForKey(key), context.catalog.failureFor(key)]);
  const problems: string[] = [];
  if (isComplete(rows, context.presets, { etag: item.ETag, bucket: item.Bucket }) || (await doneForNewerOriginal(context, item, key, rows))) {
    const wanted = currentRows(rows, context.presets);
    for (const row of wanted) problems.push(...(await checkRow(context, row, options, report)));
    problems.push(...staleRows(rows));
    if (failure) problems.push('DONE, yet a failure row remains');
    if (problems.length === 0) {
      report.done++;
      return;
    }
    report.incomplete++;
    report.damagedKeys.push(key);
    for (const problem of problems) report.discrepancies.push({ key, problem });
    return;
  } else if (failure) {
    if (!failure.error) problems.push('failure row without a reason');
    else if (item.Bucket !== undefined && failure.sourceBucket && failure.sourceBucket !== item.Bucket) {
      problems.push(`the failure row is of s3://${failure.sourceBucket}/${key}, the inventory's item of s3://${item.Bucket}/${key}`);
    } else {
      report.failed++;
      report.failedKeys.push(key);
      return;
    }
  } else {
    const original = originalRow(rows);
    if (!original) problems.push('neither DONE nor FAILED: no catalog rows, no failure row');
    else if (item.Bucket !== undefined && original.sourceBucket !== item.Bucket) {
      problems.push(`the catalog rows are of s3://${original.sourceBucket}/${key}, the inventory's item of s3://${item.Bucket}/${key}`);
    } else problems.push(`incomplete: ${rows.length} catalog rows, source ETag ${original.sourceEtag} (inventory: ${item.ETag ?? '?'})`);
  }
  report.incomplete++;
  report.unfinishedKeys.push(key);
  for (const problem of problems) report.discrepancies.push({ key, problem });
}

/**
 * The original was replaced since the inventory was taken, and the catalog holds the new one's crops
 * (live sync, a rerun or a redrive made them): that item is done, for the photo as it is now.
 */
async function doneForNewerOriginal(context: VerifyContext, item: InventoryRow, key: string, rows: readonly CatalogRow[]): Promise<boolean> {
  const original = originalRow(rows);
  if (!original || item.Bucket === undefined || original.sourceBucket !== item.Bucket || !isComplete(rows, context.presets, { bucket: item.Bucket })) return false;
  const current = await context.store.head({ bucket: item.Bucket, key });
  return current?.etag !== undefined && isComplete(rows, context.presets, { etag: current.etag, bucket: item.Bucket });
}

/**
 * Rows made from other content than the key's original is now (on-demand sizes of a photo since
 * replaced): they serve a crop of the old photo. `repair` renders the key again, which drops them.
 */
function staleRows(rows: readonly CatalogRow[]): string[] {
  const original = originalRow(rows);
  if (!original) return [];
  return rows
    .filter((row) => !isOriginalRow(row) && !madeFrom(row, original))
    .map((row) => `${row.preset}: made from other content (sha-256 ${row.sourceSha256}, ETag ${normalizeEtag(row.sourceEtag)}) than the original now (sha-256 ${original.sha256}, ETag ${normalizeEtag(original.sourceEtag)})`);
}

async function checkRow(context: VerifyContext, row: CatalogRow, options: VerifyOptions, report: VerifyReport): Promise<string[]> {
  const problems: string[] = [];
  const where = `${row.preset}:`;
  const asset = await context.store.head({ bucket: context.libraryBucket, key: row.assetKey });
  report.assetsChecked++;
  if (!asset) problems.push(`${where} asset ${row.assetKey} is missing`);
  else {
    if (asset.size !== row.bytes) problems.push(`${where} asset is ${asset.size} bytes, the catalog says ${row.bytes}`);
    if (!row.assetKey.includes(row.sha256)) problems.push(`${where} asset key ${row.assetKey} does not carry its sha-256 ${row.sha256}`);
    if (asset.metadata?.sha256 && asset.metadata.sha256 !== row.sha256) problems.push(`${where} asset metadata sha-256 ${asset.metadata.sha256} differs from the catalog's`);
    if (options.deep) {
      const { body } = await context.store.get({ bucket: context.libraryBucket, key: row.assetKey });
      const actual = sha256Hex(body);
      if (actual !== row.sha256) problems.push(`${where} asset bytes hash to ${actual}, the catalog says ${row.sha256}`);
      if (context.presets.some((preset) => preset.name === row.preset && preset.variantOf !== undefined)) problems.push(...(await checkVariant(row, body)));
    }
  }
  const pointer = await context.store.head({ bucket: context.libraryBucket, key: row.logicalKey });
  report.pointersChecked++;
  if (!pointer) problems.push(`${where} pointer ${row.logicalKey} is missing`);
  else if (pointer.redirectLocation !== pointerTarget(row.assetKey)) problems.push(`${where} pointer ${row.logicalKey} points at ${pointer.redirectLocation ?? 'nothing'}, not ${pointerTarget(row.assetKey)}`);
  return problems;
}

/**
 * `--deep`, a variant's asset (`<preset>.<format>`, issue 18): its bytes are the format its row's
 * Content-Type names (recognised by their magic, src/core/sniff.ts) and decode whole, at the row's
 * dimensions. A variant is the one rendition a browser is sent by `Accept`, with no JPEG to fall back
 * on, so an undecodable one is worse than a missing one (which the CDN would not pick). sharp is
 * imported here only, when a deep check meets a variant.
 */
async function checkVariant(row: CatalogRow, body: Uint8Array): Promise<string[]> {
  const where = `${row.preset}:`;
  const type = sniffImage(body);
  if (type?.contentType !== row.contentType) return [`${where} asset is ${type?.contentType ?? 'no known image format'}, the catalog says ${row.contentType}`];
  try {
    const { default: sharp } = await import('sharp');
    // A full decode (not only the header): a truncated or zeroed AVIF/WebP has a readable header.
    // failOn 'warning', the most sensitive level (sharp's default; "invalid metadata will always
    // abort": https://sharp.pixelplumbing.com/api-constructor): our own encoder's output has no excuse.
    const { info } = await sharp(body, { failOn: 'warning' }).raw().toBuffer({ resolveWithObject: true });
    if (info.width !== row.width || info.height !== row.height) return [`${where} asset decodes to ${info.width}x${info.height}, the catalog says ${row.width}x${row.height}`];
  } catch (error) {
    return [`${where} asset does not decode as ${row.contentType}: ${error instanceof Error ? error.message : String(error)}`];
  }
  return [];
}
