import type { Command } from 'commander';
import { ConfigError } from '../core/errors';
import { type LocalRunResult, type Progress, runLocalMigration } from '../local/migrate';
import { runLocalSources } from '../local/sources';
import { DEFAULT_DATA_DIR } from '../local/stack';
import { parseFaults } from '../local/faults';
import { skippedByReason } from '../local/photos';
import { progressBar } from './progress';

export interface RunFlags {
  photos?: string;
  /** A sources run (issue 20): a CSV of `key,url[,size,md5,sha256,content-type]` rows. */
  sources?: string;
  allowHost?: string[];
  dataDir: string;
  json?: boolean;
  faults?: string;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('upload a folder of photos to the emulated source bucket, write an S3 Inventory report for it and run the state machine on it locally; or, with --sources, fetch each row of a CSV of URLs into the emulated source bucket and run the same steps on it')
    .option('--photos <dir>', 'folder of photos (searched recursively; keys are the relative paths)')
    .option('--sources <file.csv>', 'instead of --photos: a CSV with a header, columns key,url and optionally size, md5, sha256, content-type; each url (https://, http:// or s3://) is fetched into the source bucket at its key')
    .option('--allow-host <host[:port]>', 'with --sources: a host the urls may name (repeat it; *.domain for its subdomains, s3://bucket for a bucket); loopback and private addresses only when named as such', (value: string, list: string[] = []) => [...list, value])
    .option('--data-dir <dir>', 'where the emulated buckets and table persist', DEFAULT_DATA_DIR)
    .option('--json', 'print one JSON object on stdout')
    .option('--faults <spec>', 'inject faults, e.g. slowdown=0.05,internal=0.01,throttle=0.01,crash=0.01,seed=42; kill=s3:<n> or kill=dynamodb:<n> kills this process (SIGKILL) at the n-th write')
    .action(async (flags: RunFlags) => {
      if (!flags.photos === !flags.sources) throw new ConfigError('give --photos <dir> (a folder) or --sources <file.csv> (a CSV of URLs), one of them');
      if (flags.allowHost?.length && !flags.sources) throw new ConfigError('--allow-host goes with --sources');
      const stop = stopOnSignals();
      try {
        const result = await runWithProgress(flags, stop.signal);
        process.stdout.write(flags.json ? `${JSON.stringify(jsonOf(result))}\n` : humanSummary(result, flags.dataDir));
        if (result.status === 'ABORTED') process.exitCode = stop.exitCode ?? 1;
        else if (result.status !== 'SUCCEEDED') process.exitCode = 1;
      } finally {
        stop.release();
      }
    });
}

/**
 * Ctrl-C (SIGINT) or SIGTERM stops a run gently: no new photo starts, those in flight finish, a
 * partial summary is printed and the run is recorded ABORTED (`redrive` finishes it). A second one
 * stops at once; whatever was written is whole either way.
 */
export function stopOnSignals(): { signal: AbortSignal; exitCode?: number; release(): void } {
  const controller = new AbortController();
  const state: { signal: AbortSignal; exitCode?: number; release(): void } = { signal: controller.signal, release: () => {} };
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.stderr.write('\nstopping now\n');
      process.exit(name === 'SIGINT' ? 130 : 143);
    }
    process.stderr.write(`\n${name}: stopping after the photos in flight (again to stop at once); \`photo-scaler redrive\` finishes the run\n`);
    state.exitCode = name === 'SIGINT' ? 130 : 143;
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  state.release = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  return state;
}

export async function runWithProgress(flags: { photos?: string; sources?: string; allowHost?: string[]; dataDir: string; faults?: string }, signal?: AbortSignal): Promise<LocalRunResult> {
  const upload = progressBar('upload ');
  const process_ = progressBar('process');
  try {
    const common = {
      dataDir: flags.dataDir,
      signal,
      faults: flags.faults ? parseFaults(flags.faults) : undefined,
      onProgress: (progress: Progress) => {
        if (progress.phase === 'upload') upload.update(progress.done, progress.total);
        else if (progress.phase === 'process') process_.update(progress.done, progress.total, progress.failed ? `(${progress.failed} failed)` : '');
      },
    };
    if (flags.sources) return await runLocalSources({ ...common, sourcesFile: flags.sources, allowHosts: flags.allowHost ?? [] });
    return await runLocalMigration({ ...common, photosDir: flags.photos! });
  } finally {
    upload.done();
    process_.done();
  }
}

