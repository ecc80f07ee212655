/**
 * `photo-scaler run`, locally: upload a folder to the emulated source bucket, write a genuine S3
 * Inventory report for it, run statemachines/migrate.asl.yaml on it with the real handlers, and sum
 * up what the ResultWriter wrote.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { config as defaultConfig } from '../config';
import { ConfigError } from '../core/errors';
import { buildInventoryReport, type InventoryObject, type ManifestRef } from '../core/inventory';
import { type PhotoScalerConfig, validateConfig } from '../core/presets';
import { checkReport } from '../core/run-start';
import { type ResultWriterDetails, type RunSummary, readRunOutcomes, summarize } from '../core/run-results';
import { loadDefinition, startExecution } from './asl';
import { listPhotos, uploadPhotos } from './photos';
import type { FaultKind, FaultRates } from './faults';
import { LOCAL_NAMES, type LocalStack, openLocalStack } from './stack';

export const STATE_MACHINE_FILE = fileURLToPath(new URL('../../statemachines/migrate.asl.yaml', import.meta.url));
export const INVENTORY_PREFIX = 'inventory';
/** Written under the data dir after each run: what verify and redrive look at. */
export const LAST_RUN_FILE = 'last-run.json';

export type { ManifestRef } from '../core/inventory';

export type Progress =
  | { phase: 'upload'; done: number; total: number }
  | { phase: 'process'; done: number; total: number; failed: number }
  | { phase: 'retry'; state: string; error: string; attempt: number };

export interface LocalRunOptions {
  photosDir: string;
  dataDir: string;
  config?: PhotoScalerConfig;
  onProgress?: (progress: Progress) => void;
  /** Scales every Retry wait of the state machine (tests use a small value). */
  timeScale?: number;
  /** Reuse an open stack (tests, `serve`); otherwise one is opened and closed. */
  stack?: LocalStack;
  /** Fault injection for a stack this run opens. */
  faults?: FaultRates;
}

export interface LocalRunResult {
  summary: RunSummary;
  executionName: string;
  status: 'SUCCEEDED' | 'FAILED';
  error?: string;
  /** The whole run: upload, inventory report, execution, summary. */
  seconds: number;
  /** The state machine execution alone (what a run on AWS, where the photos already are in S3, takes). */
  executionSeconds: number;
  resultWriter?: ResultWriterDetails;
  /** Retries the state machine made (after the SDK's own retries gave up). */
  retries: number;
  /** Retries the AWS SDK made inside the handlers, the ItemReader and the ResultWriter. */
  sdkRetries: number;
  /** Faults injected into this run, when injection is on. */
  injected?: Record<FaultKind, number>;
  /** Where the run's inventory report is (for verify and redrive). */
  manifest: ManifestRef;
}

export async function runLocalMigration(options: LocalRunOptions): Promise<LocalRunResult> {
  const config = options.config ?? defaultConfig;
  validateConfig(config);
  const photos = await listPhotos(options.photosDir);
  if (photos.length === 0) throw new ConfigError(`no images (jpg, png, gif, webp, tiff, avif, heic) found in ${options.photosDir}`);
  const stack = options.stack ?? (await openLocalStack(options.dataDir, { config, faults: options.faults }));
  const progress = options.onProgress ?? (() => {});
  try {
    const started = performance.now();
    const objects = await uploadPhotos(stack.store, LOCAL_NAMES.sourceBucket, photos, (done) => progress({ phase: 'upload', done, total: photos.length }));
    const manifest = await writeInventoryReport(stack, INVENTORY_PREFIX, objects);
    return await executeMigration(stack, manifest, options, started);
  } finally {
    if (!options.stack) await stack.close();
  }
}

/** A genuine S3 Inventory report of `objects` in the emulated inventory bucket; returns its manifest. */
export async function writeInventoryReport(stack: LocalStack, prefix: string, objects: readonly InventoryObject[]): Promise<ManifestRef> {
  // S3 Inventory stamps reports by the minute; two local runs in one minute must not overwrite each
  // other's manifest (verify and redrive read it later), so a taken minute moves the stamp on.
  let now = Date.now();
  let report = buildInventoryReport({ sourceBucket: LOCAL_NAMES.sourceBucket, destinationBucket: LOCAL_NAMES.inventoryBucket, prefix, objects, now: new Date(now) });
  while (await stack.store.head({ bucket: LOCAL_NAMES.inventoryBucket, key: report.manifestKey })) {
    now += 60_000;
    report = buildInventoryReport({ sourceBucket: LOCAL_NAMES.sourceBucket, destinationBucket: LOCAL_NAMES.inventoryBucket, prefix, objects, now: new Date(now) });
  }
  for (const file of report.files) {
    await stack.store.put({ bucket: LOCAL_NAMES.inventoryBucket, key: file.key }, file.body, { contentType: file.key.endsWith('.gz') ? 'application/gzip' : 'application/json' });
  }
  return { bucket: LOCAL_NAMES.inventoryBucket, key: report.manifestKey };
}

