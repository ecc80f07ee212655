/**
 * What a migration will cost and how long it will take, before it starts: every line with the
 * arithmetic that produced it. Pure: prices, timings and the shape of the state machine come in.
 */
import { VARIANT_FORMATS, type VariantFormat } from './layout';
import { AWS_ASSUMPTIONS, PRICES, type Timings } from './prices';
import type { ResolvedPreset } from './presets';

/**
 * What a variant format (issue 18) costs beside the primary JPEG of the same presets, measured by
 * `npm run bench -- --only formats` on ../shared/photos (candidates webp-q80-e4 and avif-q55-e2, the
 * settings of src/core/presets.ts VARIANT_SETTINGS): `bytesOverJpeg` is its bytes over JPEG q82's
 * (ratios.bytesOverJpeg: WebP 0.68x, AVIF 0.45x); `renderTimeAdded` is its encodes over today's whole
 * render of a photo, decode + cuts + JPEG encodes (renderTimeAdded: WebP +1.15x, AVIF +3.1x), i.e.
 * the Resize time it adds. Both are for a format on every preset; a format on some presets costs the
 * share of the output pixels those presets make.
 */
export const VARIANT_COSTS: Readonly<Record<VariantFormat, { setting: string; bytesOverJpeg: number; renderTimeAdded: number }>> = {
  webp: { setting: 'WebP q80 effort 4', bytesOverJpeg: 0.68, renderTimeAdded: 1.15 },
  avif: { setting: 'AVIF q55 effort 2', bytesOverJpeg: 0.45, renderTimeAdded: 3.1 },
};

/** One extra format to price: on how many presets, making what share of the presets' output pixels. */
export interface FormatInput {
  format: VariantFormat;
  presets: number;
  /** 0..1: the pixels of the presets naming it over those of every preset (width x height each). */
  pixelShare: number;
}

export interface EstimateInput {
  photos: number;
  avgMegapixels: number;
  avgMB: number;
  /** Resize Lambda memory (MB); 1769 MB = one full vCPU. */
  memoryMB: number;
  /** Photos processed at once (Distributed Map MaxConcurrency x the batch's inline MaxConcurrency). */
  concurrency: number;
  /** Photos per child execution (ItemBatcher MaxItemsPerBatch). */
  batchSize: number;
  /** Share of photos whose content is a duplicate (no Resize). */
  duplicateShare: number;
  /** Presets (primary renditions; a variant `<preset>.<format>` is priced through `formats`). */
  presets: number;
  dedupeMemoryMB: number;
  /** Extra formats (variants, issue 18): each adds per preset naming it an asset, a pointer and a row, bytes and encode time. */
  formats?: FormatInput[];
}

/** What the extra formats add to the estimate: the same estimate without them, subtracted. */
export interface FormatsCost {
  perFormat: Array<{
    format: VariantFormat;
    setting: string;
    presets: number;
    pixelShare: number;
    /** New content: an asset + a pointer per preset naming it (a duplicate: a pointer). */
    putsPerPhoto: number;
    catalogRowsPerPhoto: number;
    addedResizeMs: number;
    addedStorageGb: number;
    how: string;
  }>;
  addedUsd: number;
  addedStoragePerMonthUsd: number;
  addedWallClockHours: number;
  addedPuts: number;
  addedCatalogRows: number;
}

export interface EstimateLine {
  item: string;
  usd: number;
  how: string;
}

export interface Estimate {
  input: EstimateInput;
  prices: { date: string; region: string };
  timings: string;
  perPhoto: { dedupeMs: number; resizeMs: number };
  lines: EstimateLine[];
  totalUsd: number;
  storagePerMonthUsd: number;
  storageHow: string;
  wallClockHours: number;
  wallClockHow: string;
  /** Present when extra formats are priced: what they add (the last field). */
  formats?: FormatsCost;
}

