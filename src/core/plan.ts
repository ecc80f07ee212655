/**
 * `photo-scaler plan`: what a run over a list of objects will do and cost, before it starts — how
 * many objects and bytes, their sizes and extensions, which will be refused before rendering and why,
 * which are likely duplicates, which the catalog already has, the cost and wall clock (estimate.ts),
 * and the S3 request rates at the state machine's concurrency. Pure: the objects come in as an async
 * iterable (an S3 Inventory report read by inventoryObjects; another source can feed the same tally),
 * and everything kept is bounded whatever their number (counts, a bounded top-N and examples, and a
 * fixed-width table of (ETag, size) fingerprints for the duplicates).
 */
import { type Estimate, type EstimateInput, estimate, s3Requests } from './estimate';
import { PhotoError, tooLarge } from './errors';
import { isComplete } from './catalog-rows';
import { ORIGINAL } from './layout';
import type { InventoryRow } from './inventory/data-files';
import { layoutCollision, MAX_KEY_BYTES, validateSourceKey } from './keys';
import { contentTypeOfName } from './media-types';
import type { InventoryManifest, ManifestRef } from './inventory/manifest';
import { checksumKeyOf, readManifest, streamInventoryReport } from './inventory/read';
import type { Catalog, ObjectStore } from './ports';
import type { Timings } from './prices';
import type { ResolvedPreset } from './presets';
import { normalizeEtag } from './etag';
import { decodeInventoryKeyOrRaw } from './inventory/keys';
import { sourceOf } from './source';

/** One object a run would be given: an inventory row, or (later) a row of another list of sources. */
export interface PlanObject {
  key: string;
  size: number;
  etag?: string;
  /** The key is URL-encoded as S3 Inventory lists it: decoded as the pipeline decodes it (sourceOf), refused when it does not decode. */
  encoded?: boolean;
}

/**
 * Why an object will be refused before rendering. The pipeline refuses the first four by the key or
 * the listed size, before reading a byte; the last two by the bytes it reads (sniffing), which the
 * plan can only predict from the extension.
 */
export const PLAN_REFUSALS = ['folder-marker', 'layout-collision', 'key-too-long', 'key-refused', 'empty', 'too-large', 'not-an-image', 'unsupported'] as const;
export type PlanRefusal = (typeof PLAN_REFUSALS)[number];

const REFUSAL_TEXT: Readonly<Record<PlanRefusal, string>> = {
  'folder-marker': 'folder markers (keys ending in "/": no photo)',
  'layout-collision': 'keys that collide with the library layout (first folder a library prefix or a preset name)',
  'key-too-long': `keys too long (over ${MAX_KEY_BYTES} bytes with the longest derived prefix)`,
  'key-refused': 'other keys that can never be stored (bad URL encoding, control characters, "." or ".." segments, leading "/")',
  empty: 'empty objects (0 bytes)',
  'too-large': 'over the size limit (limits.maxInputBytes)',
  'not-an-image': 'non-image extensions (refused as not-an-image when read, unless the bytes are an image anyway)',
  unsupported: 'SVG (refused on purpose)',
};

export interface PlanOptions {
  presets: readonly ResolvedPreset[];
  /** Bytes the longest derived key adds (source.ts derivedPrefixOf). */
  derivedPrefixBytes: number;
  maxInputBytes: number;
  /** Given: objects the catalog already has, complete and with the same ETag, are what a rerun skips. */
  catalog?: { catalog: Catalog; sourceBucket: string; concurrency?: number };
  /** Largest objects kept (default 10). */
  largest?: number;
  /** Example keys kept per refusal reason (default 5). */
  examples?: number;
  /** Distinct (ETag, size) pairs the duplicate table holds at most (default DUPLICATE_TABLE_SLOTS * 0.75). */
  duplicateTableSlots?: number;
}

export interface SizeBucket {
  /** e.g. `1 MB – 10 MB`. */
  range: string;
  /** Inclusive lower bound, exclusive upper bound (null: no bound). */
  minBytes: number;
  maxBytes: number | null;
  objects: number;
  bytes: number;
}

