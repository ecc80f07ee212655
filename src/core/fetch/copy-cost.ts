/**
 * What a sources run's copy phase costs on AWS (plan --sources): the Fetch Lambda (one invocation a
 * row, its duration at an assumed origin throughput), the PUTs into the source bucket (one PutObject
 * up to a part, else a multipart upload: create, one UploadPart a part, complete) and one HEAD a row
 * (is the object there already). Egress from the origin is billed by the origin (Azure, another cloud,
 * the old server's host), not by AWS — named, never priced here. Data transfer into S3 from the
 * internet is free (Amazon S3 pricing, "Data transfer IN to Amazon S3 from the internet: $0.00").
 */
import { PRICES } from '../prices';
import { DEFAULT_FETCH_OPTIONS } from './fetch';

/** Assumed throughput of one fetch from an origin outside AWS (an Azure Blob or an old server). */
export const ORIGIN_MBPS = 20;
/** Fixed time per Fetch invocation: connect, TLS, HEAD of the source bucket, PUT (ms). */
export const FETCH_FIXED_MS = 150;
/** serverless.yml `fetch.memorySize`. */
export const FETCH_MEMORY_MB = 256;
/** The part size Fetch uploads in (one PutObject up to it, a multipart upload above). */
const PART_BYTES = DEFAULT_FETCH_OPTIONS.partBytes;

export interface CopyCostLine {
  item: string;
  usd: number;
  how: string;
}

export interface CopyCost {
  rows: number;
  bytes: number;
  lines: CopyCostLine[];
  totalUsd: number;
  /** Copy time at `concurrency` fetches at once (the state machine's, or fetchConcurrency if lower). */
  wallClockHours: number;
  egress: string;
}

const usd = (value: number) => Math.round(value * 100) / 100;
const n = (value: number) => Math.round(value).toLocaleString('en-US');

/** The copy's totals as the plan streamed them: rows, bytes, PUT requests and parts among them. */
export function copyCost(totals: { rows: number; bytes: number; requests: number; parts: number }, concurrency: number): CopyCost {
  const { rows, bytes, requests, parts } = totals;
  const fetchMs = rows * FETCH_FIXED_MS + (bytes / 1e6 / ORIGIN_MBPS) * 1000;
  const gbS = (fetchMs / 1000) * (FETCH_MEMORY_MB / 1024);
  const lines: CopyCostLine[] = [
    { item: 'Fetch Lambda compute (arm64)', usd: gbS * PRICES.lambdaArmGbSecond, how: `${n(rows)} fetches, ${FETCH_FIXED_MS} ms each + ${(bytes / 1e9).toFixed(2)} GB at an assumed ${ORIGIN_MBPS} MB/s from the origin, x ${FETCH_MEMORY_MB} MB = ${n(gbS)} GB-s x $${PRICES.lambdaArmGbSecond}/GB-s` },
    { item: 'Fetch Lambda requests', usd: rows * PRICES.lambdaRequest, how: `${n(rows)} invocations x $0.20/M` },
    { item: 'S3 PUT (originals)', usd: requests * PRICES.s3Put, how: `${n(requests)} requests: a PutObject for an original up to ${PART_BYTES / 1024 / 1024} MiB, else create + ${n(parts)} UploadPart in all + complete x $0.005/1000` },
    { item: 'S3 HEAD (already there?)', usd: rows * PRICES.s3Get, how: `${n(rows)} HEADs x $0.0004/1000` },
  ].map((line) => ({ ...line, usd: usd(line.usd) }));
  return {
    rows,
    bytes,
    lines,
    totalUsd: usd(lines.reduce((sum, line) => sum + line.usd, 0)),
    wallClockHours: Math.round((fetchMs / Math.max(1, concurrency) / 3_600_000) * 100) / 100,
    egress: 'Egress from the origin (Azure Blob, another cloud, your server\'s host) is billed by the origin, not priced here; transfer into S3 is free.',
  };
}

/** The PUT requests one original of `size` bytes takes (PutObject, or create + parts + complete). */
export function putRequestsFor(size: number): { requests: number; parts: number } {
  if (size <= PART_BYTES) return { requests: 1, parts: 0 };
  const parts = Math.ceil(size / PART_BYTES);
  return { requests: parts + 2, parts };
}
