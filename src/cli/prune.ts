import type { Command } from 'commander';
import { CloudFrontCache } from '../aws/cloudfront-cache';
import { makeCloudFrontClient } from '../aws/clients';
import { DynamoCatalog } from '../aws/dynamo-catalog';
import { S3ObjectStore } from '../aws/s3-store';
import { config } from '../config';
import type { StepContext } from '../core/context';
import { ConfigError } from '../core/errors';
import { validateConfig } from '../core/presets';
import { parseDuration, type PruneReport, pruneLibrary } from '../core/prune';
import { DEFAULT_DATA_DIR, openLocalStack } from '../local/stack';
import { type AwsFlags, awsClients, deployedStackInRegion, withAwsOptions } from './aws';

interface PruneFlags extends AwsFlags {
  dataDir: string;
  apply?: boolean;
  grace: string;
  json?: boolean;
  aws?: boolean;
  distribution?: string;
}

/**
 * Default grace period: a day. A run writes each asset moments before its rows, but a run held up
 * by retries, a paused redrive or a slow index must never lose an asset it is about to name.
 */
export const DEFAULT_GRACE = '24h';

export function registerPrune(program: Command): void {
  const command = program
    .command('prune')
    .description('find the assets of the library no catalog row references (a replaced photo\'s old crops, stale on-demand sizes) — a dry run unless --apply; assets younger than --grace are never taken')
    .option('--data-dir <dir>', 'local data', DEFAULT_DATA_DIR)
    .option('--apply', 'delete the orphans found (otherwise only list them)')
    .option('--grace <duration>', 'leave assets written less than this long ago (90s, 30m, 2h, 7d; 0 for none)', DEFAULT_GRACE)
    .option('--json', 'print one JSON object')
    .option('--aws', 'prune the deployed stack\'s library bucket (credentials from the environment) instead of the local stack')
    .option('--distribution <id>', 'with --aws and --apply: also invalidate the deleted assets in this CloudFront distribution');
  withAwsOptions(command).action(async (flags: PruneFlags) => {
    const graceMs = parseDuration(flags.grace);
    if (graceMs === undefined) throw new ConfigError(`--grace ${flags.grace}: use a number with s, m, h or d (e.g. 30m, 24h), or 0`);
    const presets = validateConfig(config);
    let report: PruneReport;
    if (flags.aws) {
      const clients = awsClients(flags.region);
      const stack = await deployedStackInRegion(flags, clients.s3);
      const context: StepContext = {
        store: new S3ObjectStore(clients.s3),
        catalog: new DynamoCatalog(clients.dynamo, stack.catalogTable),
        libraryBucket: stack.libraryBucket,
        config,
        presets,
        ...(flags.distribution ? { cdn: new CloudFrontCache(makeCloudFrontClient(flags.region ? { region: flags.region } : {}), flags.distribution) } : {}),
      };
      report = await pruneLibrary(context, { apply: flags.apply, graceMs });
    } else {
      const stack = await openLocalStack(flags.dataDir);
      try {
        report = await pruneLibrary(stack.context, { apply: flags.apply, graceMs });
      } finally {
        await stack.close();
      }
    }
    process.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : human(report));
  });
}

function human(report: PruneReport): string {
  const mb = (report.orphanBytes / 1e6).toFixed(1);
  const lines = [
    `${report.assets} assets: ${report.referenced} referenced, ${report.orphans} orphans (${mb} MB), ${report.tooNew} younger than the grace period (${report.graceSeconds} s)${report.unrecognised > 0 ? `, ${report.unrecognised} not named as assets are (left alone)` : ''}`,
    ...report.orphanKeys.map((key) => `  ${key}`),
    ...(report.orphans > report.orphanKeys.length ? [`  … and ${report.orphans - report.orphanKeys.length} more`] : []),
    report.applied ? `deleted ${report.deleted} orphans` : report.orphans > 0 ? 'dry run: nothing deleted (add --apply to delete them)' : 'nothing to prune',
  ];
  return `${lines.join('\n')}\n`;
}
