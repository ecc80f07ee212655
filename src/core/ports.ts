/**
 * The two ports the core talks through. The core never imports an AWS SDK: the same code runs
 * against AWS (src/aws), against the local emulators (the same adapters, other endpoints) and
 * against in-memory fakes in unit tests.
 */
import type { FAILURE } from './layout';
import type { FailureReason } from './errors';

export interface ObjectRef {
  bucket: string;
  key: string;
}

export interface StoredObject {
  body: Uint8Array;
  etag?: string;
  contentType?: string;
}

/** An object read as it arrives: chunks of its body, never the whole of it in memory. */
export interface ObjectStream {
  /** Leaving a `for await` over it early (a size limit hit) closes the connection. */
  body: AsyncIterable<Uint8Array>;
  size?: number;
  etag?: string;
  contentType?: string;
}

export interface ObjectHead {
  size: number;
  etag?: string;
  contentType?: string;
  cacheControl?: string;
  /** `x-amz-website-redirect-location`: set on pointers only. */
  redirectLocation?: string;
  metadata?: Record<string, string>;
}

export interface PutOptions {
  contentType?: string;
  cacheControl?: string;
  /** Makes the object a pointer: S3 website answers 301 to this location. */
  redirectLocation?: string;
  metadata?: Record<string, string>;
  /** Conditional write (`If-None-Match: *`): only when no object is at the key yet. */
  ifAbsent?: boolean;
}

export interface ObjectStore {
  /**
   * Throws NotFoundError when the object does not exist. `maxBytes`: an object over it is refused
   * (PhotoError too-large) — by its announced length as its body starts, else as its bytes pass the
   * limit — never held whole (a store that cannot tell early may read it; callers check again).
   */
  get(ref: ObjectRef, options?: { maxBytes?: number }): Promise<StoredObject>;
  /** The object as a stream of chunks (for hashing an original of up to the size limit in bounded memory). Throws NotFoundError. */
  openRead(ref: ObjectRef): Promise<ObjectStream>;
  /** Undefined when the object does not exist. */
  head(ref: ObjectRef): Promise<ObjectHead | undefined>;
  /** False when `ifAbsent` was asked and an object was already there (nothing written). */
  put(ref: ObjectRef, body: Uint8Array, options: PutOptions): Promise<boolean>;
  delete(ref: ObjectRef): Promise<void>;
  /** Every object under `prefix`, page by page (ListObjectsV2: 1,000 a page, in key order). */
  list(bucket: string, prefix: string): AsyncIterable<ListedObject>;
}

/**
 * A multipart upload (S3 CreateMultipartUpload → UploadPart… → CompleteMultipartUpload, or
 * AbortMultipartUpload): nothing is at the key until `complete`, so an original whose checksum turns
 * out wrong is aborted, never stored (sources runs, src/core/fetch/fetch.ts). Parts are at least
 * 5 MiB except the last, at most 10,000 of them (S3 User Guide, "Amazon S3 multipart upload limits").
 */
export interface MultipartUpload {
  /** Parts in order, numbered from 1. */
  uploadPart(body: Uint8Array): Promise<void>;
  complete(): Promise<{ etag?: string }>;
  abort(): Promise<void>;
}

export interface ObjectUploads {
  startUpload(ref: ObjectRef, options: Pick<PutOptions, 'contentType' | 'metadata'>): Promise<MultipartUpload>;
}

export interface ListedObject {
  key: string;
  size: number;
  lastModified: Date;
  /** The ETag, unquoted (the MD5 of the bytes for a single-part PUT), when the listing gives one. */
  etag?: string;
}

/** The sort key's values are named in src/core/layout.ts (rowKind classifies them). */
export { FAILURE, ORIGINAL } from './layout';

/** One crop (or the original) of one source key: the catalog's unit. */
export interface CatalogRow {
  /** Partition key: the original's key in the source bucket (also its logical key). */
  sourceKey: string;
  /** Sort key: preset name, or ORIGINAL. */
  preset: string;
  /** Logical key users request: `<key>` for the original, `<preset>/<key>` for a crop. */
  logicalKey: string;
  assetKey: string;
  /** sha-256 (hex) of the asset's bytes; the GSI `bySha256` answers "which keys use this hash". */
  sha256: string;
  /** sha-256 of the original's bytes (equal to sha256 on the ORIGINAL row). */
  sourceSha256: string;
  width: number;
  height: number;
  bytes: number;
  contentType: string;
  sourceBucket: string;
  sourceEtag: string;
  /** Fingerprint of the preset spec that produced the crop: a changed preset re-renders. */
  spec: string;
  runId: string;
  updatedAt: string;
}

export interface FailureRow {
  sourceKey: string;
  preset: typeof FAILURE;
  sourceBucket: string;
  sourceEtag: string;
  /** Error name, e.g. PhotoError or TransientError. */
  errorType: string;
  error: string;
  /**
   * Why, machine-readable. Rows written before reasons existed have none: adapters read every row
   * through catalog-rows.ts `readFailureRow`, which derives it from errorType.
   */
  reason: FailureReason;
  runId: string;
  updatedAt: string;
}

export interface PutRowsOptions {
  replaceFailure?: boolean;
  releaseClaims?: string[];
}

export interface HashUse {
  sourceKey: string;
  preset: string;
}

export interface Catalog {
  /** Every crop row (and the ORIGINAL row) of one source key; failure rows excluded. */
  rowsForKey(sourceKey: string): Promise<CatalogRow[]>;
  /**
   * The rows of these kinds (`original`, preset names) of many source keys at once, by their exact keys
   * (BatchGetItem): keyed by source key, a key without any such row is absent. Failure rows excluded.
   */
  rowsForKeys(sourceKeys: readonly string[], kinds: readonly string[]): Promise<Map<string, CatalogRow[]>>;
  /** GSI query: which (sourceKey, preset) use an asset with this sha-256. */
  keysForHash(sha256: string): Promise<HashUse[]>;
  /**
   * Writes rows in batches (BatchWriteItem, 25 per request, unprocessed items retried; a lone row with
   * nothing to delete, a PutItem).
   * `replaceFailure`: the rows are the photo's batch outcome (Dedupe, Resize), which replaces its
   * failure row: that is deleted in the same batch, so a recovered photo is no longer listed as
   * failed. Other writers (an on-demand size) leave the failure row alone.
   * `releaseClaims`: content claims (sha-256) to drop in that same batch, saving a request per photo.
   */
  putRows(rows: CatalogRow[], options?: PutRowsOptions): Promise<void>;
  /**
   * Deletes these rows of one source key (crops, ORIGINAL, FAILURE, dynamic sizes) in batches: the
   * key was removed from the source bucket.
   */
  deleteRows(sourceKey: string, presets: readonly string[]): Promise<void>;
  recordFailure(row: FailureRow): Promise<void>;
  failureFor(sourceKey: string): Promise<FailureRow | undefined>;
  /**
   * Claims the right to render this content (conditional write). True when claimed by `owner`
   * (or the previous claim's lease expired); false when another owner holds a live claim.
   */
  claimContent(sha256: string, owner: string, leaseMs: number): Promise<boolean>;
}
