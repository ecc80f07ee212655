import type { Command } from 'commander';
import { redriveExecution } from '../aws/sfn';
import { redriveLocal } from '../local/redrive';
import { DEFAULT_DATA_DIR, openLocalStack } from '../local/stack';
import { awsClients, regionOf } from './aws';
import { humanSummary, jsonOf, quote } from './run';

export function registerRedrive(program: Command): void {
  program
    .command('redrive [execution-arn]')
    .description('run again only the photos of the last run that did not succeed (locally), or RedriveExecution a failed run on AWS')
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
      try {
        const { keys, result } = await redriveLocal(stack);
        if (!result) {
          process.stdout.write(flags.json ? `${JSON.stringify({ items: 0, redriven: [] })}\n` : 'nothing to redrive: every item of the last run succeeded\n');
          return;
        }
        process.stdout.write(flags.json ? `${JSON.stringify({ ...jsonOf(result), redriven: keys })}\n` : `redriving ${keys.length} items\n${humanSummary(result, flags.dataDir)}`);
        if (result.status !== 'SUCCEEDED') process.exitCode = 1;
      } finally {
        await stack.close();
      }
    });
}
