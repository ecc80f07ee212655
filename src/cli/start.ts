import type { Command } from 'commander';
import { S3ObjectStore } from '../aws/s3-store';
import { consoleUrl, SfnRunStarter, stateMachineArnOf } from '../aws/sfn';
import { ConfigError } from '../core/errors';
import { startRun } from '../core/run-start';
import { type AwsFlags, awsClients, deployedStackInRegion, parseS3Url, withAwsOptions } from './aws';
import { quote } from './run';

interface StartFlags extends AwsFlags {
  manifest: string;
  stateMachine?: string;
  name?: string;
  sourceBucket?: string;
  json?: boolean;
}

export function registerStart(program: Command): void {
  const command = program
    .command('start')
    .description('start the deployed migrate state machine on an S3 Inventory report (checked first; the same report never starts two runs)')
    .requiredOption('--manifest <s3-url>', 'the report: s3://<bucket>/<prefix>/manifest.json')
    .option('--state-machine <arn|name>', 'default: the MigrateStateMachineArn output of the stack')
    .option('--name <execution>', 'execution name (default: derived from the report)')
    .option('--source-bucket <name>', 'refuse a report of another bucket (default: the stack\'s source bucket)')
    .option('--json', 'print one JSON object');
  withAwsOptions(command).action(async (flags: StartFlags) => {
    const manifest = parseS3Url(flags.manifest);
    const clients = awsClients(flags.region);
    let stateMachineArn = flags.stateMachine;
    let sourceBucket = flags.sourceBucket;
    if (!stateMachineArn) {
      const stack = await deployedStackInRegion(flags, clients.s3);
      stateMachineArn = stack.stateMachineArn;
      sourceBucket ??= stack.sourceBucket;
      // The state machine's role may read reports only there (serverless.yml, ItemReaderReadsTheInventoryReport).
      if (manifest.bucket !== stack.inventoryBucket) {
        throw new ConfigError(`${flags.manifest} is not in the stack's inventory bucket ${stack.inventoryBucket}: the state machine may read reports only there; have S3 Inventory deliver there: photo-scaler inventory enable`);
      }
    } else if (!stateMachineArn.startsWith('arn:')) {
      stateMachineArn = await stateMachineArnOf(clients.sts, await clients.sfn.config.region(), stateMachineArn);
    }
    const started = await startRun(new S3ObjectStore(clients.s3), new SfnRunStarter(clients.sfn, stateMachineArn), manifest, {
      name: flags.name,
      expectedSourceBucket: sourceBucket,
    });
    const url = consoleUrl(started.executionArn);
    if (flags.json) {
      const { report, ...rest } = started;
      process.stdout.write(`${JSON.stringify({ ...rest, stateMachineArn, consoleUrl: url, sourceBucket: report.manifest.sourceBucket, dataFiles: report.dataFiles, dataBytes: report.dataBytes })}\n`);
      return;
    }
    const { report } = started;
    process.stdout.write(
      [
        `${started.alreadyStarted ? 'already started (this report has its run)' : 'started'}: ${started.executionArn}`,
        `  report   s3://${manifest.bucket}/${manifest.key}: ${report.dataFiles} data files, ${(report.dataBytes / 1e6).toFixed(1)} MB, of bucket ${report.manifest.sourceBucket}`,
        `  console  ${url}`,
        `  watch    npx photo-scaler status ${quote(started.executionArn)} --watch`,
        '',
      ].join('\n'),
    );
  });
}