/**
 * The extra formats to price: those the config names (resolved presets with `variantOf`), each on the
 * presets naming it, and `extra` (estimate --formats) on every preset, as if configured.
 */
export function formatsToPrice(presets: readonly ResolvedPreset[], extra: readonly VariantFormat[] = []): FormatInput[] {
  const primaries = presets.filter((preset) => preset.variantOf === undefined);
  const pixels = (list: readonly ResolvedPreset[]) => list.reduce((sum, preset) => sum + preset.width * preset.height, 0);
  const all = pixels(primaries);
  return VARIANT_FORMATS.flatMap((format): FormatInput[] => {
    if (extra.includes(format)) return [{ format, presets: primaries.length, pixelShare: 1 }];
    const naming = primaries.filter((primary) => presets.some((preset) => preset.variantOf === primary.name && preset.format === format));
    return naming.length > 0 ? [{ format, presets: naming.length, pixelShare: Math.round((pixels(naming) / all) * 1000) / 1000 }] : [];
  });
}

const usd = (value: number) => Math.round(value * 100) / 100;

/**
 * Serving the library through the CDN: what one million cache misses cost at the origin side, for
 * the mechanism this stack deploys (a regional `resolve` function behind a function URL) and for the
 * one it does not (a Lambda@Edge origin-request function that rewrites the URI to the asset, with the
 * bucket as the origin). Hits cost CloudFront alone and are the same for both.
 */
export interface ServingInput {
  /** Average size of an image served (a crop: tens of KB; an original: MB). */
  avgKB: number;
  /** Memory of the resolve function (serverless.yml; it also renders new on-demand sizes). */
  resolveMemoryMB: number;
}

export interface ServingMechanism {
  name: string;
  usdPerMillionMisses: number;
  lines: EstimateLine[];
}

export interface Serving {
  input: ServingInput;
  /** CloudFront itself, per million requests (hits or misses) of that size: the same for both. */
  cdnUsdPerMillionRequests: number;
  cdnHow: string;
  resolver: ServingMechanism;
  lambdaAtEdge: ServingMechanism;
}

export function servingCost(input: ServingInput): Serving {
  const million = 1e6;
  const gb = input.avgKB / 1e6;
  const streamMs = (input.avgKB / 1000 / AWS_ASSUMPTIONS.s3ReadMBps) * 1000;
  const resolveMs = AWS_ASSUMPTIONS.resolveMissMs + streamMs;
  const resolveGbS = (million * resolveMs * input.resolveMemoryMB) / 1024 / 1000;
  const pastSixMb = Math.max(0, input.avgKB / 1000 - 6) / 1000;
  const resolverLines: EstimateLine[] = [
    { item: 'Lambda requests', usd: million * PRICES.lambdaRequest, how: '1 invocation per miss x $0.20/M' },
    { item: 'Lambda compute (arm64)', usd: resolveGbS * PRICES.lambdaArmGbSecond, how: `${n(resolveMs)} ms (pointer + asset, streamed) x ${input.resolveMemoryMB} MB = ${n(resolveGbS)} GB-s x $${PRICES.lambdaArmGbSecond}/GB-s` },
    { item: 'Lambda streaming past 6 MB', usd: million * pastSixMb * PRICES.lambdaStreamedGbPast6Mb, how: `${n(pastSixMb * million)} GB past the first 6 MB of each response x $${PRICES.lambdaStreamedGbPast6Mb}/GB` },
    { item: 'S3 HEAD + GET', usd: 2 * million * PRICES.s3Get, how: 'pointer HEAD + asset GET per miss x $0.0004/1000' },
  ];
  const edgeGbS = (million * AWS_ASSUMPTIONS.edgePointerReadMs * 128) / 1024 / 1000;
  const edgeLines: EstimateLine[] = [
    { item: 'Lambda@Edge requests', usd: million * PRICES.lambdaEdgeRequest, how: '1 origin-request invocation per miss x $0.60/M' },
    { item: 'Lambda@Edge compute', usd: edgeGbS * PRICES.lambdaEdgeGbSecond, how: `${AWS_ASSUMPTIONS.edgePointerReadMs} ms (pointer HEAD across regions) x 128 MB = ${n(edgeGbS)} GB-s x $${PRICES.lambdaEdgeGbSecond}/GB-s` },
    { item: 'S3 HEAD + GET', usd: 2 * million * PRICES.s3Get, how: 'pointer HEAD by the function + asset GET by CloudFront x $0.0004/1000' },
  ];
  const mechanism = (name: string, lines: EstimateLine[]): ServingMechanism => {
    const rounded = lines.map((line) => ({ ...line, usd: usd(line.usd) }));
    return { name, lines: rounded, usdPerMillionMisses: usd(rounded.reduce((sum, line) => sum + line.usd, 0)) };
  };
  const cdn = million * (PRICES.cloudFrontHttpsRequest + PRICES.cloudFrontFunctionInvocation + gb * PRICES.cloudFrontTransferGb);
  return {
    input,
    cdnUsdPerMillionRequests: usd(cdn),
    cdnHow: `$1.00/M HTTPS requests + $0.10/M viewer-request function + ${n(gb * million)} GB out x $${PRICES.cloudFrontTransferGb}/GB`,
    resolver: mechanism('resolve function URL (deployed)', resolverLines),
    lambdaAtEdge: mechanism('Lambda@Edge origin request (not deployed)', edgeLines),
  };
}
const n = (value: number) => value.toLocaleString('en-US', { maximumFractionDigits: 2 });

