/**
 * `photo-scaler run`, locally: upload a folder to the emulated source bucket, write a genuine S3
 * Inventory report for it, run statemachines/migrate.asl.yaml on it with the real handlers, and sum
 * up what the ResultWriter wrote.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { config as defaultConfig } from '../config';
import { ConfigError } from '../core/errors';
import { INVENTORY } from '../core/layout';
import type { ManifestRef } from '../core/inventory/manifest';
import { buildInventoryReport, type InventoryObject } from './inventory-writer';
import { type PhotoScalerConfig, validateConfig } from '../core/presets';
import { checkReport } from '../core/run-start';
import { type ResultWriterDetails, type RunSummary, summarize, summarizeRun } from '../core/run-results';
import { loadDefinition, startExecution } from './asl';
import { type NotUploaded, scanFolder, type Skipped, skippedByReason, uploadPhotos } from './photos';
import type { FaultKind, FaultRates } from './faults';
import { mirrorRemovals } from './mirror';
import { LOCAL_NAMES, type LocalStack, openLocalStack } from './stack';
import { SOURCES_STATE_MACHINE_FILE, STATE_MACHINE_FILE } from './state-machines';
import { UPLOAD_INDEX_FILE, UploadIndex } from './upload-index';

export { SOURCES_STATE_MACHINE_FILE, STATE_MACHINE_FILE } from './state-machines';
/** Written under the data dir after each run: what verify and redrive look at. */
export const LAST_RUN_FILE = 'last-run.json';

export type { ManifestRef } from '../core/inventory/manifest';

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
  /** Stops the run gently (Ctrl-C): no new photo starts, those in flight finish, the run ends ABORTED. */
  signal?: AbortSignal;
}

export interface LocalRunResult {
  summary: RunSummary;
  /** The execution's name: run --json's `execution`, the log lines' `execution`, catalog rows' `runId`. */
  execution: string;
  /** Its ARN, as the local executor ran it (src/local/asl/arns.ts). */
  executionArn: string;
  /** ABORTED: stopped before every item was processed (Ctrl-C, or a full disk: see `diskFull`). */
  status: 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  error?: string;
  /** The data dir's file system was found full: the run stopped; what was written is whole. */
  diskFull?: string;
  /** Photos of the folder that could not be uploaded (and so are not in the run). */
  notUploaded?: NotUploaded[];
  /** Every other file under the folder that is not in the run, with the reason (a run of a folder only). */
  skipped?: Skipped[];
  /** Keys removed from the library before the run: their photo left the folder since the last run. */
  removed?: string[];
  /** Photos are missing from the folder, yet nothing was removed: why (the data dir mirrors another folder). */
  notMirrored?: string;
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
  const { photos, skipped: found } = await scanFolder(options.photosDir);
  const noImages = (skipped: readonly Skipped[]) =>
    new ConfigError(`no images (jpg, png, gif, webp, tiff, avif, heic) found in ${options.photosDir}${skipped.length ? ` (skipped: ${skippedByReason(skipped)})` : ''}`);
  if (photos.length === 0) throw noImages(found);
  const stack = options.stack ?? (await openLocalStack(options.dataDir, { config, faults: options.faults }));
  const progress = options.onProgress ?? (() => {});
  try {
    const started = performance.now();
    const index = await UploadIndex.open(join(stack.dataDir, UPLOAD_INDEX_FILE));
    const upload = await uploadPhotos(stack.uploadStore, LOCAL_NAMES.sourceBucket, photos, (done) => progress({ phase: 'upload', done, total: photos.length }), 4, () => stack.diskFull() !== undefined, index);
    const { uploaded, notUploaded } = upload;
    if (stack.diskFull()) throw new DiskFullError(stack.diskFull()!);
    // Every file of the folder is uploaded or listed here with its reason (see photos.ts).
    const skipped = [...found, ...upload.skipped].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    if (uploaded.length === 0 && notUploaded.length === 0) throw noImages(skipped);
    if (uploaded.length === 0) throw new ConfigError(`no photo of ${options.photosDir} could be uploaded: ${notUploaded[0]?.key}: ${notUploaded[0]?.error}`);
    // Photos gone from the folder since the last run leave the library (see mirror.ts); a folder
    // that could not be read is not gone: its photos stay.
    const { removed, notMirrored } = await mirrorRemovals(stack, options.photosDir, keptKeys(photos.map((photo) => photo.key), skipped));
    const manifest = await writeInventoryReport(stack, INVENTORY, uploaded);
    const result = await executeMigration(stack, manifest, { ...options, skipped }, started);
    return { ...result, ...(notUploaded.length > 0 ? { notUploaded } : {}), ...(removed.length > 0 ? { removed } : {}), ...(notMirrored ? { notMirrored } : {}), skipped };
  } catch (error) {
    const full = stack.diskFull();
    if (full) throw new DiskFullError(full, error);
    throw error;
  } finally {
    if (!options.stack) await stack.close();
  }
}