/** The `--json` contract: these fields, in this order, then extensions. */
export function jsonOf(result: LocalRunResult) {
  const { items, succeeded, failed, duplicates, assets, pointers, catalogRows, failures, unchanged, resized } = result.summary;
  return {
    items, succeeded, failed, duplicates, assets, pointers, catalogRows, failures,
    unchanged, resized,
    execution: result.execution,
    status: result.status,
    ...(result.error ? { error: result.error } : {}),
    seconds: Number(result.seconds.toFixed(3)),
    executionSeconds: Number(result.executionSeconds.toFixed(3)),
    itemsPerSecond: Number((items / Math.max(result.seconds, 0.001)).toFixed(2)),
    retries: result.retries,
    sdkRetries: result.sdkRetries,
    ...(result.injected ? { injectedFaults: result.injected } : {}),
    ...(result.notUploaded ? { notUploaded: result.notUploaded } : {}),
    ...(result.removed ? { removed: result.removed } : {}),
    ...(result.notMirrored ? { notMirrored: result.notMirrored } : {}),
    // Last, present only when there is one (as notUploaded, removed): every file of the folder not in
    // the run, `{path, reason}` (src/local/photos.ts).
    ...(result.skipped?.length ? { skipped: result.skipped } : {}),
    // At the very end, only when non-zero: variant catalog rows this run wrote (`<preset>.<format>`,
    // issue 18; each with its pointer and asset, already counted in assets/pointers/catalogRows).
    ...(result.summary.variants ? { variants: result.summary.variants } : {}),
    // After it, only for a sources run (issue 20): the copy phase (copyOf).
    ...(result.summary.copy ? { copy: copyOf(result) } : {}),
  };
}

/**
 * `run --json`'s `copy`, a sources run's copy phase: rows fetched, kept (already in the source bucket
 * with their checksum), failed in Fetch (by reason); bytes copied; throughput over the execution's
 * time (the copies overlap the photo steps, so this is the run's copy rate, not one origin's).
 */
export function copyOf(result: LocalRunResult) {
  const copy = result.summary.copy!;
  const seconds = Math.max(result.executionSeconds, 0.001);
  return {
    fetched: copy.fetched,
    kept: copy.kept,
    failed: copy.failed,
    bytes: copy.bytes,
    megabytesPerSecond: Number((copy.bytes / 1e6 / seconds).toFixed(2)),
    photosPerSecond: Number((copy.fetched / seconds).toFixed(2)),
    ...(copy.failed > 0 ? { failedByReason: copy.failedByReason } : {}),
  };
}

const SKIPPED_SHOWN = 20;

export function humanSummary(result: LocalRunResult, dataDir: string): string {
  const s = result.summary;
  const lines = [
    `${result.execution}: ${result.status} — ${s.items} items in ${result.seconds.toFixed(1)} s (${(s.items / Math.max(result.seconds, 0.001)).toFixed(1)} items/s)`,
    `  succeeded ${s.succeeded} (resized ${s.resized}, duplicates ${s.duplicates}, unchanged ${s.unchanged}), failed ${s.failed}`,
    `  wrote ${s.assets} assets, ${s.pointers} pointers, ${s.catalogRows} catalog rows${s.variants ? ` (${s.variants} of them variants: <preset>.<format>)` : ''}`,
  ];
  if (s.copy) {
    const copy = copyOf(result);
    const reasons = Object.entries(copy.failedByReason ?? {}).map(([reason, n]) => `${reason} ${n}`).join(', ');
    lines.push(`  copied ${copy.fetched} originals into the source bucket (${(copy.bytes / 1e6).toFixed(1)} MB, ${copy.megabytesPerSecond} MB/s), kept ${copy.kept} already there${copy.failed ? `, ${copy.failed} not fetched: ${reasons}` : ''}`);
  }
  if (result.retries + result.sdkRetries > 0) lines.push(`  retried ${result.sdkRetries} calls in the AWS SDK and ${result.retries} steps in the state machine`);
  if (result.injected) lines.push(`  injected faults: ${Object.entries(result.injected).map(([kind, count]) => `${kind} ${count}`).join(', ')}`);
  if (result.status === 'ABORTED') lines.push(`  stopped before every photo was processed: npx photo-scaler redrive --data-dir ${quote(dataDir)} finishes the run`);
  else if (result.error) lines.push(`  execution error: ${result.error}`);
  if (s.failures.length > 0) {
    lines.push('  failures:');
    for (const failure of s.failures) lines.push(`    ${failure.key}: ${failure.reason ? `[${failure.reason}] ` : ''}${failure.error}`);
  }
  if (result.notUploaded?.length) {
    lines.push(`  not uploaded (left out of the run): ${result.notUploaded.length}`);
    for (const photo of result.notUploaded) lines.push(`    ${photo.key}: ${photo.error}`);
  }
  if (result.removed?.length) {
    lines.push(`  removed from the library (no longer in the folder): ${result.removed.length}`);
    for (const key of result.removed) lines.push(`    ${key}`);
  }
  if (result.notMirrored) lines.push(`  note: ${result.notMirrored}`);
  if (result.skipped?.length) {
    lines.push(`  skipped (not in the run): ${result.skipped.length} — ${skippedByReason(result.skipped)}`);
    for (const entry of result.skipped.slice(0, SKIPPED_SHOWN)) lines.push(`    ${entry.path}: ${entry.reason}`);
    if (result.skipped.length > SKIPPED_SHOWN) lines.push(`    … and ${result.skipped.length - SKIPPED_SHOWN} more (--json and the report list them all)`);
  }
  lines.push(`Library in ${dataDir}. Browse it: npx photo-scaler serve --data-dir ${quote(dataDir)}`);
  return `${lines.join('\n')}\n`;
}

export function quote(arg: string): string {
  return /^[\w./:@%+=,-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
