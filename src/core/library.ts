/**
 * Writes to the library bucket, each idempotent and each reporting whether it wrote:
 * an asset is immutable (same key = same bytes), so an existing one is never rewritten; a pointer
 * is rewritten only when it points elsewhere. A rerun therefore writes nothing.
 */
import { createHash } from 'node:crypto';
import type { StepContext } from './context';
import { assetKey, pointerTarget } from './keys';

export const ASSET_CACHE_CONTROL = 'public, max-age=31536000, immutable';
/** Pointers may be re-pointed (a changed original, a changed preset): keep them short-lived in caches. */
export const POINTER_CACHE_CONTROL = 'public, max-age=300';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface StoredAsset {
  key: string;
  sha256: string;
  bytes: number;
  written: boolean;
}

/**
 * One conditional PUT (`If-None-Match: *`): the same key always holds the same bytes, so an asset
 * that is already there is never rewritten, and no HEAD is needed first.
 */
export async function putAsset(context: StepContext, body: Uint8Array, ext: string, contentType: string, sha256 = sha256Hex(body)): Promise<StoredAsset> {
  const ref = { bucket: context.libraryBucket, key: assetKey(sha256, ext) };
  const written = await context.store.put(ref, body, { contentType, cacheControl: ASSET_CACHE_CONTROL, metadata: { sha256 }, ifAbsent: true });
  return { key: ref.key, sha256, bytes: body.byteLength, written };
}

/**
 * Writes the 0-byte pointer at `logicalKey` unless it already points at `target`. True when written.
 * `readFirst: false`: written at once, without the HEAD (the caller knows no pointer to keep is there).
 */
export async function putPointer(context: StepContext, logicalKey: string, target: string, readFirst = true): Promise<boolean> {
  const ref = { bucket: context.libraryBucket, key: logicalKey };
  const location = pointerTarget(target);
  if (readFirst) {
    const existing = await context.store.head(ref);
    if (existing?.redirectLocation === location && existing.size === 0) return false;
  }
  return context.store.put(ref, new Uint8Array(0), { redirectLocation: location, cacheControl: POINTER_CACHE_CONTROL });
}

/**
 * Writes every pointer in parallel; returns how many were written. `recorded`: the key's catalog rows
 * as read before this write (Resize reads them beside the original). A pointer no recorded row names
 * with this asset — every pointer of a photo's first run — is written at once, without a HEAD: the
 * write puts the right target whatever was there. One a row names with this asset is read first and
 * written only when it points elsewhere, as without `recorded`: a row does not prove its pointer (an
 * attempt for other content may have re-pointed it and died before its rows; a removal may have died
 * between the pointers and the rows).
 */
export async function putPointers(
  context: StepContext,
  pointers: ReadonlyArray<{ logicalKey: string; assetKey: string }>,
  recorded?: ReadonlyArray<{ logicalKey: string; assetKey: string }>,
): Promise<number> {
  const named = (pointer: { logicalKey: string; assetKey: string }) => recorded?.some((row) => row.logicalKey === pointer.logicalKey && row.assetKey === pointer.assetKey);
  const written = await Promise.all(pointers.map((pointer) => putPointer(context, pointer.logicalKey, pointer.assetKey, !recorded || named(pointer))));
  return written.filter(Boolean).length;
}
