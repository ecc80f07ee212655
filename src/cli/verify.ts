import type { Command } from 'commander';
import { DynamoCatalog } from '../aws/dynamo-catalog';
import { S3ObjectStore } from '../aws/s3-store';
import { config } from '../config';
import { readInventoryReport } from '../core/inventory/read';
import { validateConfig } from '../core/presets';
import { type VerifyContext, type VerifyReport, verifyRun } from '../core/verify';
import { localFileReads } from '../local/file-reads';
import { readLastRun } from '../local/migrate';
import { inventoryRowsOfSources, readStoredSources, runRows } from '../local/sources';
import { DEFAULT_DATA_DIR, LOCAL_NAMES, openLocalStack } from '../local/stack';
import { type AwsFlags, awsClients, deployedStackInRegion, parseS3Url, withAwsOptions } from './aws';

interface VerifyFlags extends AwsFlags {
  dataDir: string;
  manifest?: string;
  sources?: string;
  deep?: boolean;
  json?: boolean;
  aws?: boolean;
  libraryBucket?: string;
  table?: string;
  sourceBucket?: string;
}

export function registerVerify(program: Command): void {
  const command = program
    .command('verify')
    .description('audit a finished run against its inventory: every item DONE or FAILED with a reason; exit 1 on any discrepancy')
    .option('--data-dir <dir>', 'local data (the last run there is audited)', DEFAULT_DATA_DIR)
    .option('--sources <s3-url>', 'with --aws: the items of this sources CSV instead (a sources run, started with start --sources)')
    .option('--manifest <s3-url>', 'audit against this inventory manifest instead (s3://bucket/key/manifest.json)')
    .option('--deep', 'download and hash every asset')
    .option('--json', 'print one JSON object')
    .option('--aws', 'audit on AWS (credentials from the environment) instead of the local stack')
    .option('--library-bucket <name>', 'with --aws: the library bucket (default $LIBRARY_BUCKET, else the stack\'s)')
    .option('--table <name>', 'with --aws: the catalog table (default $CATALOG_TABLE, else the stack\'s)')
    .option('--source-bucket <name>', 'with --aws: refuse a report of another bucket (default: the stack\'s source bucket)');
  withAwsOptions(command).action(async (flags: VerifyFlags) => {
    const presets = validateConfig(config);
    let report: VerifyReport;
    if (flags.aws) {
      if (!flags.manifest && !flags.sources) throw new Error('--aws needs --manifest s3://<bucket>/<key>/manifest.json (the report the run was started on), or --sources s3://<bucket>/sources/<name>.csv (a sources run\'s CSV)');
      let libraryBucket = flags.libraryBucket ?? process.env.LIBRARY_BUCKET;
      let table = flags.table ?? process.env.CATALOG_TABLE;
      let sourceBucket = flags.sourceBucket;
      if (!libraryBucket || !table) {
        const stack = await deployedStackInRegion(flags, awsClients(flags.region).s3);
        libraryBucket ??= stack.libraryBucket;
        table ??= stack.catalogTable;
        sourceBucket ??= stack.sourceBucket;
      }
      const clients = awsClients(flags.region);
      const store = new S3ObjectStore(clients.s3);
      const context: VerifyContext = { store, catalog: new DynamoCatalog(clients.dynamo, table), libraryBucket, presets };
      // Another bucket's report is refused; without a known source bucket every row is still matched by bucket and key.
      // A sources run's items: its CSV's keys, in the source bucket (issue 20).
      const items = flags.sources
        ? inventoryRowsOfSources(await readStoredSources(store, parseS3Url(flags.sources)), sourceBucket ?? (await deployedStackInRegion(flags, clients.s3)).sourceBucket)
        : await readInventoryReport(store, parseS3Url(flags.manifest!), { expectedSourceBucket: sourceBucket });
      report = await verifyRun(context, items, { deep: flags.deep });
    } else {
      const last = flags.manifest ? undefined : await readLastRun(flags.dataDir);
      const manifest = flags.manifest ? parseS3Url(flags.manifest) : last!.manifest;
      // A run killed or stopped is audited like any: its unfinished items are discrepancies.
      if (last && last.status !== 'SUCCEEDED' && last.status !== 'FAILED' && !flags.json) {
        process.stderr.write(`run ${last.execution} did not finish (${last.status === 'RUNNING' ? 'interrupted' : last.status}): \`photo-scaler redrive --data-dir ${flags.dataDir}\` finishes it\n`);
      }
      const stack = await openLocalStack(flags.dataDir);
      try {
        // Every asset and pointer is read from the local S3's files, not through HTTP (see file-reads.ts).
        const context: VerifyContext = { store: localFileReads(stack), catalog: stack.context.catalog, libraryBucket: LOCAL_NAMES.libraryBucket, presets };
        // The last run's items: its inventory report's, or its sources CSV's (a sources run, issue 20).
        report = await verifyRun(context, await runRows(stack.store, last ?? { manifest }), { deep: flags.deep });
      } finally {
        await stack.close();
      }
    }
    process.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : human(report));
    if (report.discrepancies.length > 0) process.exitCode = 1;
  });
}

function human(report: VerifyReport): string {
  const lines = [
    `${report.items} items: ${report.done} DONE, ${report.failed} FAILED (with a reason), ${report.incomplete} neither`,
    `checked ${report.assetsChecked} assets and ${report.pointersChecked} pointers`,
    report.discrepancies.length === 0 ? 'no discrepancies' : `${report.discrepancies.length} discrepancies:`,
    ...report.discrepancies.map((d) => `  ${d.key}: ${d.problem}`),
  ];
  return `${lines.join('\n')}\n`;
}
