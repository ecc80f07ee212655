/**
 * AWS list prices used by `photo-scaler estimate`: us-east-1, on-demand, no free tier, as published
 * on the services' pricing pages on 2026-11-24. Check them before you rely on a figure.
 */
export const PRICES = {
  date: '2026-11-24',
  region: 'us-east-1',
  lambdaArmGbSecond: 0.0000133334,
  lambdaRequest: 0.2 / 1e6,
  stepFunctionsStandardTransition: 0.025 / 1000,
  stepFunctionsExpressRequest: 1.0 / 1e6,
  stepFunctionsExpressGbSecond: 0.00001667,
  s3Put: 0.005 / 1000,
  s3Get: 0.0004 / 1000,
  s3StandardGbMonth: 0.023,
  dynamoWriteRequestUnit: 0.625 / 1e6,
  dynamoReadRequestUnit: 0.125 / 1e6,
  /** Lambda response streaming: bytes past the first 6 MB of each response. */
  lambdaStreamedGbPast6Mb: 0.008,
  /** Lambda@Edge (CloudFront pricing page): per request, and per GB-second (1 ms granularity). */
  lambdaEdgeRequest: 0.6 / 1e6,
  lambdaEdgeGbSecond: 0.00005001,
  /** CloudFront, North America and Europe: HTTPS requests, and data transfer out (first 10 TB a month). */
  cloudFrontHttpsRequest: 0.01 / 10_000,
  /** CloudFront Functions: per invocation (the viewer-request function runs on every logical URL). */
  cloudFrontFunctionInvocation: 0.1 / 1e6,
  cloudFrontTransferGb: 0.085,
} as const;

/**
 * Per-photo costs in time, from `npm run bench` (it writes them to <data dir>/bench-timings.json).
 * These defaults are the figures of one run on ../shared/photos (19 real photos, 6.6 MP on average,
 * 2-core AMD EPYC; sharp 0.35.5 / libvips 8.18.7), one vCPU per photo as Lambda gives 1769 MB.
 */
export interface Timings {
  source: string;
  /** Render core time per megapixel on one core (decode once + every preset + encode). */
  renderMsPerMegapixel: number;
  /** sha-256 throughput. */
  sha256MBps: number;
  /** Output bytes of all presets together, per megapixel of original. */
  cropBytesPerMegapixel: number;
}

export const DEFAULT_TIMINGS: Timings = {
  source: 'defaults from npm run bench -- --photos ../shared/photos (2026-11-24)',
  renderMsPerMegapixel: 18.56,
  sha256MBps: 1550,
  cropBytesPerMegapixel: 19_053,
};

/** Assumptions that no local benchmark can measure (network round trips to S3 and DynamoDB from Lambda). */
export const AWS_ASSUMPTIONS = {
  /** S3 GET throughput into one Lambda. */
  s3ReadMBps: 90,
  /** Fixed time per Dedupe invocation: catalog query, GSI query, claim (ms). */
  dedupeFixedMs: 40,
  /** Fixed time per Resize invocation: parallel HEAD+PUT of assets and pointers, one BatchWriteItem (ms). */
  resizeFixedMs: 120,
  /** Express child workflow memory that Step Functions bills (64 MB increments). */
  expressMemoryGb: 0.0625,
  /** A CDN miss at the resolver, in its region: pointer HEAD + asset GET to first byte (ms), plus streaming. */
  resolveMissMs: 40,
  /** The same pointer read from a Lambda@Edge function, across regions from the edge to the bucket (ms). */
  edgePointerReadMs: 90,
} as const;
