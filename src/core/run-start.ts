/**
 * Starting a run on an S3 Inventory report, the same from `photo-scaler start` and from the starter
 * Lambda (auto-start when S3 Inventory writes manifest.checksum). The report is checked first —
 * manifest.json against manifest.checksum, the source bucket it was taken of, every listed data file
 * present with its listed size — so a bad report is refused before anything runs. The execution is
 * named after the report, so the same report never starts two runs: a second start (a duplicate S3
 * event, a retried Lambda, the CLI after auto-start) finds the first one.
 */
import { createHash } from 'node:crypto';
import { ConfigError, NotFoundError } from './errors';
import { type InventoryManifest, type ManifestRef, parseManifest } from './inventory';
import type { ObjectStore } from './ports';

/** The execution input statemachines/migrate.asl.yaml expects. */
export interface RunInput {
  manifest: ManifestRef;
}

export interface StartedExecution {
  executionArn: string;
  /** True when an execution of this name already existed (this start changed nothing). */
  alreadyStarted: boolean;
}

/** Starts the migrate state machine: Step Functions on AWS, the local executor in tests. */
export interface RunStarter {
  start(name: string, input: RunInput): Promise<StartedExecution>;
}

export interface CheckReportOptions {
  /** Refuse a report taken of another bucket than this one. */
  expectedSourceBucket?: string;
  /** Refuse a report without manifest.checksum (S3 writes it last: without it the report is incomplete). */
  requireChecksum?: boolean;
}

export interface CheckedReport {
  manifest: InventoryManifest;
  dataFiles: number;
  dataBytes: number;
}

const MANIFEST = /manifest\.json$/;

/** The manifest.checksum beside a manifest.json. */
export function checksumKeyOf(manifestKey: string): string {
  if (!MANIFEST.test(manifestKey)) throw new ConfigError(`not a manifest.json: ${manifestKey}`);
  return manifestKey.replace(MANIFEST, 'manifest.checksum');
}

/** Everything about a report that can be known without reading its rows; throws ConfigError naming what is wrong. */
export async function checkReport(store: ObjectStore, ref: ManifestRef, options: CheckReportOptions = {}): Promise<CheckedReport> {
  const at = `s3://${ref.bucket}/${ref.key}`;
  const checksumKey = checksumKeyOf(ref.key);
  const manifestBody = await readOrRefuse(store, ref, `${at} cannot be read`);
  const checksumHead = await store.head({ bucket: ref.bucket, key: checksumKey });
  if (!checksumHead && options.requireChecksum) {
    throw new ConfigError(`s3://${ref.bucket}/${checksumKey} is missing: S3 Inventory writes it last, so the report is not complete yet`);
  }
  const checksum = checksumHead ? Buffer.from(await readOrRefuse(store, { bucket: ref.bucket, key: checksumKey }, 'manifest.checksum cannot be read')).toString('utf8') : undefined;
  let manifest: InventoryManifest;
  try {
    manifest = parseManifest(manifestBody, { checksum, expectedSourceBucket: options.expectedSourceBucket });
  } catch (error) {
    throw new ConfigError(`${at}: ${(error as Error).message}`);
  }
  let dataBytes = 0;
  for (const file of manifest.files) {
    const head = await store.head({ bucket: ref.bucket, key: file.key });
    if (!head) throw new ConfigError(`${at} lists s3://${ref.bucket}/${file.key}, which does not exist`);
    if (head.size !== file.size) throw new ConfigError(`${at} lists ${file.key} as ${file.size} bytes; it is ${head.size}`);
    dataBytes += head.size;
  }
  return { manifest, dataFiles: manifest.files.length, dataBytes };
}

async function readOrRefuse(store: ObjectStore, ref: ManifestRef, what: string): Promise<Uint8Array> {
  try {
    return (await store.get(ref)).body;
  } catch (error) {
    if (error instanceof NotFoundError) throw new ConfigError(`${what}: no such object`);
    throw error;
  }
}

/**
 * A Step Functions execution name for a report: readable (the report's delivery time when its key
 * has one) and unique per report (a hash of bucket and key). At most 80 characters of [A-Za-z0-9-_].
 */
export function executionNameFor(ref: ManifestRef): string {
  const hash = createHash('sha256').update(`${ref.bucket}/${ref.key}`).digest('hex').slice(0, 16);
  const delivery = /(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}Z)\/manifest\.json$/.exec(ref.key)?.[1];
  return delivery ? `inventory-${delivery}-${hash}` : `inventory-${hash}`;
}

export interface StartRunOptions extends CheckReportOptions {
  /** Execution name; by default executionNameFor(manifest). */
  name?: string;
}

export interface StartRunResult extends StartedExecution {
  name: string;
  manifest: ManifestRef;
  report: CheckedReport;
}

/** Checks the report, then starts (or finds) its execution. */
export async function startRun(store: ObjectStore, starter: RunStarter, manifest: ManifestRef, options: StartRunOptions = {}): Promise<StartRunResult> {
  const report = await checkReport(store, manifest, options);
  const name = options.name ?? executionNameFor(manifest);
  const started = await starter.start(name, { manifest: { bucket: manifest.bucket, key: manifest.key } });
  return { ...started, name, manifest, report };
}
