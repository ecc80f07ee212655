import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { S3ObjectStore } from '../aws/s3-store';
import { describeRun } from '../aws/sfn';
import { FAILURE_REASONS } from '../core/errors';
import type { ObjectStore } from '../core/ports';
import { readRunOutcomes, summarize } from '../core/run-results';
import { failureGroups, isFinished, itemsDone, type RunResults, type RunStatus } from '../core/run-status';
import { awsClients, regionOf } from './aws';
import { bar } from './progress';
import { quote } from './run';

interface StatusFlags {
  region?: string;
  watch?: boolean;
  interval: string;
  json?: boolean;
}

export function registerStatus(program: Command): void {
  program
    .command('status <execution-arn>')
    .description('where a run on AWS stands: item counts of its Distributed Map, then its results and failures by reason')
    .option('--watch', 'poll until the execution ends, with a progress bar')
    .option('--interval <seconds>', 'seconds between polls with --watch', '5')
    .option('--json', 'one JSON object (with --watch: one per poll, the last with the results)')
    .option('--region <region>', 'default: the region in the ARN')
    .action(async (executionArn: string, flags: StatusFlags) => {
      const interval = Number(flags.interval);
      if (!Number.isFinite(interval) || interval <= 0) throw new Error(`--interval must be a positive number of seconds, not ${flags.interval}`);
      const clients = awsClients(regionOf(flags, executionArn));
      const live = flags.watch && !flags.json && process.stderr.isTTY;
      for (;;) {
        const status = await describeRun(clients.sfn, executionArn);
        const finished = isFinished(status);
        const results = finished ? await runResults(status, new S3ObjectStore(clients.s3)) : undefined;
        if (flags.json) process.stdout.write(`${JSON.stringify({ ...status, ...(results ? { results } : {}) })}\n`);
        else if (live && !finished) process.stderr.write(`\r${progressLine(status)}\x1b[K`);
        else {
          if (live) process.stderr.write('\r\x1b[K');
          process.stdout.write(renderStatus(status, results));
        }
        if (finished) {
          if (status.status !== 'SUCCEEDED') process.exitCode = 1;
          return;
        }
        if (!flags.watch) return;
        await sleep(interval * 1000);
      }
    });
}

/** The ResultWriter's per-photo results of a finished run (none when the Map never wrote them). */
export async function runResults(status: RunStatus, store: ObjectStore): Promise<RunResults | undefined> {
  if (!status.resultWriter) return undefined;
  const outcomes = await readRunOutcomes(store, status.resultWriter);
  return { summary: summarize(outcomes), failureGroups: failureGroups(outcomes) };
}

/** The longest reason's length (`access-denied`, `not-processed`, `render-failed`): the examples line up. */
const REASON_WIDTH = Math.max(...FAILURE_REASONS.map((reason) => reason.length));
const n = (value: number) => value.toLocaleString('en-US');

/** One line: a bar of the Map Run's items done, and the counts by state. */
export function progressLine(status: RunStatus): string {
  const items = status.mapRun?.items;
  if (!items) return `${status.name}: ${status.status}, reading the inventory report…`;
  const done = itemsDone(items);
  const parts = [`pending ${n(items.pending)}`, `running ${n(items.running)}`, `succeeded ${n(items.succeeded)}`, `failed ${n(items.failed + items.timedOut + items.aborted)}`];
  return `${status.name} ${bar(done, items.total)} ${n(done)}/${n(items.total)} items · ${parts.join(' · ')}`;
}

export function renderStatus(status: RunStatus, results?: RunResults): string {
  const lines = [`${status.executionArn}`, `  ${status.status}${timing(status)}`];
  if (status.manifest) lines.push(`  report   s3://${status.manifest.bucket}/${status.manifest.key}`);
  if (status.sources) lines.push(`  sources  s3://${status.sources.bucket}/${status.sources.key}`);
  if (status.mapRun) {
    lines.push(`  items    ${progressLine(status).replace(`${status.name} `, '')}`);
    const children = status.mapRun.childExecutions;
    lines.push(`  batches  ${n(itemsDone(children))}/${n(children.total)} child executions (${n(children.failed + children.timedOut + children.aborted)} failed)`);
  }
  if (status.error) lines.push(`  error    ${status.error}${status.cause ? `: ${status.cause}` : ''}`);
  if (results) {
    const s = results.summary;
    lines.push(`  photos   ${n(s.succeeded)} done (resized ${n(s.resized)}, duplicates ${n(s.duplicates)}, unchanged ${n(s.unchanged)}), ${n(s.failed)} recorded FAILED`);
    lines.push(`  wrote    ${n(s.assets)} assets, ${n(s.pointers)} pointers, ${n(s.catalogRows)} catalog rows`);
    if (results.failureGroups.length > 0) {
      lines.push('  failures by reason:');
      for (const group of results.failureGroups) lines.push(`    ${String(group.count).padStart(6)}  ${group.reason.padEnd(REASON_WIDTH)}  ${group.example}  (e.g. ${group.keys.join(', ')})`);
    }
    if (status.resultWriter) lines.push(`  results  s3://${status.resultWriter.Bucket}/${status.resultWriter.Key}`);
  }
  if (isFinished(status) && status.status !== 'SUCCEEDED') {
    lines.push(
      status.redrive?.status === 'REDRIVABLE'
        ? `  redrive  npx photo-scaler redrive ${quote(status.executionArn)}   (runs only the unfinished batches again)`
        : `  redrive  not possible${status.redrive?.reason ? `: ${status.redrive.reason}` : ''}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function timing(status: RunStatus): string {
  if (!status.startDate) return '';
  const end = status.stopDate ? Date.parse(status.stopDate) : Date.now();
  const seconds = Math.max(0, Math.round((end - Date.parse(status.startDate)) / 1000));
  const span = seconds >= 3600 ? `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min` : seconds >= 60 ? `${Math.floor(seconds / 60)} min ${seconds % 60} s` : `${seconds} s`;
  return status.stopDate ? ` after ${span} (started ${status.startDate})` : ` for ${span} (since ${status.startDate})`;
}
