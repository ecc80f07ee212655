/**
 * The definition of done for a run, checked: every inventory item is DONE (its catalog rows exist,
 * each asset exists with the recorded size and sha-256, each pointer points at the right asset) or
 * FAILED (a failure row with its reason). Anything else is a discrepancy. Works on any ports: the
 * emulators locally, S3 + DynamoDB on AWS.
 */
import { currentRows, isComplete, normalizeEtag, originalRow } from './catalog-rows';
import type { InventoryRow } from './inventory/data-files';
import { decodeInventoryKeyOrRaw } from './inventory/keys';
import type { Metadata } from 'sharp';
import { animatedFormat, animationOf } from './animation';
import { TransientError } from './errors';
import { pointerTarget } from './keys';
import { sha256Hex } from './library';
import { mapLimit } from './map-limit';
import { madeFrom } from './stale-sizes';
import { isOriginalRow } from './layout';
import { sniffImage } from './sniff';
import { type Catalog, type CatalogRow, type ObjectStore, ORIGINAL } from './ports';
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
  /**
   * The wait before the second pass over items whose check met a TransientError (throttling, 5xx,
   * a timeout that outlived the SDK's own retries). Default 2 s; tests pass 0.
   */
  secondPassDelayMs?: number;
}

/** What one item's check found; merged into the report only once the whole item was checked. */
interface ItemCheck {
  verdict: 'done' | 'failed' | 'unfinished' | 'damaged';
  problems: string[];
  assetsChecked: number;
  pointersChecked: number;
}

const SECOND_PASS_DELAY_MS = 2_000;

/**
 * Checks every item. An item whose check throws is checked again, once, after the others, when the
 * error is transient (TransientError: the SDK's retries were spent on throttling or 5xx — a busy
 * table in a 25-million-row audit): one throttled moment is not a discrepancy. What still cannot be
 * checked is one discrepancy ("could not be checked"), never the end of the audit.
 */
export async function verifyRun(context: VerifyContext, items: readonly InventoryRow[], options: VerifyOptions = {}): Promise<VerifyReport> {
  const report: VerifyReport = { items: items.length, done: 0, failed: 0, incomplete: 0, assetsChecked: 0, pointersChecked: 0, discrepancies: [], failedKeys: [], unfinishedKeys: [], damagedKeys: [] };
  const again: InventoryRow[] = [];
  /** One pass: each item's check merged, or (first pass, transient) kept for the next, or uncheckable. */
  const pass = (list: readonly InventoryRow[], retry: InventoryRow[] | undefined) =>
    mapLimit(list, options.concurrency ?? 8, async (item) => {
      try {
        merge(report, keyOf(item), await checkItem(context, item, options));
      } catch (error) {
        if (retry && error instanceof TransientError) retry.push(item);
        else uncheckable(report, item, error);
      }
    });
  await pass(items, again);
  if (again.length > 0) {
    await new Promise((resolve) => setTimeout(resolve, options.secondPassDelayMs ?? SECOND_PASS_DELAY_MS));
    await pass(again, undefined);
  }
  const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  report.discrepancies.sort((a, b) => byKey(a.key, b.key));
  for (const keys of [report.failedKeys, report.unfinishedKeys, report.damagedKeys]) keys.sort(byKey);
  return report;
}

function keyOf(item: InventoryRow): string {
  return decodeInventoryKeyOrRaw(item.Key ?? '');
}

function merge(report: VerifyReport, key: string, check: ItemCheck): void {
  report.assetsChecked += check.assetsChecked;
  report.pointersChecked += check.pointersChecked;
  if (check.verdict === 'done') report.done++;
  else if (check.verdict === 'failed') {
    report.failed++;
    report.failedKeys.push(key);
  } else {
    report.incomplete++;
    (check.verdict === 'damaged' ? report.damagedKeys : report.unfinishedKeys).push(key);
    for (const problem of check.problems) report.discrepancies.push({ key, problem });
  }
}

function uncheckable(report: VerifyReport, item: InventoryRow, error: unknown): void {
  merge(report, keyOf(item), {
    verdict: 'unfinished',
    problems: [`could not be checked: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`],
    assetsChecked: 0,
    pointersChecked: 0,
  });
}

