/**
 * Step 2 of a photo (the Resize Lambda): decode once, render every preset, then store — assets
 * first, then pointers, then the catalog rows in one batch — so a row never names an asset that
 * is not there yet. A failure before the rows leaves only content-addressed assets, which a retry
 * finds and does not write again.
 */
import { type StepContext, nowIso } from './context';
import { type ItemEvent, type ItemOutcome, variantsWritten } from './item';
import { cropKey } from './keys';
import { putAsset, putPointers, sha256Hex } from './library';
import { type CatalogRow, ORIGINAL } from './ports';
import { renderPresets } from './render';
import { dropStaleSizes } from './stale-sizes';
import { derivedPrefixOf, readOriginal, sourceOf } from './source';

export async function resize(context: StepContext, event: ItemEvent): Promise<ItemOutcome> {
  const source = sourceOf(event.item, context.presets.map((preset) => preset.name), derivedPrefixOf(context));
  // The key's rows as they are before this write, read beside the original: the pointers no row names
  // with their asset (all of them, on a photo's first run) are written without a HEAD (putPointers).
  // On a first run Dedupe has just found none (`recordedRows: 0`): not asked again, unless this attempt
  // finds the original stored already (below). A row written meanwhile by another run of the key costs
  // at most its pointers written again, to the right targets.
  const firstRun = event.outcome?.recordedRows === 0;
  const [original, rowsBefore] = await Promise.all([readOriginal(context, source), firstRun ? undefined : context.catalog.rowsForKey(source.key)]);
  const sha256 = sha256Hex(original.body);
  const { source: info, renditions } = await renderPresets(original.body, context.presets, context.config.limits);
  context.afterRender?.();

  const [originalAsset, ...cropAssets] = await Promise.all([
    putAsset(context, original.body, original.type.ext, original.type.contentType, sha256),
    ...renditions.map((rendition) => putAsset(context, rendition.body, rendition.ext, rendition.contentType)),
  ]);

  // A first run that found its original stored already (a retry, a redrive after some writes, content
  // another key stored) reads the key's rows after all.
  const recorded = rowsBefore ?? (originalAsset!.written ? [] : await context.catalog.rowsForKey(source.key));

  const common = { sourceKey: source.key, sourceBucket: source.bucket, sourceEtag: original.etag, sourceSha256: sha256, runId: event.runId, updatedAt: nowIso(context) };
  const rows: CatalogRow[] = [
    {
      ...common,
      preset: ORIGINAL,
      logicalKey: source.key,
      assetKey: originalAsset!.key,
      sha256,
      width: info.width,
      height: info.height,
      bytes: original.body.byteLength,
      contentType: original.type.contentType,
      spec: ORIGINAL,
    },
    ...renditions.map((rendition, index) => ({
      ...common,
      preset: rendition.preset.name,
      logicalKey: cropKey(rendition.preset.name, source.key),
      assetKey: cropAssets[index]!.key,
      sha256: cropAssets[index]!.sha256,
      width: rendition.width,
      height: rendition.height,
      bytes: rendition.body.byteLength,
      contentType: rendition.contentType,
      spec: rendition.preset.spec,
    })),
  ];

  const pointers = await putPointers(context, rows, recorded);
  // One BatchWriteItem: every row, the failure row's delete and the content claim's release.
  const claims = [sha256, ...(event.outcome?.sha256 && event.outcome.sha256 !== sha256 ? [event.outcome.sha256] : [])];
  await context.catalog.putRows(rows, { replaceFailure: true, releaseClaims: claims });
  // The key's on-demand sizes made from its previous content go (they are rendered anew on request),
  // read after the write, even on a first run: another run of the key may have written its content's
  // rows since Dedupe looked, and a size made from them meanwhile.
  await dropStaleSizes(context, source.key);
  const written = [originalAsset!, ...cropAssets].filter((asset) => asset.written);
  return {
    key: source.key,
    status: 'resized',
    sha256,
    written: { assets: written.length, pointers, catalogRows: rows.length, ...variantsWritten(rows, context.presets) },
    bytesIn: original.body.byteLength,
    bytesOut: written.reduce((sum, asset) => sum + asset.bytes, 0),
    crops: renditions.length,
  };
}