export interface Tally {
  objects: number;
  bytes: number;
  sizes: SizeBucket[];
  extensions: Array<{ extension: string; format: string; objects: number; bytes: number }>;
  largest: Array<{ key: string; size: number }>;
  refused: Record<PlanRefusal, number>;
  refusals: Array<{ reason: PlanRefusal; what: string; objects: number; bytes: number; examples: Array<{ key: string; why: string }> }>;
  /** Objects that pass the refusals: what Dedupe is given. */
  accepted: { objects: number; bytes: number };
  duplicates: DuplicateTally;
  /** Present when a catalog was given. */
  catalog?: { checked: number; unchanged: number; unchangedBytes: number };
  /** Accepted objects the run would process (the accepted, less the unchanged ones). */
  toProcess: { objects: number; bytes: number };
}

export interface DuplicateTally {
  /** (ETag, size) pairs listed more than once. */
  groups: number;
  /** Objects in those groups. */
  objects: number;
  /** Of those, copies past the first of each group: what Dedupe would find already stored (pointers and rows only). */
  extraCopies: number;
  /** Objects whose ETag is a multipart upload's (`<md5 of part MD5s>-<parts>`). */
  multipartObjects: number;
  /** False when more distinct pairs came than the table holds: later new pairs were not counted. */
  exact: boolean;
  note: string;
}

