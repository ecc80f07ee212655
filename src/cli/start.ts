import type { Command } from 'commander';
import { S3ObjectStore } from '../aws/s3-store';
import { consoleUrl, SfnRunStarter, stateMachineArnOf } from '../aws/sfn';
import { ConfigError } from '../core/errors';
import { startRun } from '../core/run-start';
import { SOURCES_PREFIX, startSourcesRun } from '../core/fetch/sources-start';
import { type AwsFlags, awsClients, deployedStackInRegion, parseS3Url, withAwsOptions } from './aws';
import { quote } from './run';

interface StartFlags extends AwsFlags {
  manifest?: string;
  /** A sources run (issue 20): a CSV of `key,url,…` rows in the inventory bucket, under sources/. */
  sources?: string;
  stateMachine?: string;
  name?: string;
  sourceBucket?: string;
  json?: boolean;
}

export function registerStart(program: Command): void {
  const command = program
    .command('start')
    .description('start the deployed migrate state machine on an S3 Inventory report (checked first; the same report never starts two runs)')
    .option('--manifest <s3-url>', 'the report: s3://<bucket>/<prefix>/manifest.json')
    .option('--sources <s3-url>', 'instead of --manifest: a CSV of sources (key,url[,size,md5,sha256,content-type]) at s3://<inventory bucket>/sources/<name>.csv; each row is checked, then the sources state machine fetches every url (hosts of the fetchAllowHosts parameter only) and runs the same steps')
    .option('--state-machine <arn|name>', 'default: the MigrateStateMachineArn output of the stack')
    .option('--name <execution>', 'execution name (default: derived from the report)')
    .option('--source-bucket <name>', 'refuse a report of another bucket (default: the stack\'s source bucket)')
    .option('--json', 'print one JSON object');
  withAwsOptions(command).action(async (flags: StartFlags) => {
    if (!flags.manifest === !flags.sources) throw new ConfigError('give --manifest s3://…/manifest.json (an inventory report) or --sources s3://…/sources/<name>.csv (a CSV of URLs), one of them');
    if (flags.sources) return startSources(flags);
    const manifest = parseS3Url(flags.manifest!);
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

/** `start --sources`: the CSV checked row by row, then the sources state machine started on it (src/core/fetch/sources-start.ts). */
async function startSources(flags: StartFlags): Promise<void> {
  const sources = parseS3Url(flags.sources!);
  const clients = awsClients(flags.region);
  let stateMachineArn = flags.stateMachine;
  if (!stateMachineArn) {
    const stack = await deployedStackInRegion(flags, clients.s3);
    if (!stack.sourcesStateMachineArn) throw new ConfigError(`stack ${stack.stackName} has no sources state machine (output MigrateSourcesStateMachineArn): deployed from an older photo-scaler? Deploy again`);
    stateMachineArn = stack.sourcesStateMachineArn;
    // The sources state machine's role may read CSVs only there (serverless.yml, SourcesItemReaderReadsTheCsv).
    if (sources.bucket !== stack.inventoryBucket || !sources.key.startsWith(SOURCES_PREFIX)) {
      throw new ConfigError(
        `${flags.sources} is not under s3://${stack.inventoryBucket}/${SOURCES_PREFIX}: the state machine may read sources CSVs only there; copy it there first: aws s3 cp <file.csv> s3://${stack.inventoryBucket}/${SOURCES_PREFIX}`,
      );
    }
  } else if (!stateMachineArn.startsWith('arn:')) {
    stateMachineArn = await stateMachineArnOf(clients.sts, await clients.sfn.config.region(), stateMachineArn);
  }
  const started = await startSourcesRun(new S3ObjectStore(clients.s3), new SfnRunStarter(clients.sfn, stateMachineArn), sources, { name: flags.name });
  const url = consoleUrl(started.executionArn);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ executionArn: started.executionArn, alreadyStarted: started.alreadyStarted, name: started.name, sources: started.sources, stateMachineArn, consoleUrl: url, rows: started.checked.rows, declaredBytes: started.checked.declaredBytes })}\n`);
    return;
  }
  process.stdout.write(
    [
      `${started.alreadyStarted ? 'already started (this CSV has its run)' : 'started'}: ${started.executionArn}`,
      `  sources  s3://${sources.bucket}/${sources.key}: ${started.checked.rows} rows`,
      `  console  ${url}`,
      `  watch    npx photo-scaler status ${quote(started.executionArn)} --watch`,
      '',
    ].join('\n'),
  );
}
