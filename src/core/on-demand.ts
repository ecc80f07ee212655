/**
 * The on-demand path (`GET /dynamic/<size>/<key>`): the website's routing rule sends a miss here; we
 * check the request, render that one size with the same core as the batch path, store the asset,
 * the pointer at `dynamic/<size>/<key>` and its catalog row, and send the client back to the website.
 * Every limit is checked before any decode or write; image bytes never travel through the API.
 */
import { createHash, createHmac, type Hash, timingSafeEqual } from 'node:crypto';
import { keepsAnimationOf } from './animation';
import { type StepContext, nowIso } from './context';
import { NotFoundError, PhotoError, type PhotoReason, tooLarge } from './errors';
import { pointerTarget, validateSourceKey } from './keys';
import { POINTER_CACHE_CONTROL, putAsset } from './library';
import { dynamicName, isOriginalRow, VARIANT_FORMATS, type VariantFormat, variantName } from './layout';
import type { CatalogRow } from './ports';
import { parseSize, resolvePreset, resolveVariant, type Size } from './presets';
import { insideSize, renderPresets } from './render';
import { processRenderGate, type RenderGate } from './render-gate';
import { derivedPrefixOf } from './source';
import { sniffImage } from './sniff';

export interface OnDemandContext extends StepContext {
  /** Where originals live that the batch has not stored yet. */
  sourceBucket: string;
  /** When set, every request must carry a valid signature. */
  signingSecret?: string;
  /** Coalesces and bounds renders; absent: the process's own (one per Lambda container). */
  renderGate?: RenderGate;
}

export interface OnDemandRequest {
  size: string;
  /** Decoded key of the original. */
  key: string;
  signature?: string;
  /** A variant (config `onDemand.formats`) instead of the primary encoding: stored at `dynamic/<size>.<format>/<key>`. */
  format?: VariantFormat;
}

/** A refusal: `reason` when the photo (or its key) is why, not the request's size or signature. */
export type Refusal = { status: 400 | 403 | 404 | 413 | 422; error: string; reason?: PhotoReason };

export type OnDemandResult = { status: 301; logicalKey: string; rendered: boolean; asset?: MadeAsset } | Refusal;

/**
 * The HTTP status of each reason a photo cannot be made: chosen here from the reason, never from the
 * message. 422 (the request is well formed, but this original cannot be processed) for what is wrong
 * with the bytes; 413 for what is over a limit; 404 for an original that does not exist; 400 for a
 * key no photo can have.
 */
export const STATUS_OF_REASON: Readonly<Record<PhotoReason, 400 | 404 | 413 | 422>> = {
  'not-an-image': 422,
  corrupt: 422,
  unsupported: 422,
  empty: 422,
  'render-failed': 422,
  'too-large': 413,
  gone: 404,
  'key-refused': 400,
};

/** A PhotoError as the answer: its status from its reason, its message without the reason's mark. */
export function refusalOf(error: PhotoError, prefix = ''): Refusal {
  return { status: STATUS_OF_REASON[error.reason], error: `${prefix}${error.detail}`, reason: error.reason };
}

/** A size just made: its asset, still in memory (the resolver answers with it without reading it back). */
export interface MadeAsset {
  key: string;
  body: Uint8Array;
  contentType: string;
}

export interface ServeOptions {
  /** The caller read the pointer a moment ago and found none: do not read it again. */
  pointerMissing?: boolean;
}

export function dynamicKey(size: Size, key: string, format?: VariantFormat): string {
  return `${dynamicPresetName(size, format)}/${key}`;
}

/**
 * A size segment as a URL names it: `300x200` (the primary, or negotiated by the resolver) or an
 * explicit variant, `300x200.webp` — the key its pointer has.
 */
export function splitVariantSize(text: string): { size: string; format?: VariantFormat } {
  const dot = text.lastIndexOf('.');
  // Any case (`300x200.WEBP`), named in lower case: the API answers with the canonical URL, the
  // resolver refuses any other spelling (resolve.ts) — one asset, pointer and row per size.
  const format = text.slice(dot + 1).toLowerCase();
  return dot > 0 && (VARIANT_FORMATS as readonly string[]).includes(format) ? { size: text.slice(0, dot), format: format as VariantFormat } : { size: text };
}

