/**
 * The resolver: what the CDN side runs for a logical URL (`/<key>`, `/<preset>/<key>`,
 * `/dynamic/<size>/<key>`), so the visitor gets 200 with the image's bytes at that URL and never a
 * redirect. In small named steps:
 *
 *   keyOfUrlPath   the URL path → the logical key (percent-decoded), or 400
 *   classify       original / crop / dynamic size, or not a logical URL (404: `assets/`, `runs/` …)
 *   negotiate      a preset with variants (`formats`), or an on-demand size with `onDemand.formats`:
 *                  the best variant the request's Accept allows (src/core/negotiate.ts), falling back
 *                  to the next one and finally the primary when its pointer is missing; `Vary: Accept`
 *   readPointer    the pointer's WebsiteRedirectLocation → the asset key
 *   renderMissing  a dynamic size with no pointer yet: made now by the on-demand core (size allowlist,
 *                  signature when a secret is set, limits — all before any read), then read
 *   answer         the asset's bytes (streamed), its Content-Type, an ETag, Cache-Control for its kind
 *
 * Runs on AWS in the `resolve` Lambda (src/handlers/resolve.ts) behind CloudFront, and locally in
 * `serve`'s CDN view (src/local/cdn.ts) through the same handler.
 */
import type { OnDemandContext } from './on-demand';
import { canonicalUri, keyOfUrlPath } from './cdn';
import { dynamicKey, type MadeAsset, type Refusal, refusalOf, serveDynamic, splitVariantSize } from './on-demand';
import { NotFoundError, PhotoError, type PhotoReason } from './errors';
import { validateSourceKey } from './keys';
import { ASSETS_PREFIX, DYNAMIC, dynamicName, LIBRARY_PREFIXES, type VariantFormat, variantName } from './layout';
import { acceptedFormats } from './negotiate';
import type { ObjectStream } from './ports';
import { type DeliveryConfig, parseSize } from './presets';
import { derivedPrefixOf } from './source';

export type ResolveContext = OnDemandContext;

/** When the config names none (src/config.ts `delivery`). */
export const DEFAULT_DELIVERY: DeliveryConfig = { browserSeconds: 60, cdnSeconds: 86_400, errorSeconds: 60 };

export interface ResolveRequest {
  /** The URL path as the viewer sent it (percent-encoded), e.g. `/small/trips/a%20b.jpg`. */
  path: string;
  /** `?sig=` */
  signature?: string;
  /** HEAD: headers only, the asset is not read. */
  headOnly?: boolean;
  /** The viewer's (or the CDN's revalidation) If-None-Match. */
  ifNoneMatch?: string;
  /** The viewer's Accept: which variant formats it takes (used when `format` is absent). */
  accept?: string;
  /** The CDN edge function's normalised choice (negotiate.ts FORMAT_HEADER): preferred over `accept`. */
  format?: string;
}

export interface ResolvedHeaders {
  /** Absent on a 304: a revalidation must not relabel the cached image. */
  'Content-Type'?: string;
  'Cache-Control': string;
  ETag?: string;
  'Content-Length'?: string;
  /** `Accept` when the answer depends on it: a preset with variants, an on-demand size with formats. */
  Vary?: string;
}

export type Resolution =
  | { status: 200; logicalKey: string; assetKey: string; headers: ResolvedHeaders; rendered: boolean; body?: ObjectStream['body'] }
  | { status: 304; logicalKey: string; headers: ResolvedHeaders }
  | (Refusal & { headers: ResolvedHeaders });

type Kind = { kind: 'original' | 'crop'; logicalKey: string } | { kind: 'dynamic'; logicalKey: string; size: string; key: string };

/** What a logical URL's answer carries: browsers keep it briefly, the CDN long (it is invalidated on change). */
export function logicalCacheControl(ttls: DeliveryConfig): string {
  return `public, max-age=${ttls.browserSeconds}, s-maxage=${ttls.cdnSeconds}`;
}

