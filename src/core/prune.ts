/**
 * Prune: the assets of the library no catalog row references any more (a replaced photo's old crops,
 * a stale on-demand size, a key removed while its asset was still shared), found and — only when
 * asked — deleted. Runs and live sync never delete what another key might be about to use; prune
 * does it afterwards, with a grace period: an asset younger than it is never taken, since a run in
 * flight writes its assets before its rows (and the catalog's bySha256 index catches up within a
 * second or so). Works on any ports: the emulators locally, S3 + DynamoDB on AWS.
 *
 * How "referenced" is known: each asset's sha-256 is in its key; the bySha256 index lists every row
 * (crop, original, duplicate, on-demand size) whose asset has that hash. One index query per asset,
 * in bounded memory whatever the size of the library.
 */
import type { StepContext } from './context';
import { assetSha256 } from './keys';
import { ASSETS_PREFIX } from './layout';
import { mapLimit } from './map-limit';
import type { ListedObject } from './ports';

export interface PruneOptions {
  /** Delete the orphans (otherwise: a dry run that lists them). */
  apply?: boolean;
  /** Assets written less than this long ago are left alone, orphans or not. */
  graceMs: number;
  /** Queries in flight at once. */
  concurrency?: number;
  /** At most this many orphans are listed in the report (all are counted, and deleted with `apply`). */
  listLimit?: number;
}

export interface PruneReport {
  applied: boolean;
  graceSeconds: number;
  /** Assets listed under `assets/`. */
  assets: number;
  /** Used by at least one catalog row. */
  referenced: number;
  /** Younger than the grace period: not judged. */
  tooNew: number;
  /** In the asset prefix, but not named as an asset is (`<sha256>.<ext>`): never deleted. */
  unrecognised: number;
  orphans: number;
  orphanBytes: number;
  /** Deleted (with `apply`). */
  deleted: number;
  /** The first `listLimit` orphans, by key. */
  orphanKeys: string[];
}

export async function pruneLibrary(context: StepContext, options: PruneOptions): Promise<PruneReport> {
  const now = context.now?.() ?? new Date();
  const report: PruneReport = {
    applied: options.apply === true,
    graceSeconds: Math.round(options.graceMs / 1000),
    assets: 0,
    referenced: 0,
    tooNew: 0,
    unrecognised: 0,
    orphans: 0,
    orphanBytes: 0,
    deleted: 0,
    orphanKeys: [],
  };
  const limit = options.listLimit ?? 100;
  const deleted: string[] = [];
  const judge = async (asset: ListedObject, sha256: string) => {
    const users = await context.catalog.keysForHash(sha256);
    if (users.length > 0) {
      report.referenced++;
      return;
    }
    report.orphans++;
    report.orphanBytes += asset.size;
    if (report.orphanKeys.length < limit) report.orphanKeys.push(asset.key);
    if (!options.apply) return;
    await context.store.delete({ bucket: context.libraryBucket, key: asset.key });
    report.deleted++;
    deleted.push(asset.key);
  };
  // The listing is read as slots free up: a large library is never held in memory at once.
  await mapLimit(context.store.list(context.libraryBucket, ASSETS_PREFIX), options.concurrency ?? 8, async (asset) => {
    report.assets++;
    const sha256 = assetSha256(asset.key);
    if (!sha256) {
      report.unrecognised++;
      return;
    }
    if (now.getTime() - asset.lastModified.getTime() < options.graceMs) {
      report.tooNew++;
      return;
    }
    await judge(asset, sha256);
  });
  report.orphanKeys.sort();
  // A deleted asset may still be in the CDN's cache (assets are cached for a year): it goes there too.
  if (deleted.length > 0 && context.cdn) await context.cdn.invalidate(deleted);
  return report;
}

/** `30m`, `2h`, `7d`, `90s` or `0`: a grace period in milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,6})(s|m|h|d)?$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(match[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