/** `dynamic/300x200`, or a variant of it: `dynamic/300x200.webp` (its row's sort key too). */
export function dynamicPresetName(size: Size, format?: VariantFormat): string {
  return format ? variantName(dynamicName(size.text), format) : dynamicName(size.text);
}

/** HMAC-SHA256 (hex) of `<size>/<key>`: what `?sig=` must carry when a secret is configured. */
export function signRequest(secret: string, size: string, key: string): string {
  return createHmac('sha256', secret).update(`${size}/${key}`, 'utf8').digest('hex');
}

export async function serveDynamic(context: OnDemandContext, request: OnDemandRequest, options: ServeOptions = {}): Promise<OnDemandResult> {
  const checked = checkDynamicRequest(context, request);
  if ('error' in checked) return checked;
  const { size, key } = checked;
  const logicalKey = dynamicKey(size, key, request.format);
  // Each request's own checks (signature included) above; identical concurrent requests then share one
  // render and its answer, and renders are bounded (src/core/render-gate.ts).
  return (context.renderGate ?? processRenderGate).run(`${context.libraryBucket}/${logicalKey}`, () => makeDynamic(context, size, key, logicalKey, options, request.format));
}

/**
 * The pointer if there is one, else the source and one render: its 301, or why not.
 *
 * The calls, in order (a new size: 4 round trips, 5 calls): the key's rows; the source (one GET,
 * hashed as it arrives); the asset; then its pointer and its row together. Whether the size exists
 * already is read from the rows the source needs anyway: only when they hold this size's row is its
 * pointer read (HEAD) — a size already made (two requests racing, a cached 404 sending a client
 * twice, a stranger calling the API directly) is answered without a render. A pointer without its row
 * (a crash between the two writes) is rendered again: the same content-addressed asset, the same
 * pointer, and the row is written this time. `pointerMissing` (the resolver read the pointer a moment
 * ago): no HEAD at all.
 */
async function makeDynamic(context: OnDemandContext, size: Size, key: string, logicalKey: string, options: ServeOptions, format?: VariantFormat): Promise<OnDemandResult> {
  try {
    const rows = await context.catalog.rowsForKey(key);
    if (!options.pointerMissing && rows.some((row) => row.logicalKey === logicalKey) && (await context.store.head({ bucket: context.libraryBucket, key: logicalKey }))?.redirectLocation) {
      return { status: 301, logicalKey, rendered: false };
    }
    const source = await findSource(context, key, size, rows);
    const asset = await render(context, size, key, logicalKey, source, format);
    return { status: 301, logicalKey, rendered: true, asset };
  } catch (error) {
    if (error instanceof PhotoError) return refusalOf(error);
    throw error;
  }
}

/** Size allowlist, key, and (when a secret is configured) the signature: before anything is read. */
export function checkDynamicRequest(context: OnDemandContext, request: OnDemandRequest): { size: Size; key: string } | Refusal {
  const size = parseSize(request.size);
  if (!size) return { status: 400, error: `malformed size "${request.size}": use WxH or WxH-inside` };
  if (!context.config.onDemand.sizes.map((allowed) => parseSize(allowed)?.text).includes(size.text)) {
    return { status: 400, error: `size ${size.text} is not allowed; allowed: ${context.config.onDemand.sizes.join(', ')}` };
  }
  if (request.format && !(context.config.onDemand.formats ?? []).includes(request.format)) {
    return { status: 400, error: `format ${request.format} is not made on demand; allowed: ${(context.config.onDemand.formats ?? []).join(', ') || 'none'}` };
  }
  try {
    validateSourceKey(request.key, context.presets.map((preset) => preset.name), derivedPrefixOf(context));
  } catch (error) {
    if (error instanceof PhotoError) return refusalOf(error, 'bad key: ');
    throw error;
  }
  if (context.signingSecret) {
    const expected = Buffer.from(signRequest(context.signingSecret, size.text, request.key), 'hex');
    const given = /^[0-9a-f]{64}$/i.test(request.signature ?? '') ? Buffer.from(request.signature!, 'hex') : undefined;
    if (!given) return { status: 403, error: 'missing or malformed signature (?sig=)' };
    if (!timingSafeEqual(given, expected)) return { status: 403, error: 'signature does not match' };
  }
  return { size, key: request.key };
}