export function errorCacheControl(ttls: DeliveryConfig): string {
  return `public, max-age=${ttls.errorSeconds}`;
}

export async function resolveLogical(context: ResolveContext, request: ResolveRequest): Promise<Resolution> {
  const negotiated = { vary: false };
  const resolution = await resolveNegotiated(context, request, negotiated);
  return negotiated.vary ? ({ ...resolution, headers: { ...resolution.headers, Vary: 'Accept' } } as Resolution) : resolution;
}

async function resolveNegotiated(context: ResolveContext, request: ResolveRequest, negotiated: { vary: boolean }): Promise<Resolution> {
  const ttls = context.config.delivery ?? DEFAULT_DELIVERY;
  const refuse = (status: Refusal['status'], error: string, reason?: PhotoReason): Resolution => ({
    status,
    error,
    ...(reason ? { reason } : {}),
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': errorCacheControl(ttls) },
  });

  // A refused signature is not cached: the signed request that follows must reach the resolver.
  const refuseUncached = (error: string): Resolution => ({ status: 403, error, headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' } });

  const logicalKey = keyOfUrlPath(request.path);
  if (logicalKey === undefined) return refuse(400, 'the path is not valid percent-encoding');
  // One spelling per logical URL (the distribution's viewer-request function makes every request
  // canonical): another spelling would be a cache entry that no invalidation reaches.
  const path = request.path.split('?', 1)[0]!;
  const canonical = canonicalUri(path);
  if (canonical !== path) return refuse(404, `not the canonical spelling of this URL: ${canonical}`);
  const kind = classify(logicalKey, context.presets.map((preset) => preset.name));
  if (!kind) return refuse(404, `not a logical URL: /${logicalKey}`);
  const problem = keyProblem(kind, context.presets.map((preset) => preset.name), derivedPrefixOf(context));
  if (problem) return refuse(problem.status, problem.error, problem.reason);

  if (kind.kind === 'crop') {
    // A preset with variants: the best one the client takes whose pointer and asset exist, else the
    // primary — which is that best one when it is itself a format the client prefers (a primary AVIF
    // preset with a WebP variant: Chrome gets the AVIF, Safari 16 the WebP).
    const slash = kind.logicalKey.indexOf('/');
    const preset = kind.logicalKey.slice(0, slash);
    const offered = context.presets.filter((p) => p.variantOf === preset).map((p) => p.format as VariantFormat);
    if (offered.length > 0) {
      negotiated.vary = true;
      const primary = context.presets.find((p) => p.name === preset)?.format;
      for (const format of acceptedFormats(request)) {
        if (format === primary) break;
        if (!offered.includes(format)) continue;
        const variantKey = `${variantName(preset, format)}/${kind.logicalKey.slice(slash + 1)}`;
        const variantAsset = await readPointer(context, variantKey);
        // A pointer whose asset is gone (a damaged library: verify reports it) falls through too.
        const answered = variantAsset ? await answer(context, ttls, request, variantKey, variantAsset, false, () => undefined) : undefined;
        if (answered) return answered;
      }
    }
  }

  let format: VariantFormat | undefined;
  /** A negotiated size's other encodings the client takes, next best first (the primary last). */
  let fallbackKeys: string[] = [];
  if (kind.kind === 'dynamic') {
    // An explicit variant (`dynamic/300x200.webp/<key>`) is served as named; otherwise, with
    // onDemand.formats, the one the client takes — made now if it is new (one render, one variant).
    const segment = kind.size;
    const split = splitVariantSize(segment);
    const explicit = split.format;
    if (explicit) {
      kind.size = split.size;
      format = explicit;
    } else if ((context.config.onDemand.formats ?? []).length > 0) {
      negotiated.vary = true;
      const taken = acceptedFormats(request).filter((f) => context.config.onDemand.formats!.includes(f));
      format = taken[0];
      const name = dynamicName(kind.size);
      if (format) fallbackKeys = [...taken.slice(1).map((f) => variantName(name, f)), name];
    }
    // The size allowlist before any read (a stranger's made-up sizes cost nothing); the pointer
    // lives at the canonical form (`300x200`, `300x200-inside`).
    const size = parseSize(kind.size);
    if (!size) return refuse(400, `malformed size "${kind.size}": use WxH or WxH-inside`);
    if (!context.config.onDemand.sizes.some((allowed) => parseSize(allowed)?.text === size.text)) {
      return refuse(400, `size ${size.text} is not allowed; allowed: ${context.config.onDemand.sizes.join(', ')}`);
    }
    // `300x200-cover`, `300x200.WEBP`: the same size, but another URL — a cache entry no invalidation
    // reaches — so refused, naming the one spelling (the API, website mode, answers 301 to it instead).
    const canonicalSegment = explicit ? variantName(size.text, explicit) : size.text;
    if (segment !== canonicalSegment) return refuse(404, `not the canonical spelling of this size: ${canonicalSegment}`);
    if (explicit && !(context.config.onDemand.formats ?? []).includes(explicit)) {
      return refuse(404, `${explicit} is not made on demand (config onDemand.formats)`);
    }
    kind.logicalKey = dynamicKey(size, kind.key, format);
    fallbackKeys = fallbackKeys.map((name) => `${name}/${kind.key}`);
  }

  let assetKey = await readPointer(context, kind.logicalKey);
  if (assetKey && kind.kind === 'dynamic') {
    // A size whose asset is gone (a damaged library) is made again, as if new: the same content-addressed asset.
    const answered = await answer(context, ttls, request, kind.logicalKey, assetKey, false, () => undefined);
    if (answered) return answered;
    assetKey = undefined;
  }
  if (!assetKey && kind.kind === 'dynamic') {
    // Only making a new size needs the signature (when a secret is set): checked before any read.
    const made = await serveDynamic(context, { size: kind.size, key: kind.key, signature: request.signature, ...(format ? { format } : {}) }, { pointerMissing: true });
    if (made.status === 403) {
      // Not signed for making the variant the client prefers: an encoding of this size already made
      // serves instead (a size made before onDemand.formats named a format, or asked by curl).
      for (const fallbackKey of fallbackKeys) {
        const fallbackAsset = await readPointer(context, fallbackKey);
        if (fallbackAsset) return answer(context, ttls, request, fallbackKey, fallbackAsset, false, refuse);
      }
    }
    if (made.status !== 301) return made.status === 403 ? refuseUncached(made.error) : refuse(made.status, made.error, made.reason);
    // Just made: answered from memory, not read back.
    if (made.asset) return answerMade(ttls, request, made.logicalKey, made.asset);
    assetKey = await readPointer(context, made.logicalKey);
  }
  if (!assetKey) return refuse(404, `no such image: /${logicalKey}`);
  return answer(context, ttls, request, kind.logicalKey, assetKey, false, refuse);
}

/**
 * Which logical URL this is. A source key never starts with a preset's or the library's own prefix
 * (validateSourceKey), so the first segment decides.
 */
export function classify(logicalKey: string, presetNames: readonly string[]): Kind | undefined {
  if (logicalKey === '') return undefined;
  const slash = logicalKey.indexOf('/');
  const first = slash === -1 ? logicalKey : logicalKey.slice(0, slash);
  if (first === DYNAMIC) {
    const match = /^([^/]+)\/(.+)$/.exec(logicalKey.slice(slash + 1));
    return match ? { kind: 'dynamic', logicalKey, size: match[1]!, key: match[2]! } : undefined;
  }
  if (slash !== -1 && LIBRARY_PREFIXES.includes(first)) return undefined;
  if (slash !== -1 && presetNames.includes(first)) return { kind: 'crop', logicalKey };
  return { kind: 'original', logicalKey };
}

/** A source key as the batch would take it (no `.`/`..` segments, no control characters, ≤ 1,024 bytes), or why not. */
function keyProblem(kind: Kind, presetNames: readonly string[], prefixBytes: number): Refusal | undefined {
  const sourceKey = kind.kind === 'dynamic' ? kind.key : kind.kind === 'crop' ? kind.logicalKey.slice(kind.logicalKey.indexOf('/') + 1) : kind.logicalKey;
  try {
    validateSourceKey(sourceKey, presetNames, prefixBytes);
    return undefined;
  } catch (error) {
    if (error instanceof PhotoError) return refusalOf(error, 'bad key: ');
    throw error;
  }
}

/** The asset a pointer names (its WebsiteRedirectLocation), or undefined when there is no pointer. */
async function readPointer(context: ResolveContext, logicalKey: string): Promise<string | undefined> {
  const head = await context.store.head({ bucket: context.libraryBucket, key: logicalKey });
  const location = head?.redirectLocation?.replace(/^\//, '');
  return location?.startsWith(ASSETS_PREFIX) ? location : undefined;
}

/** The asset's own sha-256 (its file name) is a strong validator: same name, same bytes. */
function etagOf(assetKey: string): string {
  return `"${assetKey.slice(assetKey.lastIndexOf('/') + 1).replace(/\.[^.]+$/, '')}"`;
}

function answerMade(ttls: DeliveryConfig, request: ResolveRequest, logicalKey: string, asset: MadeAsset): Resolution {
  const headers: ResolvedHeaders = { 'Content-Type': asset.contentType, 'Cache-Control': logicalCacheControl(ttls), ETag: etagOf(asset.key), 'Content-Length': String(asset.body.byteLength) };
  return { status: 200, logicalKey, assetKey: asset.key, rendered: true, headers, body: request.headOnly ? undefined : oneChunk(asset.body) };
}

async function* oneChunk(body: Uint8Array): AsyncGenerator<Uint8Array> {
  yield body;
}

/** The asset as the answer to `logicalKey`; a missing asset is what `missing` makes of it (a 404, or undefined to try another). */
async function answer<Missing extends Resolution | undefined = Resolution>(
  context: ResolveContext,
  ttls: DeliveryConfig,
  request: ResolveRequest,
  logicalKey: string,
  assetKey: string,
  rendered: boolean,
  missing: (status: 404, error: string) => Missing,
): Promise<Resolution | Missing> {
  const etag = etagOf(assetKey);
  const cacheControl = logicalCacheControl(ttls);
  if (request.ifNoneMatch && request.ifNoneMatch.split(',').map((tag) => tag.trim().replace(/^W\//, '')).includes(etag)) {
    return { status: 304, logicalKey, headers: { 'Cache-Control': cacheControl, ETag: etag } };
  }
  const ref = { bucket: context.libraryBucket, key: assetKey };
  if (request.headOnly) {
    const head = await context.store.head(ref);
    if (!head) return missing(404, `the pointer /${logicalKey} names a missing asset (photo-scaler verify reports it)`);
    return { status: 200, logicalKey, assetKey, rendered, headers: { 'Content-Type': head.contentType ?? 'application/octet-stream', 'Cache-Control': cacheControl, ETag: etag, 'Content-Length': String(head.size) } };
  }
  let object: ObjectStream;
  try {
    object = await context.store.openRead(ref);
  } catch (error) {
    if (error instanceof NotFoundError) return missing(404, `the pointer /${logicalKey} names a missing asset (photo-scaler verify reports it)`);
    throw error;
  }
  return {
    status: 200,
    logicalKey,
    assetKey,
    rendered,
    body: object.body,
    headers: {
      'Content-Type': object.contentType ?? 'application/octet-stream',
      'Cache-Control': cacheControl,
      ETag: etag,
      ...(object.size !== undefined ? { 'Content-Length': String(object.size) } : {}),
    },
  };
}