async function checkItem(context: VerifyContext, item: InventoryRow, options: VerifyOptions): Promise<ItemCheck> {
  const key = keyOf(item);
  const check: ItemCheck = { verdict: 'unfinished', problems: [], assetsChecked: 0, pointersChecked: 0 };
  const { problems } = check;
  const [rows, failure] = await Promise.all([context.catalog.rowsForKey(key), context.catalog.failureFor(key)]);
  if (isComplete(rows, context.presets, { etag: item.ETag, bucket: item.Bucket }) || (await doneForNewerOriginal(context, item, key, rows))) {
    const wanted = currentRows(rows, context.presets);
    const headers = new Map<string, FrameHeader>();
    for (const row of wanted) problems.push(...(await checkRow(context, row, options, check, headers)));
    problems.push(...staleRows(rows), ...variantAnimation(context, wanted, headers));
    if (failure) problems.push('DONE, yet a failure row remains');
    check.verdict = problems.length === 0 ? 'done' : 'damaged';
    return check;
  } else if (failure) {
    if (!failure.error) problems.push('failure row without a reason');
    else if (item.Bucket !== undefined && failure.sourceBucket && failure.sourceBucket !== item.Bucket) {
      problems.push(`the failure row is of s3://${failure.sourceBucket}/${key}, the inventory's item of s3://${item.Bucket}/${key}`);
    } else check.verdict = 'failed';
  } else {
    const original = originalRow(rows);
    if (!original) problems.push('neither DONE nor FAILED: no catalog rows, no failure row');
    else if (item.Bucket !== undefined && original.sourceBucket !== item.Bucket) {
      problems.push(`the catalog rows are of s3://${original.sourceBucket}/${key}, the inventory's item of s3://${item.Bucket}/${key}`);
    } else problems.push(`incomplete: ${rows.length} catalog rows, source ETag ${original.sourceEtag} (inventory: ${item.ETag ?? '?'})`);
  }
  return check;
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

/**
 * `--deep`: each variant holds what the rule makes of the original (animation.ts animatedFormat): an
 * animated WebP where its primary keeps the original's animation, a still where it does not. Judged
 * from the original's header and the variants' rows and headers, not by comparing frame counts (the
 * GIF and WebP encoders each merge near-identical frames, by their own rules). An AVIF variant of an
 * animated original stored before the rule is a still AVIF: served to every browser that takes AVIF,
 * it would be one frame where curl gets the animation. `repair` renders the key again.
 */
function variantAnimation(context: VerifyContext, rows: readonly CatalogRow[], headers: ReadonlyMap<string, FrameHeader>): string[] {
  const original = headers.get(ORIGINAL);
  if (!original) return [];
  const animation = animationOf(original);
  const problems: string[] = [];
  for (const preset of context.presets) {
    if (preset.variantOf === undefined) continue;
    const row = rows.find((r) => r.preset === preset.name);
    const header = headers.get(preset.name);
    if (!row || !header) continue;
    const keeps = animation ? animatedFormat(preset, original.format ?? '') : undefined;
    if (keeps && row.contentType !== 'image/webp') problems.push(`${preset.name}: a still ${row.contentType} of an animation its primary ${preset.variantOf} keeps (an animated WebP is made now)`);
    if (!keeps && (header.pages ?? 1) > 1) problems.push(`${preset.name}: animated, where its primary ${preset.variantOf} is a still`);
  }
  return problems;
}

async function checkRow(context: VerifyContext, row: CatalogRow, options: VerifyOptions, counts: Pick<ItemCheck, 'assetsChecked' | 'pointersChecked'>, headers: Map<string, FrameHeader>): Promise<string[]> {
  const problems: string[] = [];
  const where = `${row.preset}:`;
  const asset = await context.store.head({ bucket: context.libraryBucket, key: row.assetKey });
  counts.assetsChecked++;
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
      // The headers variantAnimation judges by: the original's and each variant's, when there are variants.
      if (context.presets.some((preset) => preset.variantOf !== undefined && (preset.name === row.preset || isOriginalRow(row)))) {
        const header = await frameHeader(body);
        if (header) headers.set(row.preset, header);
      }
    }
  }
  const pointer = await context.store.head({ bucket: context.libraryBucket, key: row.logicalKey });
  counts.pointersChecked++;
  if (!pointer) problems.push(`${where} pointer ${row.logicalKey} is missing`);
  else if (pointer.redirectLocation !== pointerTarget(row.assetKey)) problems.push(`${where} pointer ${row.logicalKey} points at ${pointer.redirectLocation ?? 'nothing'}, not ${pointerTarget(row.assetKey)}`);
  return problems;
}

type FrameHeader = Pick<Metadata, 'format' | 'pages' | 'loop' | 'delay' | 'orientation'>;

/** What sharp reads of an image's header that animationOf needs; undefined for bytes it cannot read (checkRow and checkVariant name those). */
async function frameHeader(body: Uint8Array): Promise<FrameHeader | undefined> {
  const { default: sharp } = await import('sharp');
  return sharp(body).metadata().catch(() => undefined);
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