/**
 * The S3 requests of a migration (the estimate's S3 lines; plan's request rates): per photo a Dedupe
 * GET, per new content a Resize GET (on a first run its pointers need no HEAD: the key's rows, read
 * beside the original, name none of them — library.ts putPointers), PUTs of an asset and a pointer per
 * object of new content, of a pointer per object of a duplicate.
 */
export function s3Requests(input: Pick<EstimateInput, 'photos' | 'duplicateShare' | 'presets' | 'formats'>): { resized: number; objectsPerPhoto: number; gets: number; puts: number } {
  const resized = input.photos * (1 - input.duplicateShare);
  const objectsPerPhoto = input.presets + 1 + (input.formats ?? []).reduce((sum, f) => sum + f.presets, 0);
  const gets = input.photos + resized;
  const puts = resized * objectsPerPhoto * 2 + (input.photos - resized) * objectsPerPhoto;
  return { resized, objectsPerPhoto, gets, puts };
}

export function estimate(input: EstimateInput, timings: Timings): Estimate {
  if (!(input.photos > 0)) throw new Error('photos must be a positive number');
  if (!(input.concurrency > 0)) throw new Error('concurrency must be a positive number');
  const cpuShare = Math.min(1, input.memoryMB / 1769);
  const readMs = (input.avgMB / AWS_ASSUMPTIONS.s3ReadMBps) * 1000;
  const hashMs = (input.avgMB / timings.sha256MBps) * 1000;
  const dedupeMs = AWS_ASSUMPTIONS.dedupeFixedMs + readMs + hashMs;
  const formats = input.formats ?? [];
  const jpegRenderMs = (timings.renderMsPerMegapixel * input.avgMegapixels) / cpuShare;
  const formatRenderMs = formats.map((f) => jpegRenderMs * VARIANT_COSTS[f.format].renderTimeAdded * f.pixelShare);
  const renderMs = jpegRenderMs + formatRenderMs.reduce((sum, ms) => sum + ms, 0);
  const resizeMs = AWS_ASSUMPTIONS.resizeFixedMs + readMs + hashMs + renderMs;
  const { resized, objectsPerPhoto, gets, puts } = s3Requests(input);
  const batches = Math.ceil(input.photos / input.batchSize);

  const dedupeGbS = (input.photos * dedupeMs * input.dedupeMemoryMB) / 1024 / 1000;
  const resizeGbS = (resized * resizeMs * input.memoryMB) / 1024 / 1000;
  // FindUnchanged: one invocation and one BatchGetItem per batch (statemachines/migrate.asl.yaml).
  const invocations = input.photos + resized + batches;
  const expressGbS = (batches * ((dedupeMs + resizeMs) * input.batchSize) * AWS_ASSUMPTIONS.expressMemoryGb) / 1000;
  const transitions = batches + 4;
  const writeUnits = resized * (objectsPerPhoto + 3) + (input.photos - resized) * (objectsPerPhoto + 1);
  // BatchGetItem reads each item as its own GetItem, a strongly consistent one of up to 4 KB for 1 RRU
  // (DynamoDB Developer Guide, "DynamoDB read and write operations"); counted for every row FindUnchanged
  // asks (each photo's ORIGINAL and crop rows), found or not: an upper bound on a first run.
  // Resize reads the key's rows once (one strongly consistent Query of a few KB: 1 RRU), after its write
  // (stale on-demand sizes); on a first run not before it too (Dedupe found none; src/core/resize.ts).
  const readUnits = input.photos * 3 + input.photos * objectsPerPhoto + resized;
  const jpegCropBytes = timings.cropBytesPerMegapixel * input.avgMegapixels;
  const formatCropBytes = formats.map((f) => jpegCropBytes * VARIANT_COSTS[f.format].bytesOverJpeg * f.pixelShare);
  const cropBytes = jpegCropBytes + formatCropBytes.reduce((sum, bytes) => sum + bytes, 0);
  const storedGb = (resized * (input.avgMB * 1e6 + cropBytes)) / 1e9;

  const lines: EstimateLine[] = [
    { item: 'Lambda compute (arm64)', usd: (dedupeGbS + resizeGbS) * PRICES.lambdaArmGbSecond, how: `Dedupe ${n(input.photos)} x ${n(dedupeMs)} ms x ${input.dedupeMemoryMB} MB = ${n(dedupeGbS)} GB-s; Resize ${n(resized)} x ${n(resizeMs)} ms x ${input.memoryMB} MB = ${n(resizeGbS)} GB-s; x $${PRICES.lambdaArmGbSecond}/GB-s` },
    { item: 'Lambda requests', usd: invocations * PRICES.lambdaRequest, how: `${n(invocations)} invocations (FindUnchanged per batch + Dedupe per photo + Resize per new content) x $0.20/M` },
    { item: 'Step Functions Standard (parent)', usd: transitions * PRICES.stepFunctionsStandardTransition, how: `~${n(transitions)} state transitions (one per child execution started + the run's own) x $0.025/1000` },
    { item: 'Step Functions Express (children)', usd: batches * PRICES.stepFunctionsExpressRequest + expressGbS * PRICES.stepFunctionsExpressGbSecond, how: `${n(batches)} child executions of ${input.batchSize} photos x $1/M + ${n(expressGbS)} GB-s (64 MB billed) x $${PRICES.stepFunctionsExpressGbSecond}` },
    { item: 'S3 GET/HEAD', usd: gets * PRICES.s3Get, how: `${n(gets)} requests: 1 GET per photo (Dedupe) + 1 GET per new content (Resize; assets are conditional PUTs; a first run's pointers need no HEAD) x $0.0004/1000` },
    { item: 'S3 PUT (assets + pointers)', usd: puts * PRICES.s3Put, how: `${n(puts)} PUTs: ${objectsPerPhoto} assets + ${objectsPerPhoto} pointers per new content, ${objectsPerPhoto} pointers per duplicate x $0.005/1000` },
    { item: 'DynamoDB writes', usd: writeUnits * PRICES.dynamoWriteRequestUnit, how: `${n(writeUnits)} WRU: ${objectsPerPhoto} catalog rows + failure-row delete + claim + release per photo x $0.625/M` },
    { item: 'DynamoDB reads', usd: readUnits * PRICES.dynamoReadRequestUnit, how: `${n(readUnits)} RRU: ${objectsPerPhoto} rows read by FindUnchanged + key query, hash index query, twin lookup per photo + Resize's key query per new content x $0.125/M` },
  ].map((line) => ({ ...line, usd: usd(line.usd) }));
  const totalUsd = usd(lines.reduce((sum, line) => sum + line.usd, 0));
  const storagePerMonthUsd = usd(storedGb * PRICES.s3StandardGbMonth);
  const wallClockHours = (input.photos * dedupeMs + resized * resizeMs) / input.concurrency / 3_600_000;
  const withoutFormats = formats.length > 0 ? estimate({ ...input, formats: [] }, timings) : undefined;
  const formatsCost: FormatsCost | undefined = withoutFormats && {
    perFormat: formats.map((f, index) => ({
      format: f.format,
      setting: VARIANT_COSTS[f.format].setting,
      presets: f.presets,
      pixelShare: f.pixelShare,
      putsPerPhoto: 2 * f.presets,
      catalogRowsPerPhoto: f.presets,
      addedResizeMs: Math.round(formatRenderMs[index]!),
      addedStorageGb: Math.round((resized * formatCropBytes[index]!) / 1e7) / 100,
      how: `${VARIANT_COSTS[f.format].setting} on ${f.presets} preset(s), ${Math.round(f.pixelShare * 100)} % of the crop pixels: +${2 * f.presets} PUTs (asset + pointer each) and +${f.presets} catalog rows per photo; +${VARIANT_COSTS[f.format].renderTimeAdded}x the render (${n(formatRenderMs[index]!)} ms); ${VARIANT_COSTS[f.format].bytesOverJpeg}x the JPEG crops' bytes (npm run bench -- --only formats)`,
    })),
    addedUsd: 0,
    addedStoragePerMonthUsd: 0,
    addedWallClockHours: 0,
    addedPuts: 0,
    addedCatalogRows: 0,
  };
  const result: Estimate = {
    input,
    prices: { date: PRICES.date, region: PRICES.region },
    timings: timings.source,
    perPhoto: { dedupeMs: Math.round(dedupeMs), resizeMs: Math.round(resizeMs) },
    lines,
    totalUsd,
    storagePerMonthUsd,
    storageHow: `${n(storedGb)} GB (a content-addressed copy of each distinct original, ${n(input.avgMB)} MB, + its crops, ${n(cropBytes / 1e6)} MB${formats.length > 0 ? `, ${n(formatCropBytes.reduce((sum, bytes) => sum + bytes, 0) / 1e6)} MB of them ${formats.map((f) => f.format).join(' + ')}` : ''}) x $${PRICES.s3StandardGbMonth}/GB-month`,
    wallClockHours: Math.round(wallClockHours * 100) / 100,
    wallClockHow: `(${n(input.photos)} x ${n(dedupeMs)} ms + ${n(resized)} x ${n(resizeMs)} ms) / ${input.concurrency} photos at once`,
  };
  if (!withoutFormats || !formatsCost) return result;
  const variantsPerPhoto = formats.reduce((sum, f) => sum + f.presets, 0);
  return {
    ...result,
    formats: {
      ...formatsCost,
      addedUsd: usd(result.totalUsd - withoutFormats.totalUsd),
      addedStoragePerMonthUsd: usd(result.storagePerMonthUsd - withoutFormats.storagePerMonthUsd),
      addedWallClockHours: Math.round((result.wallClockHours - withoutFormats.wallClockHours) * 100) / 100,
      addedPuts: Math.round(resized * 2 * variantsPerPhoto + (input.photos - resized) * variantsPerPhoto),
      addedCatalogRows: input.photos * variantsPerPhoto,
    },
  };
}