interface SourceBytes {
  body: Uint8Array;
  /** The original's: what the row records, whichever bytes were rendered (readWhole: perhaps still being computed). */
  sha256: Promise<string>;
  etag: string;
  bucket: string;
}

/**
 * A rendition already stored serves as the source of a new size when it is at least this many times
 * the new size in both directions: downscaling by two or more hides the earlier encoding, and the
 * bytes to read and decode are a fraction of the original's (npm run bench, `cdn.newSizeMsP50`).
 */
export const INTERMEDIATE_FACTOR = 2;

/**
 * What to render a new size from: the smallest stored rendition of the whole frame (oriented, sRGB,
 * never enlarged; for a GIF or WebP original, only one of the original's own type, which keeps its frames)
 * that is at least INTERMEDIATE_FACTOR times the result, else the original — the library's
 * copy, or the source bucket's when the batch has not stored it yet. Throws PhotoError (gone, too-large).
 */
async function findSource(context: OnDemandContext, key: string, size: Size, rows: readonly CatalogRow[]): Promise<SourceBytes> {
  const original = rows.find(isOriginalRow);
  if (original) {
    const wanted = resultSize(original.width, original.height, size);
    // A rendition that is the original as it is, only smaller: made by a primary preset's current
    // definition (a row from an earlier one may be a crop: its spec differs) of the whole frame
    // (`inside`), no larger than the original (not enlarged), in the `auto` format or the original's own
    // type (alpha kept as PNG, frames as GIF/WebP; a JPEG of a PNG is flattened onto white). Not a WebP/AVIF
    // variant: the same frame, but slower to decode (an AVIF ~8x a JPEG) at a lower quality.
    const whole = new Map(context.presets.filter((preset) => preset.fit === 'inside' && preset.variantOf === undefined).map((preset) => [preset.name, preset]));
    const isWholeOriginal = (r: CatalogRow) => {
      const preset = whole.get(r.preset);
      return preset?.spec === r.spec && r.width <= original.width && r.height <= original.height && (preset.format === 'auto' || r.contentType === original.contentType);
    };
    const intermediate = rows
      .filter((r) => isWholeOriginal(r) && r.sourceSha256 === original.sha256)
      // An animated original's size is made from its frames: never from a rendition that is one frame (animation.ts).
      .filter((r) => keepsAnimationOf(original.contentType, r.contentType))
      .filter((r) => r.width >= wanted.width * INTERMEDIATE_FACTOR && r.height >= wanted.height * INTERMEDIATE_FACTOR)
      .sort((a, b) => a.bytes - b.bytes)[0];
    if (intermediate) {
      const read = await readWhole(context, { bucket: context.libraryBucket, key: intermediate.assetKey });
      if (!(read instanceof PhotoError)) return { body: read.body, sha256: Promise.resolve(original.sha256), etag: original.sourceEtag, bucket: original.sourceBucket };
    }
  }
  const ref = original ? { bucket: context.libraryBucket, key: original.assetKey } : { bucket: context.sourceBucket, key };
  // The source bucket's original is hashed as it arrives (its row records the sha-256): no second pass over its bytes.
  const read = await readWhole(context, ref, !original);
  if (read instanceof PhotoError) throw read.reason === 'gone' ? new PhotoError('gone', `no original for ${key}`) : read;
  return { body: read.body, sha256: original ? Promise.resolve(original.sha256) : read.sha256!, etag: original?.sourceEtag ?? read.etag ?? '', bucket: original?.sourceBucket ?? context.sourceBucket };
}

/**
 * One GET (no HEAD first): its length is checked against the limit before the body is read. A
 * missing or too large object is answered as its PhotoError. `hash`: its sha-256 too, computed chunk
 * by chunk while the rest is still arriving — or, when the body came in one piece (a small object, or
 * the local S3's whole-file answer: nothing to wait for), beside the render that follows instead of
 * before it (digestInSlices).
 */