/** Size buckets: 0, then powers of ten from 1 byte to 1 GB and over. */
const SIZE_BOUNDS = [0, 1, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
const unit = (bytes: number) => (bytes >= 1e9 ? `${bytes / 1e9} GB` : bytes >= 1e6 ? `${bytes / 1e6} MB` : bytes >= 1e3 ? `${bytes / 1e3} KB` : `${bytes} B`);
/** Extensions kept by name; the rest are counted together (a stranger's keys cannot grow the tally). */
const MAX_EXTENSIONS = 200;
const OTHER_EXTENSIONS = '(other)';
/** Slots of the duplicate table: 2^23 x 6 bytes = 50 MB at most (6.3M distinct pairs); it starts small and doubles. */
export const DUPLICATE_TABLE_SLOTS = 1 << 23;

const MULTIPART_ETAG = /-\d+$/;

/** Counts everything plan reports from a stream of objects; `add` is synchronous and keeps nothing per object. */
export class PlanTally {
  private objects = 0;
  private bytes = 0;
  private readonly sizeCounts = SIZE_BOUNDS.map(() => ({ objects: 0, bytes: 0 }));
  private readonly extensions = new Map<string, { objects: number; bytes: number }>();
  private readonly largest: Array<{ key: string; size: number }> = [];
  private readonly refusals = new Map<PlanRefusal, { objects: number; bytes: number; examples: Array<{ key: string; why: string }> }>(
    PLAN_REFUSALS.map((reason) => [reason, { objects: 0, bytes: 0, examples: [] }]),
  );
  private accepted = { objects: 0, bytes: 0 };
  private unchanged = { checked: 0, objects: 0, bytes: 0 };
  private readonly pairs: PairTable;
  private multipart = 0;
  private readonly presetNames: string[];

  constructor(private readonly options: PlanOptions) {
    this.presetNames = options.presets.map((preset) => preset.name);
    this.pairs = new PairTable(options.duplicateTableSlots ?? DUPLICATE_TABLE_SLOTS);
  }

  /** Tallies one object; returns its decoded key when it would be processed (not refused), else undefined. */
  add(object: PlanObject): string | undefined {
    const size = Number.isFinite(object.size) && object.size >= 0 ? object.size : 0;
    this.objects++;
    this.bytes += size;
    const bucket = SIZE_BOUNDS.findLastIndex((bound) => size >= bound);
    this.sizeCounts[bucket]!.objects++;
    this.sizeCounts[bucket]!.bytes += size;
    const checked = this.refusal(object, size);
    this.keepLargest(checked.key, size);
    this.countExtension(checked.key, size);
    if ('reason' in checked) {
      const entry = this.refusals.get(checked.reason)!;
      entry.objects++;
      entry.bytes += size;
      if (entry.examples.length < (this.options.examples ?? 5)) entry.examples.push({ key: own(checked.key), why: own(checked.why) });
      return undefined;
    }
    this.accepted.objects++;
    this.accepted.bytes += size;
    const etag = normalizeEtag(object.etag);
    if (etag) {
      if (MULTIPART_ETAG.test(etag)) this.multipart++;
      this.pairs.add(etag, size);
    }
    return checked.key;
  }

  /** An accepted object the catalog has, complete, with the same ETag: a rerun would skip it. */
  addUnchanged(size: number): void {
    this.unchanged.objects++;
    this.unchanged.bytes += size;
  }

  addChecked(): void {
    this.unchanged.checked++;
  }

  /** The first refusal the pipeline (or, for the extension, its sniffing) would give, with the message it would record. */
  private refusal(object: PlanObject, size: number): { key: string } | { key: string; reason: PlanRefusal; why: string } {
    let key = object.key;
    if (/(\/|%2F)$/i.test(object.key)) return { key: object.encoded ? decodeInventoryKeyOrRaw(object.key) : key, reason: 'folder-marker', why: `folder marker (${size} bytes)` };
    try {
      if (object.encoded) key = sourceOf({ bucket: '', key: object.key }, this.presetNames, this.options.derivedPrefixBytes).key;
      else validateSourceKey(key, this.presetNames, this.options.derivedPrefixBytes);
    } catch (error) {
      if (!(error instanceof PhotoError)) throw error;
      key = object.encoded ? decodeInventoryKeyOrRaw(object.key) : key;
      const reason: PlanRefusal =
        Buffer.byteLength(key, 'utf8') + this.options.derivedPrefixBytes > MAX_KEY_BYTES ? 'key-too-long' : error.detail === layoutCollision(key, this.presetNames) ? 'layout-collision' : 'key-refused';
      return { key, reason, why: error.detail };
    }
    if (size === 0) return { key, reason: 'empty', why: 'empty file (0 bytes)' };
    if (size > this.options.maxInputBytes) return { key, reason: 'too-large', why: tooLarge(size, this.options.maxInputBytes).detail };
    const ext = extensionOf(key);
    if (ext) {
      const type = contentTypeOfName(key);
      if (type === 'image/svg+xml') return { key, reason: 'unsupported', why: 'refused: SVG (vector images can reference external files; only raster photos are migrated)' };
      if (!type) return { key, reason: 'not-an-image', why: `.${ext} is not an image extension` };
    }
    return { key };
  }

  private countExtension(key: string, size: number): void {
    const ext = extensionOf(key) ?? '';
    const name = this.extensions.has(ext) || this.extensions.size < MAX_EXTENSIONS ? ext : OTHER_EXTENSIONS;
    let entry = this.extensions.get(name);
    if (!entry) this.extensions.set(own(name), (entry = { objects: 0, bytes: 0 }));
    entry.objects++;
    entry.bytes += size;
  }

  private keepLargest(key: string, size: number): void {
    const limit = this.options.largest ?? 10;
    if (limit <= 0) return;
    if (this.largest.length >= limit && size <= this.largest[this.largest.length - 1]!.size) return;
    let at = this.largest.findIndex((entry) => size > entry.size);
    if (at < 0) at = this.largest.length;
    this.largest.splice(at, 0, { key: own(key), size });
    if (this.largest.length > limit) this.largest.pop();
  }

  result(): Tally {
    const refused = Object.fromEntries(PLAN_REFUSALS.map((reason) => [reason, this.refusals.get(reason)!.objects])) as Record<PlanRefusal, number>;
    const catalog = this.options.catalog ? { checked: this.unchanged.checked, unchanged: this.unchanged.objects, unchangedBytes: this.unchanged.bytes } : undefined;
    return {
      objects: this.objects,
      bytes: this.bytes,
      sizes: SIZE_BOUNDS.map((min, index) => {
        const max = SIZE_BOUNDS[index + 1] ?? null;
        const range = min === 0 ? '0 B' : max === null ? `${unit(min)} and over` : `${unit(min)} – ${unit(max)}`;
        return { range, minBytes: min, maxBytes: min === 0 ? 1 : max, ...this.sizeCounts[index]! };
      }),
      extensions: [...this.extensions]
        .map(([extension, counts]) => ({ extension: extension || '(none)', format: extension === OTHER_EXTENSIONS ? 'unknown' : formatOf(extension), ...counts }))
        .sort((a, b) => b.objects - a.objects || a.extension.localeCompare(b.extension)),
      largest: [...this.largest],
      refused,
      refusals: PLAN_REFUSALS.filter((reason) => refused[reason] > 0).map((reason) => ({ reason, what: REFUSAL_TEXT[reason], ...this.refusals.get(reason)! })),
      accepted: { ...this.accepted },
      duplicates: {
        groups: this.pairs.groups,
        objects: this.pairs.objects,
        extraCopies: this.pairs.objects - this.pairs.groups,
        multipartObjects: this.multipart,
        exact: !this.pairs.saturated,
        note:
          'Same ETag and size: for a single-part upload the ETag is the MD5 of the bytes, so equal ETags mean equal content. ' +
          'A multipart upload\'s ETag (ending in "-<parts>") is an MD5 of its parts\' MD5s: it equals another only for the same bytes cut into the same parts, ' +
          'and never equals a single-part upload\'s of the same bytes (S3 API Reference, CompleteMultipartUpload: "The entity tag ... may or may not be an MD5 digest of the object data"). ' +
          'So duplicates across upload methods and part sizes are not seen here; Dedupe finds them by sha-256 during the run.' +
          (this.pairs.saturated ? ` The table of distinct (ETag, size) pairs filled up at ${this.pairs.capacity.toLocaleString('en-US')}: copies of later pairs were not counted.` : ''),
      },
      ...(catalog ? { catalog } : {}),
      toProcess: { objects: this.accepted.objects - this.unchanged.objects, bytes: this.accepted.bytes - this.unchanged.bytes },
    };
  }
}

/**
 * A copy of a string that is kept: a key parsed from a data file is a slice of that file's decoded
 * text, and keeping the slice would keep the whole text (V8 sliced strings).
 */
const own = (text: string) => Buffer.from(text, 'utf8').toString('utf8');

const extensionOf = (key: string): string | undefined => {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot > 0 && dot < name.length - 1 ? name.slice(dot + 1).toLowerCase() : undefined;
};

function formatOf(extension: string): string {
  if (!extension) return 'unknown (no extension; sniffed when read)';
  const type = contentTypeOfName(`x.${extension}`);
  return type ?? 'not an image';
}

/**
 * A set of (ETag, size) fingerprints — 47 bits of two hashes of `<etag>:<size>`, open addressing —
 * with one flag per slot (seen again): 6 bytes a slot (a Uint32 and a Uint16), no string kept, so 1M
 * distinct pairs take ~13 MB where a Map of strings takes ~100 MB. It doubles up to `maxSlots`; past
 * 3/4 of that no new pair is added (`saturated`), so memory stays bounded whatever the inventory's
 * size. Two different pairs share a fingerprint with odds of about n²/2^48 (~0.4 % for a million).
 */
export class PairTable {
  private slots = 1 << 16;
  private hi = new Uint32Array(this.slots);
  /** 15 bits of the second hash (never 0: 0 marks an empty slot), shifted left; bit 0 = seen again. */
  private lo = new Uint16Array(this.slots);
  private used = 0;
  groups = 0;
  objects = 0;
  saturated = false;

  constructor(private readonly maxSlots: number) {}

  get capacity(): number {
    return Math.floor(this.maxSlots * 0.75);
  }

  add(etag: string, size: number): void {
    const text = `${etag}:${size}`;
    let h1 = 0x811c9dc5;
    let h2 = 0x9747b28c;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
    h1 >>>= 0;
    const fingerprint = ((h2 >>> 17) || 1) << 1;
    const slot = this.find(h1, fingerprint);
    const value = this.lo[slot]!;
    if (value === 0) {
      if (this.used >= this.capacity) {
        this.saturated = true;
        return;
      }
      this.hi[slot] = h1;
      this.lo[slot] = fingerprint;
      this.used++;
      if (this.used > this.slots * 0.7 && this.slots < this.maxSlots) this.grow();
    } else if ((value & 1) === 0) {
      this.lo[slot] = value | 1;
      this.groups++;
      this.objects += 2;
    } else {
      this.objects++;
    }
  }

  private find(h1: number, fingerprint: number): number {
    const mask = this.slots - 1;
    let slot = h1 & mask;
    while (this.lo[slot] !== 0 && (this.hi[slot] !== h1 || (this.lo[slot]! & ~1) !== fingerprint)) slot = (slot + 1) & mask;
    return slot;
  }

  private grow(): void {
    const { hi, lo } = this;
    this.slots *= 2;
    this.hi = new Uint32Array(this.slots);
    this.lo = new Uint16Array(this.slots);
    for (let i = 0; i < lo.length; i++) {
      if (lo[i] === 0) continue;
      const slot = this.find(hi[i]!, lo[i]! & ~1);
      this.hi[slot] = hi[i]!;
      this.lo[slot] = lo[i]!;
    }
  }
}

/** The objects of an S3 Inventory report's rows (streamInventoryReport), as plan tallies them. */
export async function* inventoryObjects(groups: AsyncIterable<InventoryRow[]>): AsyncGenerator<PlanObject[]> {
  for await (const rows of groups) yield rows.map((row) => ({ key: row.Key!, size: Number(row.Size ?? 0), etag: row.ETag, encoded: true }));
}

/**
 * Tallies every object. With a catalog, the accepted objects with an ETag are looked up in groups of
 * CATALOG_GROUP (one BatchGetItem of their ORIGINAL and preset rows each, as FindUnchanged reads a batch;
 * at most `concurrency` groups at once, 16 by default): complete rows with its ETag mean a rerun skips it.
 */
export async function tallyObjects(objects: AsyncIterable<PlanObject | PlanObject[]>, options: PlanOptions): Promise<Tally> {
  const tally = new PlanTally(options);
  const lookup = options.catalog;
  const kinds = [ORIGINAL, ...options.presets.map((preset) => preset.name)];
  const pending = new Set<Promise<void>>();
  let failure: unknown;
  let group: Array<{ key: string; object: PlanObject }> = [];
  const check = (objects: Array<{ key: string; object: PlanObject }>) => {
    const done = lookup!.catalog
      .rowsForKeys(
        objects.map(({ key }) => key),
        kinds,
      )
      .then((rows) => {
        for (const { key, object } of objects) {
          tally.addChecked();
          if (isComplete(rows.get(key) ?? [], options.presets, { etag: normalizeEtag(object.etag), bucket: lookup!.sourceBucket })) tally.addUnchanged(object.size);
        }
      })
      .catch((error: unknown) => {
        failure ??= error;
      })
      .finally(() => pending.delete(done));
    pending.add(done);
  };
  for await (const item of objects) {
    for (const object of Array.isArray(item) ? item : [item]) {
      const key = tally.add(object);
      if (!lookup || key === undefined || !object.etag) continue;
      group.push({ key, object });
      if (group.length < CATALOG_GROUP) continue;
      check(group);
      group = [];
      while (pending.size >= (lookup.concurrency ?? 16)) await Promise.race(pending);
      if (failure !== undefined) throw failure;
    }
  }
  if (group.length > 0) check(group);
  await Promise.all(pending);
  if (failure !== undefined) throw failure;
  return tally.result();
}

/** Objects looked up in the catalog at once: with 4 presets their rows fill one BatchGetItem (100 keys). */
const CATALOG_GROUP = 20;

/** The state machine's shape the plan needs (statemachines/migrate.asl.yaml). */
export interface MachineShape {
  /** Distributed Map MaxConcurrency (child executions at once). */
  maxConcurrency: number;
  /** Photos at once in one child (EachPhoto's MaxConcurrency). */
  batchConcurrency: number;
  /** ItemBatcher MaxItemsPerBatch. */
  batchSize: number;
}

/**
 * S3's request rates per partitioned prefix (S3 User Guide, "Best practices design patterns:
 * optimizing Amazon S3 performance", https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html):
 * at least 3,500 PUT/COPY/POST/DELETE and 5,500 GET/HEAD requests per second per partitioned prefix.
 * A new library bucket is partitioned as its load grows (503 Slow Down meanwhile), so the plan holds
 * the whole run to one prefix's rates: safe from the first request.
 */
export const S3_PREFIX_RATES = { putPerSecond: 3_500, getPerSecond: 5_500 } as const;

/**
 * Megapixels per MB of original, when none is given: the ratio of estimate's defaults (12 MP, 4 MB;
 * a camera JPEG). An inventory lists bytes, not pixels.
 */
export const MEGAPIXELS_PER_MB = 3;

export interface PlanEstimateOptions {
  machine: MachineShape;
  timings: Timings;
  /** Primary presets (variants priced through `formats`). */
  presets: number;
  formats?: EstimateInput['formats'];
  memoryMB: number;
  dedupeMemoryMB: number;
  /** Average megapixels of an original (default: MB x MEGAPIXELS_PER_MB). */
  avgMegapixels?: number;
}

export interface RequestRate {
  /** Photos at once: MaxConcurrency x EachPhoto's MaxConcurrency. */
  concurrency: number;
  maxConcurrency: number;
  photosPerSecond: number;
  putPerSecond: number;
  getPerSecond: number;
  limits: { putPerSecondPerPrefix: number; getPerSecondPerPrefix: number; source: string };
  /** The Distributed Map MaxConcurrency that keeps both rates within one prefix's (never above the configured one). */
  recommendedMaxConcurrency: number;
  /** The estimate's wall clock at recommendedMaxConcurrency (the same when not throttled). */
  wallClockHoursAtRecommended: number;
  throttled: boolean;
  how: string;
}

/** The cost estimate for what the run would process; none to process costs nothing. */
export type PlanEstimate = Estimate | { input: null; lines: []; totalUsd: 0; storagePerMonthUsd: 0; wallClockHours: 0; how: string };

export interface Plan extends Tally {
  estimate: PlanEstimate;
  requestRate: RequestRate;
}

/** The tally, priced (estimate.ts) and paced (S3's per-prefix rates). */
export function planOf(tally: Tally, options: PlanEstimateOptions): Plan {
  const { machine } = options;
  const photos = tally.toProcess.objects;
  const duplicateShare = photos > 0 ? Math.min(0.99, tally.duplicates.extraCopies / Math.max(tally.accepted.objects, 1)) : 0;
  const avgMB = photos > 0 ? tally.toProcess.bytes / photos / 1e6 : 0;
  const concurrency = machine.maxConcurrency * machine.batchConcurrency;
  const input: EstimateInput = {
    photos,
    avgMegapixels: options.avgMegapixels ?? Math.max(0.01, Math.round(avgMB * MEGAPIXELS_PER_MB * 100) / 100),
    avgMB: Math.max(avgMB, 1e-6),
    memoryMB: options.memoryMB,
    concurrency,
    batchSize: machine.batchSize,
    duplicateShare,
    presets: options.presets,
    dedupeMemoryMB: options.dedupeMemoryMB,
    formats: options.formats,
  };
  const limits = { putPerSecondPerPrefix: S3_PREFIX_RATES.putPerSecond, getPerSecondPerPrefix: S3_PREFIX_RATES.getPerSecond, source: 'https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html' };
  if (photos === 0) {
    return {
      ...tally,
      estimate: { input: null, lines: [], totalUsd: 0, storagePerMonthUsd: 0, wallClockHours: 0, how: 'nothing to process' },
      requestRate: { concurrency, maxConcurrency: machine.maxConcurrency, photosPerSecond: 0, putPerSecond: 0, getPerSecond: 0, limits, recommendedMaxConcurrency: machine.maxConcurrency, wallClockHoursAtRecommended: 0, throttled: false, how: 'nothing to process' },
    };
  }
  const priced = estimate(input, options.timings);
  const { resized, gets, puts } = s3Requests(input);
  // Average time one photo holds a slot: Dedupe for every photo, Resize for new content.
  const msPerPhoto = (photos * priced.perPhoto.dedupeMs + resized * priced.perPhoto.resizeMs) / photos;
  const photosPerSecond = concurrency / (msPerPhoto / 1000);
  const putPerSecond = (photosPerSecond * puts) / photos;
  const getPerSecond = (photosPerSecond * gets) / photos;
  const headroom = Math.min(1, S3_PREFIX_RATES.putPerSecond / putPerSecond, S3_PREFIX_RATES.getPerSecond / getPerSecond);
  const recommendedMaxConcurrency = Math.max(1, Math.floor(machine.maxConcurrency * headroom));
  const round = (value: number) => Math.round(value * 10) / 10;
  return {
    ...tally,
    estimate: priced,
    requestRate: {
      concurrency,
      maxConcurrency: machine.maxConcurrency,
      photosPerSecond: round(photosPerSecond),
      putPerSecond: round(putPerSecond),
      getPerSecond: round(getPerSecond),
      limits,
      recommendedMaxConcurrency,
      wallClockHoursAtRecommended: Math.round(((priced.wallClockHours * machine.maxConcurrency) / recommendedMaxConcurrency) * 100) / 100,
      throttled: headroom < 1,
      how:
        `${concurrency} photos at once (MaxConcurrency ${machine.maxConcurrency} x ${machine.batchConcurrency} per child), ${Math.round(msPerPhoto)} ms each on average ` +
        `→ ${round(photosPerSecond)} photos/s x ${round(puts / photos)} PUTs and ${round(gets / photos)} GET/HEADs per photo; ` +
        `held to one partitioned prefix's ${S3_PREFIX_RATES.putPerSecond.toLocaleString('en-US')} PUT/s and ${S3_PREFIX_RATES.getPerSecond.toLocaleString('en-US')} GET/s (a new bucket is partitioned only as load grows)`,
    },
  };
}

export interface PlanInventoryOptions extends Omit<PlanOptions, 'catalog'> {
  /** How a key of the report is named in messages (readManifest's `where`). */
  where?: (key: string) => string;
  expectedSourceBucket?: string;
  /** Compare with this catalog (a rerun's skips); the source bucket is the report's. */
  catalog?: { catalog: Catalog; concurrency?: number };
}

/**
 * Plans a run on the S3 Inventory report at `ref`: the manifest checked as `start` checks it (the
 * same functions, so the same messages), then every data file streamed, each checked against its
 * listed size and MD5 and its rows against the schema. A bad file throws: the tallies so far are
 * dropped and no later file is read.
 */
export async function planInventory(store: ObjectStore, ref: ManifestRef, options: PlanInventoryOptions): Promise<{ manifest: InventoryManifest; tally: Tally }> {
  checksumKeyOf(ref.key); // refuses a key that is not a manifest.json, as start does
  const manifest = await readManifest(store, ref, { where: options.where, expectedSourceBucket: options.expectedSourceBucket });
  const catalog = options.catalog && { ...options.catalog, sourceBucket: manifest.sourceBucket };
  const tally = await tallyObjects(inventoryObjects(streamInventoryReport(store, ref, manifest)), { ...options, catalog });
  return { manifest, tally };
}
