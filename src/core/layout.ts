/**
 * The library's layout, named once: the top-level prefixes of the library bucket, the names a preset
 * may not take, and the values of the catalog's overloaded sort key (`preset`). serverless.yml
 * (routing rule, CloudFront behaviours, bucket policy, IAM) and statemachines/migrate.asl.yaml
 * (ResultWriter) spell the same prefixes; test/core/layout.test.ts checks they agree.
 *
 *   assets/<h0h1>/<h2h3>/<h4h5>/<sha256>.<ext>   immutable, content-addressed (src/core/keys.ts)
 *   runs/…                                        the Distributed Map's ResultWriter output
 *   dynamic/<WxH>/<key>                           pointers of on-demand sizes
 *   inventory/…                                   inventory reports (the default `inventoryPrefix`)
 *   <key>, <preset>/<key>                         pointers of originals and of their crops
 */

/** Content-addressed assets. */
export const ASSETS = 'assets';
/** Run results: the ResultWriter's `Prefix`. */
export const RUNS = 'runs';
/** On-demand sizes: `dynamic/<WxH>/<key>`, routed to the on-demand API / the resolver. */
export const DYNAMIC = 'dynamic';
/** Inventory reports: serverless.yml's default `inventoryPrefix`, and where local runs write theirs. */
export const INVENTORY = 'inventory';

/**
 * Top-level folders the library uses for its own objects. A source key whose first folder is one of
 * them (or a preset name) would collide with the layout: it is refused (validateSourceKey), and a
 * logical URL under one of them (other than `dynamic/`) names no photo.
 */
export const LIBRARY_PREFIXES: readonly string[] = [ASSETS, RUNS, DYNAMIC, INVENTORY];

/** `assets/`: the prefix every asset key starts with. */
export const ASSETS_PREFIX = `${ASSETS}/`;

/** Sort key of the row that describes the original itself. */
export const ORIGINAL = 'original';
/** Sort key of a photo's failure row (a preset name never starts with '#'). */
export const FAILURE = '#failure';
/** Sort key of a content claim; its partition key is `#claim/<sha256>`. */
export const CLAIM = '#claim';

/**
 * Names a preset may not take: the library's own prefixes (`<preset>/<key>` would land among them)
 * and ORIGINAL (its row's sort key). One list, derived from the layout above.
 */
export const RESERVED_NAMES: readonly string[] = [...LIBRARY_PREFIXES, ORIGINAL];

/**
 * Another encoding of a preset's crop (issue 18): its own asset, pointer (`<preset>.<format>/<key>`) and
 * row (sort key `<preset>.<format>`). A preset name has no dot, so a variant name never is one.
 */
export const VARIANT_FORMATS = ['webp', 'avif'] as const;
export type VariantFormat = (typeof VARIANT_FORMATS)[number];

/** `thumb` + `webp` → `thumb.webp`: the variant's sort key and the first folder of its logical key. */
export function variantName(preset: string, format: VariantFormat): string {
  return `${preset}.${format}`;
}

/** Sort key (and logical key prefix) of an on-demand size: `dynamic/<WxH>`. */
export function dynamicName(size: string): string {
  return `${DYNAMIC}/${size}`;
}

/** What one value of the catalog's sort key (`preset`) is. */
export type RowKind =
  | { kind: 'original' }
  /** A configured preset's crop (or one of a preset no longer configured). */
  | { kind: 'preset'; name: string }
  /** An on-demand size; `size` as it was requested (`300x200`, `300x200-inside`). */
  | { kind: 'dynamic'; size: string }
  | { kind: 'failure' }
  | { kind: 'claim' }
  /** Any other '#' name: none is written today; never a photo's row. */
  | { kind: 'internal'; name: string };

/** Classifies a sort key value: every reader of `preset` asks here rather than comparing strings. */
export function rowKind(preset: string): RowKind {
  if (preset === ORIGINAL) return { kind: 'original' };
  if (preset === FAILURE) return { kind: 'failure' };
  if (preset === CLAIM) return { kind: 'claim' };
  if (preset.startsWith('#')) return { kind: 'internal', name: preset };
  if (preset.startsWith(`${DYNAMIC}/`)) return { kind: 'dynamic', size: preset.slice(DYNAMIC.length + 1) };
  return { kind: 'preset', name: preset };
}

/** A row that describes an image of the photo (its original, a crop, an on-demand size), not a failure or a claim. */
export function isImageRow(preset: string): boolean {
  const { kind } = rowKind(preset);
  return kind === 'original' || kind === 'preset' || kind === 'dynamic';
}

/** The row of the original itself. */
export function isOriginalRow(row: { preset: string }): boolean {
  return rowKind(row.preset).kind === 'original';
}