/** The folder's keys, and every key under a folder that could not be read (its photos may well still be there). */
function keptKeys(keys: readonly string[], skipped: readonly Skipped[]): ReadonlySet<string> {
  const unreadable = skipped.filter((entry) => entry.reason === 'unreadable' && entry.path.endsWith('/')).map((entry) => entry.path);
  const set = new Set(keys);
  if (unreadable.length === 0) return set;
  return new (class extends Set<string> {
    override has(key: string): boolean {
      return super.has(key) || unreadable.some((folder) => key.startsWith(folder));
    }
  })(set);
}

/** A genuine S3 Inventory report of `objects` in the emulated inventory bucket; returns its manifest. */
/** The disk holding the data dir is full: the run stopped; everything already written is whole. */
export class DiskFullError extends Error {
  override name = 'DiskFullError';
  constructor(
    readonly path: string,
    cause?: unknown,
  ) {
    super(`the disk holding ${path} is full: the run stopped, and what it wrote is whole. Free some space, then run the same command again: it goes on where this one stopped`, { cause });
  }
}

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

/**
 * Runs statemachines/migrate.asl.yaml on an inventory report and sums up its results. The run is
 * recorded before it starts (last-run.json, status RUNNING), so a run killed or cut short is never
 * mistaken for the one before it; `record: 'redrive'` adds to the recorded run instead of replacing it.
 */
export async function executeMigration(
  stack: LocalStack,
  manifest: ManifestRef,
  options: Pick<LocalRunOptions, 'onProgress' | 'timeScale' | 'signal'> & {
    name?: string;
    record?: 'run' | 'redrive';
    skipped?: Skipped[];
    /** `manifest` is a sources CSV (issue 20, src/local/sources.ts), not an inventory report. */
    sources?: boolean;
    /** A sources run's allowlist (`--allow-host`), recorded for its redrive. */
    allowHosts?: readonly string[];
  } = {},
  started = performance.now(),
): Promise<LocalRunResult> {
  const progress = options.onProgress ?? (() => {});
  // As `start` and the auto-start Lambda do: a report the state machine cannot run (no Size or ETag,
  // every version listed, another bucket's) is refused before anything starts.
  // A sources CSV was checked row by row before it was stored (src/local/sources.ts).
  if (!options.sources) await checkReport(stack.store, manifest, { expectedSourceBucket: LOCAL_NAMES.sourceBucket });
  const definition = await loadDefinition(options.sources ? SOURCES_STATE_MACHINE_FILE : STATE_MACHINE_FILE);
  const execution = options.name ?? `run-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomBytes(3).toString('hex')}`;
  const redriving = options.record === 'redrive' ? await readLastRun(stack.dataDir) : undefined;
  const record = async (status: string, details: Partial<LastRun> = {}) => {
    const run: LastRun = redriving
      ? { ...redriving, status: redriving.status, redrives: [...(redriving.redrives ?? []).filter((r) => r.execution !== execution), { execution, manifest, status, ...details }] }
      : { execution, status, manifest, startedAt, ...(options.sources ? { sources: true as const, allowHosts: [...(options.allowHosts ?? [])] } : {}), ...(options.skipped ? { skipped: options.skipped } : {}), ...details };
    await writeLastRun(stack.dataDir, run);
  };
  const startedAt = new Date().toISOString();
  await record('RUNNING');

  // Stops the run gently: Ctrl-C (the caller's signal), or the local S3 finding the disk full.
  const stop = new AbortController();
  options.signal?.addEventListener('abort', () => stop.abort(), { once: true });
  if (options.signal?.aborted) stop.abort();
  const watch = setInterval(() => stack.diskFull() && stop.abort(), 100);
  let total = 0;
  let done = 0;
  let failed = 0;
  /** Photos of each running batch (child execution) already counted in `done`. */
  const inBatch = new Map<string, number>();
  let retries = 0;
  const injectedBefore = { ...stack.faults.injected };
  const sdkRetriesBefore = stack.sdkRetries();
  const executionStarted = performance.now();
  let ended: Awaited<ReturnType<typeof startExecution>>;
  try {
    ended = await startExecution({
      definition,
      name: execution,
      input: options.sources ? { sources: manifest } : { manifest },
      tasks: stack.tasks as unknown as Record<string, (event: unknown) => Promise<unknown>>,
      intrinsics: { LibraryBucket: LOCAL_NAMES.libraryBucket },
      store: stack.stepFunctionsStore,
      timeScale: options.timeScale,
      signal: stop.signal,
      onEvent: (event) => {
        // Progress moves per photo: each photo's iteration of a batch's inline Map is one step; when
        // a batch ends, its photos not counted that way (a batch that failed whole) are added.
        if (event.type === 'mapRunStarted') total = event.totalItems;
        else if (event.type === 'childStarted') inBatch.set(event.execution, 0);
        else if (event.type === 'mapIterationSucceeded' || event.type === 'mapIterationFailed') {
          const counted = inBatch.get(event.execution);
          if (counted === undefined) return;
          inBatch.set(event.execution, counted + 1);
          done++;
        } else if (event.type === 'childSucceeded' || event.type === 'childFailed') {
          done += Math.max(0, event.items - (inBatch.get(event.execution) ?? 0));
          inBatch.delete(event.execution);
          if (event.type === 'childFailed') failed += event.items;
        } else if (event.type === 'retry') {
          retries++;
          progress({ phase: 'retry', state: event.state, error: event.error, attempt: event.attempt });
          return;
        } else return;
        progress({ phase: 'process', done, total, failed });
      },
    });
  } finally {
    clearInterval(watch);
  }
  const executionSeconds = (performance.now() - executionStarted) / 1000;
  const resultWriter = (ended.output as { ResultWriterDetails?: ResultWriterDetails } | undefined)?.ResultWriterDetails ?? resultsOf(ended.cause);
  // Streamed from the result files: a summary, not every photo's outcome, is held. Read with the
  // client that wrote them (Step Functions' own, retrying longer): under injected faults a read
  // that gave up would leave a succeeded run with an empty summary.
  const sources = { sources: options.sources ?? redriving?.sources ?? false };
  const summary = resultWriter ? await summarizeRun(stack.stepFunctionsStore, resultWriter, sources).catch(() => summarize([], sources)) : summarize([], sources);
  const diskFull = stack.diskFull();
  const result: LocalRunResult = {
    summary,
    execution,
    executionArn: ended.executionArn,
    status: ended.status,
    error: ended.status === 'SUCCEEDED' ? undefined : `${ended.error ?? 'Error'}: ${ended.cause ?? ''}`,
    ...(diskFull ? { diskFull } : {}),
    seconds: (performance.now() - started) / 1000,
    executionSeconds,
    resultWriter,
    retries,
    sdkRetries: stack.sdkRetries() - sdkRetriesBefore,
    injected: stack.faults.active ? (Object.fromEntries(Object.entries(stack.faults.injected).map(([k, v]) => [k, v - injectedBefore[k as FaultKind]])) as Record<FaultKind, number>) : undefined,
    manifest,
  };
  // On a full disk this may fail too: the run then stays recorded as RUNNING, i.e. interrupted.
  await record(result.status, { resultWriter, finishedAt: new Date().toISOString(), seconds: result.seconds, executionSeconds }).catch((error: unknown) => {
    if (!diskFull) throw error;
  });
  if (diskFull) throw new DiskFullError(diskFull);
  return result;
}

