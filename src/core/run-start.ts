/**
 * Starting a run on an S3 Inventory report, the same from `photo-scaler start` and from the starter
 * Lambda (auto-start when S3 Inventory writes manifest.checksum). The report is checked first —
 * manifest.json against manifest.checksum, the source bucket it was taken of, every listed data file
 * present with its listed size — so a bad report is refused before anything runs. The execution is
 * named after the report, so the same report never starts two runs: a second start (a duplicate S3
 * event, a retried Lambda, the CLI after auto-start) finds the first one.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from './errors';
import type { InventoryManifest, ManifestRef } from './inventory/manifest';
import { checksumKeyOf, type ReadManifestOptions, readManifest } from './inventory/read';
import type { ObjectStore } from './ports';

/** The execution input statemachines/migrate.asl.yaml expects. */
/** An inventory run's input (migrate.asl.yaml), or a sources run's (migrate-sources.asl.yaml, issue 20). */
export type RunInput = { manifest: ManifestRef } | { sources: ManifestRef };

export interface StartedExecution {
  executionArn: string;
  /** True when an execution of this name already existed (this start changed nothing). */
  alreadyStarted: boolean;
}

/** Starts the migrate state machine: Step Functions on AWS, the local executor in tests. */
export interface RunStarter {
  start(name: string, input: RunInput): Promise<StartedExecution>;
}

/** Refuse a report of another bucket than expectedSourceBucket; with requireChecksum, one not complete yet. */
export type CheckReportOptions = ReadManifestOptions;

export interface CheckedReport {
  manifest: InventoryManifest;
  dataFiles: number;
  dataBytes: number;
}

/** Everything about a report that can be known without reading its rows; throws ConfigError naming what is wrong. */
export async function checkReport(store: ObjectStore, ref: ManifestRef, options: CheckReportOptions = {}): Promise<CheckedReport> {
  const at = `s3://${ref.bucket}/${ref.key}`;
  checksumKeyOf(ref.key); // refuses a key that is not a manifest.json
  const manifest = await readManifest(store, ref, options);
  let dataBytes = 0;
  for (const file of manifest.files) {
    const head = await store.head({ bucket: ref.bucket, key: file.key });
    if (!head) throw new ConfigError(`${at} lists s3://${ref.bucket}/${file.key}, which does not exist`);
    if (head.size !== file.size) throw new ConfigError(`${at} lists ${file.key} as ${file.size} bytes; it is ${head.size}`);
    dataBytes += head.size;
  }
  return { manifest, dataFiles: manifest.files.length, dataBytes };
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