async function readWhole(context: OnDemandContext, ref: { bucket: string; key: string }, hash = false): Promise<{ body: Uint8Array; etag?: string; sha256?: Promise<string> } | PhotoError> {
  const { maxInputBytes } = context.config.limits;
  let object: Awaited<ReturnType<OnDemandContext['store']['openRead']>>;
  try {
    object = await context.store.openRead(ref);
  } catch (error) {
    if (error instanceof NotFoundError) return new PhotoError('gone', `no such object: ${ref.key}`);
    throw error;
  }
  const chunks: Uint8Array[] = [];
  const hasher = hash ? createHash('sha256') : undefined;
  let read = 0;
  for await (const chunk of object.body) {
    read += chunk.byteLength;
    // Leaving the loop closes the connection: no more of it is downloaded.
    if (read > maxInputBytes || (object.size ?? 0) > maxInputBytes) return tooLarge(Math.max(read, object.size ?? 0), maxInputBytes);
    chunks.push(chunk);
    // The first chunk is hashed when a second one comes: a body in one piece is hashed below.
    if (chunks.length === 2) hasher?.update(chunks[0]!);
    if (chunks.length >= 2) hasher?.update(chunk);
  }
  // One chunk (a small object, or the local S3's whole-file answer) is the body as it is: no copy.
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  if (!hasher) return { body, etag: object.etag };
  const sha256 = chunks.length === 1 ? digestInSlices(hasher, body) : Promise.resolve(hasher.digest('hex'));
  return { body, etag: object.etag, sha256 };
}

/** Bytes hashed a turn of the event loop at a time by digestInSlices. */
const HASH_SLICE_BYTES = 256 * 1024;

/**
 * The digest of bytes already in hand, a slice per turn of the event loop: a render started beside it
 * takes its steps on this thread in between (its decode then runs on libuv's threads while this
 * goes on), instead of waiting for the whole hash. (WebCrypto's digest, on the thread pool, would
 * first copy the bytes: measured slower.)
 */
async function digestInSlices(hasher: Hash, bytes: Uint8Array): Promise<string> {
  for (let at = 0; at < bytes.byteLength; at += HASH_SLICE_BYTES) {
    if (at > 0) await new Promise((resolve) => setImmediate(resolve));
    hasher.update(bytes.subarray(at, at + HASH_SLICE_BYTES));
  }
  return hasher.digest('hex');
}

/** The size a `cover` or `inside` resize of a WxH frame gives (inside never enlarges). */
function resultSize(width: number, height: number, size: Size): { width: number; height: number } {
  if (size.fit === 'cover') return { width: size.width, height: size.height };
  return insideSize({ width, height }, { ...size, withoutEnlargement: true });
}

async function render(context: OnDemandContext, size: Size, key: string, logicalKey: string, source: SourceBytes, format?: VariantFormat): Promise<MadeAsset> {
  if (!sniffImage(source.body)) throw new PhotoError('not-an-image', 'cannot decode: not an image');
  const dimensions = { width: size.width, height: size.height, fit: size.fit };
  // A variant is encoded as a preset's variant is (VARIANT_SETTINGS), its row named `dynamic/<size>.<format>`.
  const preset = format
    ? resolveVariant(dynamicName(size.text), dimensions, format)
    : resolvePreset(dynamicName(size.text), { ...dimensions, quality: context.config.jpegQuality, mozjpeg: context.config.mozjpeg });
  const [{ renditions }, sourceSha256] = await Promise.all([renderPresets(source.body, [preset], context.config.limits), source.sha256]);
  const rendition = renditions[0]!;
  const asset = await putAsset(context, rendition.body, rendition.ext, rendition.contentType);
  const row: CatalogRow = {
    sourceKey: key,
    preset: preset.name,
    logicalKey,
    assetKey: asset.key,
    sha256: asset.sha256,
    sourceSha256,
    width: rendition.width,
    height: rendition.height,
    bytes: rendition.body.byteLength,
    contentType: rendition.contentType,
    sourceBucket: source.bucket,
    sourceEtag: source.etag,
    spec: preset.spec,
    runId: 'on-demand',
    updatedAt: nowIso(context),
  };
  // The asset first (a pointer never names a missing asset), then the pointer — a new one, written
  // without reading it first — and the row together.
  await Promise.all([
    context.store.put({ bucket: context.libraryBucket, key: logicalKey }, new Uint8Array(0), { redirectLocation: pointerTarget(asset.key), cacheControl: POINTER_CACHE_CONTROL }),
    context.catalog.putRows([row]),
  ]);
  return { key: asset.key, body: rendition.body, contentType: rendition.contentType };
}