/** An aborted execution's results, named in its cause (`results in s3://bucket/key`). */
function resultsOf(cause: string | undefined): ResultWriterDetails | undefined {
  const match = /results in s3:\/\/([^/]+)\/(\S+)$/.exec(cause ?? '');
  return match ? { Bucket: match[1]!, Key: match[2]! } : undefined;
}

export interface LastRun {
  execution: string;
  /** RUNNING while it runs — and after, when it was killed or cut short; then SUCCEEDED, FAILED or ABORTED. */
  status: string;
  /** The inventory report the run read; for a sources run (`sources`), its CSV of sources. */
  manifest: ManifestRef;
  /** A sources run (issue 20): `manifest` (and each redrive's) is a CSV of `key,url` rows. */
  sources?: true;
  /** A sources run's allowlist (`--allow-host`): its redrive fetches from the same hosts. */
  allowHosts?: string[];
  resultWriter?: ResultWriterDetails;
  startedAt?: string;
  finishedAt?: string;
  /** The whole run, and the state machine execution alone. */
  seconds?: number;
  executionSeconds?: number;
  /** Files of the run's folder left out of it, with their reasons (photos.ts). */
  skipped?: Skipped[];
  /** Redrives of this run (each over an inventory of the items that were not done). */
  redrives?: Array<{ execution: string; manifest: ManifestRef; status: string; resultWriter?: ResultWriterDetails; finishedAt?: string }>;
}

/** Written aside and renamed: the record is whole at every instant. */
async function writeLastRun(dataDir: string, run: LastRun): Promise<void> {
  const file = join(dataDir, LAST_RUN_FILE);
  const temp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(temp, `${JSON.stringify(run, null, 2)}\n`);
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => {});
    throw error;
  }
}

export async function readLastRun(dataDir: string): Promise<LastRun> {
  try {
    return JSON.parse(await readFile(join(dataDir, LAST_RUN_FILE), 'utf8')) as LastRun;
  } catch {
    throw new ConfigError(`no finished run in ${dataDir}: run photo-scaler run first`);
  }
}
