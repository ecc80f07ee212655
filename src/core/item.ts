/**
 * What flows through the state machine for one photo: the ItemSelector of migrate.asl.yaml builds an
 * ItemEvent; Dedupe, Resize and RecordFailure each return an ItemOutcome into `$.outcome`.
 */
import type { FailureReason } from './errors';
import { decodeInventoryKeyOrRaw } from './inventory/keys';

/** One inventory row as the Distributed Map's ItemSelector passes it on. */
export interface InventoryItem {
  bucket: string;
  /** URL-encoded, exactly as in the S3 Inventory CSV. */
  key: string;
  size?: string | number;
  etag?: string;
  /**
   * A sources run (issue 20): the row's URL, until Fetch has copied it (its item then is the object
   * in the source bucket, without `url`). Such a row's `key` is the key as is, not URL-encoded. A
   * failure before or in Fetch reaches RecordFailure with this row.
   */
  url?: string;
  /** Set by Fetch (src/core/fetch/fetch.ts): the copy's figures, carried into the outcome as `copied`. */
  copied?: CopyStats;
}

/** What Fetch did for one row of a sources run: bytes copied (0 when the object was kept), milliseconds, tries. */
export interface CopyStats {
  bytes: number;
  ms: number;
  attempts: number;
  /** The object was already in the source bucket with the row's checksum: nothing fetched. */
  kept?: boolean;
}

/** The decoded key of an item: an inventory row's is URL-encoded, a sources row's (with `url`) is as is. */
export function keyOfItem(item: { key?: unknown; url?: unknown } | undefined): string {
  if (!item || typeof item.key !== 'string') return '';
  return typeof item.url === 'string' ? item.key : decodeInventoryKeyOrRaw(item.key);
}

/** The `{Error, Cause}` object a Catch puts at `$.error`. */
export interface CaughtError {
  Error: string;
  Cause?: string;
}

export interface ItemEvent {
  item: InventoryItem;
  /**
   * What the rows written for this item record as `runId`: in a run, its execution's name
   * (`$$.Execution.Name`, run --json's and the log lines' `execution`); otherwise the writer
   * (SYNC_RUN_ID, REPAIR_RUN_ID, `on-demand`). Named after the stored attribute it becomes.
   */
  runId: string;
  /** `$$.State.RetryCount` of the Dedupe state (how often it was retried so far). */
  retryCount?: number;
  outcome?: ItemOutcome;
  error?: CaughtError;
}

export type ItemStatus = 'needs-resize' | 'resized' | 'duplicate' | 'unchanged' | 'failed';

/** What one step wrote: an unchanged rerun writes zeros. */
export interface Written {
  assets: number;
  pointers: number;
  catalogRows: number;
  /**
   * Of those catalog rows, the variants' (`<preset>.<format>`, issue 18): each a variant rendition of
   * the photo with its pointer (and its asset, unless the content had it already). Present only when
   * non-zero, so outcomes and summaries without formats look as before.
   */
  variants?: number;
}

export interface ItemOutcome {
  /** Decoded source key. */
  key: string;
  status: ItemStatus;
  sha256?: string;
  /**
   * Dedupe (needs-resize): how many catalog rows the key had when Dedupe read them. 0 — the key's first
   * run — spares Resize reading them again before its writes (src/core/resize.ts).
   */
  recordedRows?: number;
  /** Asset key of the original (set once Dedupe has stored it). */
  originalAssetKey?: string;
  /** For duplicates: the source key whose crops were reused. */
  duplicateOf?: string;
  written: Written;
  errorType?: string;
  error?: string;
  /** Why it failed, machine-readable (src/core/errors.ts FAILURE_REASONS); set with `error`. */
  reason?: FailureReason;
  /** Bytes of the original this step read (Dedupe hashes it, Resize decodes it). */
  bytesIn?: number;
  /** Bytes of the assets this step wrote (0 when they all existed). */
  bytesOut?: number;
  /** Crops (presets) rendered by Resize. */
  crops?: number;
  /** Milliseconds each step took for this photo, added by the handlers (dedupe, resize, recordFailure). */
  timings?: Record<string, number>;
  /** A sources run: what Fetch did for this photo (carried from its item by the handlers, observe.ts). */
  copied?: CopyStats;
}

export const NOTHING_WRITTEN: Written = Object.freeze({ assets: 0, pointers: 0, catalogRows: 0 });

export function addWritten(a: Written, b: Written): Written {
  const variants = (a.variants ?? 0) + (b.variants ?? 0);
  return { assets: a.assets + b.assets, pointers: a.pointers + b.pointers, catalogRows: a.catalogRows + b.catalogRows, ...(variants > 0 ? { variants } : {}) };
}

/** `written.variants` of rows written: those of variant presets (`<preset>.<format>`), only when some are. */
export function variantsWritten(rows: ReadonlyArray<{ preset: string }>, presets: ReadonlyArray<{ name: string; variantOf?: string }>): { variants?: number } {
  const variants = rows.filter((row) => presets.some((preset) => preset.name === row.preset && preset.variantOf !== undefined)).length;
  return variants > 0 ? { variants } : {};
}
