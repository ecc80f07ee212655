import type { Command } from 'commander';
import { redriveExecution } from '../aws/sfn';
import { redriveLocal } from '../local/redrive';
import { DEFAULT_DATA_DIR, openLocalStack } from '../local/stack';
import { awsClients, regionOf } from './aws';
import type { VerifyReport } from '../core/verify';
import { humanSummary, jsonOf, quote, stopOnSignals } from './run';

function counts(found: VerifyReport) {
  return { items: found.items, done: found.done, failed: found.failed, notFinished: found.unfinishedKeys.length, damaged: found.damagedKeys.length };
}

export function registerRedrive(program: Command): void {
  program
    .command('redrive [execution-arn]')
    .description('run again the photos of the last run that are not DONE — FAILED, or never finished (locally), or RedriveExecution a failed run on AWS')
    .option('--data-dir <dir>', 'local data', DEFAULT_DATA_DIR)
    .option('--json', 'print one JSON object')
    .option('--region <region>', 'with an ARN: default the region in the ARN')
    .action(async (executionArn: string | undefined, flags: { dataDir: string; json?: boolean; region?: string }) => {
      if (executionArn) {
        const date = await redriveExecution(awsClients(regionOf(flags, executionArn)).sfn, executionArn);
        const when = date?.toISOString() ?? new Date().toISOString();
        process.stdout.write(
          flags.json
            ? `${JSON.stringify({ executionArn, redriveDate: when })}\n`
            : `redriven at ${when}: ${executionArn}\n  watch it: npx photo-scaler status ${quote(executionArn)} --watch\n`,
        );
        return;
      }
      const stack = await openLocalStack(flags.dataDir);
      const stop = stopOnSignals();
      try {
        const { run, found, keys, result } = await redriveLocal(stack, { signal: stop.signal });
        const damaged = found.damagedKeys.length > 0 ? `, ${found.damagedKeys.length} damaged (photo-scaler repair mends them)` : '';
        const what = `run ${run.execution} (${run.status}): ${found.items} items, ${found.done} DONE, ${found.failed} FAILED, ${found.unfinishedKeys.length} not finished${damaged}`;
        if (!result) {
          process.stdout.write(flags.json ? `${JSON.stringify({ items: 0, redriven: [], run: run.execution, found: counts(found) })}\n` : `${what}: nothing to redrive\n`);
          return;
        }
        process.stdout.write(
          flags.json
            ? `${JSON.stringify({ ...jsonOf(result), redriven: keys, run: run.execution, found: counts(found) })}\n`
            : `${what}: redriving ${keys.length} (${found.failed} failed, ${found.unfinishedKeys.length} not finished)\n${humanSummary(result, flags.dataDir)}`,
        );
        if (result.status === 'ABORTED') process.exitCode = stop.exitCode ?? 1;
        else if (result.status !== 'SUCCEEDED') process.exitCode = 1;
      } finally {
        stop.release();
        await stack.close();
      }
    });
}
