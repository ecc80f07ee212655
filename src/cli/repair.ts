import type { Command } from 'commander';
import { DynamoCatalog } from '../aws/dynamo-catalog';
import { S3ObjectStore } from '../aws/s3-store';
import { config } from '../config';
import type { StepContext } from '../core/context';
import { readInventoryReport } from '../core/inventory/read';
import { validateConfig } from '../core/presets';
import { type RepairReport, repairRun } from '../core/repair';
import { readLastRun } from '../local/migrate';
import { inventoryRowsOfSources, readStoredSources, runRows } from '../local/sources';
import { DEFAULT_DATA_DIR, openLocalStack } from '../local/stack';
import { type AwsFlags, awsClients, deployedStackInRegion, parseS3Url, withAwsOptions } from './aws';

interface RepairFlags extends AwsFlags {
  dataDir: string;
  manifest?: string;
  sources?: string;
  json?: boolean;
  aws?: boolean;
}

/** The runId repaired rows record. */
export const REPAIR_RUN_ID = 'repair';

export function registerRepair(program: Command): void {
  const command = program
    .command('repair')
    .description('mend what verify --deep finds: render again every item with a missing or corrupt asset, a wrong or missing pointer or missing rows, then verify again; exit 1 unless clean')
    .option('--data-dir <dir>', 'local data (the last run there is repaired)', DEFAULT_DATA_DIR)
    .option('--sources <s3-url>', 'with --aws: the items of this sources CSV instead (a sources run, started with start --sources)')
    .option('--manifest <s3-url>', 'repair the items of this inventory manifest instead (s3://bucket/key/manifest.json)')
    .option('--json', 'print one JSON object')
    .option('--aws', 'repair on AWS (credentials from the environment; renders on this machine) instead of the local stack');
  withAwsOptions(command).action(async (flags: RepairFlags) => {
    const presets = validateConfig(config);
    let report: RepairReport;
    if (flags.aws) {
      if (!flags.manifest && !flags.sources) throw new Error('--aws needs --manifest s3://<bucket>/<key>/manifest.json (the report the run was started on), or --sources s3://<bucket>/sources/<name>.csv (a sources run\'s CSV)');
      const clients = awsClients(flags.region);
      const stack = await deployedStackInRegion(flags, clients.s3);
      const store = new S3ObjectStore(clients.s3);
      const context: StepContext = { store, catalog: new DynamoCatalog(clients.dynamo, stack.catalogTable), libraryBucket: stack.libraryBucket, config, presets };
      // A sources run's items: its CSV's keys, in the source bucket (issue 20).
      const items = flags.sources
        ? inventoryRowsOfSources(await readStoredSources(store, parseS3Url(flags.sources)), stack.sourceBucket)
        : await readInventoryReport(store, parseS3Url(flags.manifest!), { expectedSourceBucket: stack.sourceBucket });
      report = await repairRun(context, items, REPAIR_RUN_ID);
    } else {
      // The last run's items: its inventory report's, or its sources CSV's (a sources run, issue 20).
      const run = flags.manifest ? { manifest: parseS3Url(flags.manifest) } : await readLastRun(flags.dataDir);
      const stack = await openLocalStack(flags.dataDir);
      try {
        report = await repairRun(stack.context, await runRows(stack.store, run), REPAIR_RUN_ID);
      } finally {
        await stack.close();
      }
    }
    process.stdout.write(flags.json ? `${JSON.stringify(jsonOf(report))}\n` : human(report));
    if (report.after.discrepancies.length > 0) process.exitCode = 1;
  });
}

function jsonOf(report: RepairReport) {
  const counts = (r: RepairReport['before']) => ({ items: r.items, done: r.done, failed: r.failed, incomplete: r.incomplete, discrepancies: r.discrepancies.length });
  return { before: counts(report.before), repaired: report.repaired, corruptAssetsDeleted: report.corruptAssetsDeleted, failures: report.failed, after: { ...counts(report.after), discrepancies: report.after.discrepancies } };
}

function human(report: RepairReport): string {
  const { before, after } = report;
  const lines = [
    `before: ${before.items} items, ${before.done} DONE, ${before.failed} FAILED, ${before.damagedKeys.length} damaged, ${before.unfinishedKeys.length} not finished`,
    report.repaired.length === 0 && report.failed.length === 0 ? 'nothing to repair' : `repaired ${report.repaired.length} items (${report.corruptAssetsDeleted} corrupt assets deleted and written again)`,
    ...report.failed.map((f) => `  could not repair ${f.key}: ${f.error}`),
    `after: ${after.items} items, ${after.done} DONE, ${after.failed} FAILED, ${after.discrepancies.length === 0 ? 'no discrepancies' : `${after.discrepancies.length} discrepancies:`}`,
    ...after.discrepancies.map((d) => `  ${d.key}: ${d.problem}`),
  ];
  return `${lines.join('\n')}\n`;
}