/** Runs statemachines/migrate.asl.yaml on an inventory report, sums up its results and remembers the run. */
export async function executeMigration(
  stack: LocalStack,
  manifest: ManifestRef,
  options: Pick<LocalRunOptions, 'onProgress' | 'timeScale'> & { name?: string } = {},
  started = performance.now(),
): Promise<LocalRunResult> {
  const progress = options.onProgress ?? (() => {});
  // As `start` and the auto-start Lambda do: a report the state machine cannot run (no Size or ETag,
  // every version listed, another bucket's) is refused before anything starts.
  await checkReport(stack.store, manifest, { expectedSourceBucket: LOCAL_NAMES.sourceBucket });
  const definition = await loadDefinition(STATE_MACHINE_FILE);
  const executionName = options.name ?? `run-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomBytes(3).toString('hex')}`;
  let total = 0;
  let done = 0;
  let failed = 0;
  let retries = 0;
  const injectedBefore = { ...stack.faults.injected };
  const sdkRetriesBefore = stack.sdkRetries();
  const executionStarted = performance.now();
  const execution = await startExecution({
    definition,
    name: executionName,
    input: { manifest },
    tasks: stack.tasks as unknown as Record<string, (event: unknown) => Promise<unknown>>,
    intrinsics: { LibraryBucket: LOCAL_NAMES.libraryBucket },
    store: stack.store,
    timeScale: options.timeScale,
    onEvent: (event) => {
      if (event.type === 'mapRunStarted') total = event.totalItems;
      else if (event.type === 'childSucceeded' || event.type === 'childFailed') {
        done += event.items;
        if (event.type === 'childFailed') failed += event.items;
      } else if (event.type === 'retry') {
        retries++;
        progress({ phase: 'retry', state: event.state, error: event.error, attempt: event.attempt });
        return;
      } else return;
      progress({ phase: 'process', done, total, failed });
    },
  });
  const executionSeconds = (performance.now() - executionStarted) / 1000;
  const resultWriter = (execution.output as { ResultWriterDetails?: ResultWriterDetails } | undefined)?.ResultWriterDetails;
  const outcomes = resultWriter ? await readRunOutcomes(stack.store, resultWriter) : [];
  const result: LocalRunResult = {
    summary: summarize(outcomes),
    executionName,
    status: execution.status,
    error: execution.status === 'FAILED' ? `${execution.error ?? 'Error'}: ${execution.cause ?? ''}` : undefined,
    seconds: (performance.now() - started) / 1000,
    executionSeconds,
    resultWriter,
    retries,
    sdkRetries: stack.sdkRetries() - sdkRetriesBefore,
    injected: stack.faults.active ? (Object.fromEntries(Object.entries(stack.faults.injected).map(([k, v]) => [k, v - injectedBefore[k as FaultKind]])) as Record<FaultKind, number>) : undefined,
    manifest,
  };
  const lastRun: LastRun = { execution: executionName, status: result.status, manifest, resultWriter, finishedAt: new Date().toISOString(), seconds: result.seconds, executionSeconds };
  await writeFile(join(stack.dataDir, LAST_RUN_FILE), `${JSON.stringify(lastRun, null, 2)}\n`);
  return result;
}

export interface LastRun {
  execution: string;
  status: string;
  manifest: ManifestRef;
  resultWriter?: ResultWriterDetails;
  finishedAt?: string;
  /** The whole run, and the state machine execution alone. */
  seconds?: number;
  executionSeconds?: number;
}

export async function readLastRun(dataDir: string): Promise<LastRun> {
  try {
    return JSON.parse(await readFile(join(dataDir, LAST_RUN_FILE), 'utf8')) as LastRun;
  } catch {
    throw new ConfigError(`no finished run in ${dataDir}: run photo-scaler run first`);
  }
}
