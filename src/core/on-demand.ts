/**
 * The on-demand path (`GET /dynamic/<size>/<key>`): the website's routing rule sends a miss here; we
 * check the request, render that one size with the same core as the batch path, store the asset,
 * the pointer at `dynamic/<size>/<key>` and its catalog row, and send the client back to the website.
 * Every limit is checked before any decode or write; image bytes never travel through the API.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { type StepContext, nowIso } from './context';
import { PhotoError } from './errors';
import { validateSourceKey } from './keys';
import { putAsset, putPointer, sha256Hex } from './library';
import { type CatalogRow, ORIGINAL } from './ports';
import { parseSize, resolvePreset, type Size } from './presets';
import { renderPresets } from './render';
import { sniffImage } from './sniff';

export const DYNAMIC_PREFIX = 'dynamic';

export interface OnDemandContext extends StepContext {
  /** Where originals live that the batch has not stored yet. */
  sourceBucket: string;
  /** When set, every request must carry a valid signature. */
  signingSecret?: string;
}

export interface OnDemandRequest {
  size: string;
  /** Decoded key of the original. */
  key: string;
  signature?: string;
}

export type OnDemandResult =
  | { status: 301; logicalKey: string; rendered: boolean }
  | { status: 400 | 403 | 404 | 413 | 422; error: string };

export function dynamicKey(size: Size, key: string): string {
  return `${DYNAMIC_PREFIX}/${size.text}/${key}`;
}

/** HMAC-SHA256 (hex) of `<size>/<key>`: what `?sig=` must carry when a secret is configured. */
export function signRequest(secret: string, size: string, key: string): string {
  return createHmac('sha256', secret).update(`${size}/${key}`, 'utf8').digest('hex');
}

export async function serveDynamic(context: OnDemandContext, request: OnDemandRequest): Promise<OnDemandResult> {
  const checked = checkDynamicRequest(context, request);
  if ('error' in checked) return checked;
  const { size, key } = checked;
  const logicalKey = dynamicKey(size, key);

  // Two requests can race to here (or a cached 404 sent a client twice): the pointer decides.
  if ((await context.store.head({ bucket: context.libraryBucket, key: logicalKey }))?.redirectLocation) {
    return { status: 301, logicalKey, rendered: false };
  }
  const original = await findOriginal(context, key);
  if ('error' in original) return original;
  try {
    await render(context, size, key, logicalKey, original);
  } catch (error) {
    if (error instanceof PhotoError) return { status: /^too large/.test(error.message) ? 413 : 422, error: error.message };
    throw error;
  }
  return { status: 301, logicalKey, rendered: true };
}

/** Size allowlist, key, and (when a secret is configured) the signature: before anything is read. */
export function checkDynamicRequest(context: OnDemandContext, request: OnDemandRequest): { size: Size; key: string } | { status: 400 | 403; error: string } {
  const size = parseSize(request.size);
  if (!size) return { status: 400, error: `malformed size "${request.size}": use WxH or WxH-inside` };
  if (!context.config.onDemand.sizes.map((allowed) => parseSize(allowed)?.text).includes(size.text)) {
    return { status: 400, error: `size ${size.text} is not allowed; allowed: ${context.config.onDemand.sizes.join(', ')}` };
  }
  try {
    validateSourceKey(request.key, context.presets.map((preset) => preset.name));
  } catch (error) {
    return { status: 400, error: `bad key: ${(error as Error).message}` };
  }
  if (context.signingSecret) {
    const expected = Buffer.from(signRequest(context.signingSecret, size.text, request.key), 'hex');
    const given = /^[0-9a-f]{64}$/i.test(request.signature ?? '') ? Buffer.from(request.signature!, 'hex') : undefined;
    if (!given) return { status: 403, error: 'missing or malformed signature (?sig=)' };
    if (!timingSafeEqual(given, expected)) return { status: 403, error: 'signature does not match' };
  }
  return { size, key: request.key };
}

interface OriginalBytes {
  body: Uint8Array;
  sha256: string;
  etag: string;
  bucket: string;
}

/** The original as the library stores it (an asset), or else straight from the source bucket. */
async function findOriginal(context: OnDemandContext, key: string): Promise<OriginalBytes | { status: 404 | 413; error: string }> {
  const { maxInputBytes } = context.config.limits;
  const row = (await context.catalog.rowsForKey(key)).find((r) => r.preset === ORIGINAL);
  const ref = row ? { bucket: context.libraryBucket, key: row.assetKey } : { bucket: context.sourceBucket, key };
  const head = await context.store.head(ref);
  if (!head) return { status: 404, error: `no original for ${key}` };
  if (head.size > maxInputBytes) return { status: 413, error: `too large: ${head.size} bytes, limit is ${maxInputBytes}` };
  const object = await context.store.get(ref);
  return { body: object.body, sha256: row?.sha256 ?? sha256Hex(object.body), etag: row?.sourceEtag ?? object.etag ?? '', bucket: row?.sourceBucket ?? context.sourceBucket };
}

async function render(context: OnDemandContext, size: Size, key: string, logicalKey: string, original: OriginalBytes): Promise<void> {
  if (!sniffImage(original.body)) throw new PhotoError('cannot decode: not an image');
  const preset = resolvePreset(`${DYNAMIC_PREFIX}/${size.text}`, { width: size.width, height: size.height, fit: size.fit, quality: context.config.jpegQuality, mozjpeg: context.config.mozjpeg });
  const { renditions } = await renderPresets(original.body, [preset], context.config.limits);
  const rendition = renditions[0]!;
  const asset = await putAsset(context, rendition.body, rendition.ext, rendition.contentType);
  await putPointer(context, logicalKey, asset.key);
  const row: CatalogRow = {
    sourceKey: key,
    preset: preset.name,
    logicalKey,
    assetKey: asset.key,
    sha256: asset.sha256,
    sourceSha256: original.sha256,
    width: rendition.width,
    height: rendition.height,
    bytes: rendition.body.byteLength,
    contentType: rendition.contentType,
    sourceBucket: original.bucket,
    sourceEtag: original.etag,
    spec: preset.spec,
    runId: 'on-demand',
    updatedAt: nowIso(context),
  };
  await context.catalog.putRows([row]);
}
