import type { Command } from 'commander';
import { type Destination, DEFAULT_INVENTORY_ID, enableInventory, latestReport, parseDestination } from '../aws/inventory-config';
import { type AwsFlags, awsClients, deployedStackInRegion, withAwsOptions } from './aws';

interface InventoryFlags extends AwsFlags {
  bucket?: string;
  destination?: string;
  id: string;
  json?: boolean;
}

export function registerInventory(program: Command): void {
  const inventory = program.command('inventory').description('S3 Inventory of the source bucket: the reports a run reads');
  const options = (command: Command) =>
    withAwsOptions(
      command
        .option('--bucket <source>', 'the source bucket (default: the stack\'s)')
        .option('--destination <s3-url>', 'where reports go, s3://<bucket>/<prefix> (default: the stack\'s inventory bucket and prefix)')
        .option('--id <id>', 'inventory configuration id', DEFAULT_INVENTORY_ID)
        .option('--json', 'print one JSON object'),
    );

  options(
    inventory
      .command('enable')
      .description('turn on a daily CSV inventory (Size, LastModifiedDate, ETag) of the source bucket and let S3 deliver it to the destination'),
  ).action(async (flags: InventoryFlags) => {
    const { bucket, destination } = await where(flags);
    const { s3, sts } = awsClients(flags.region);
    const enabled = await enableInventory(s3, sts, { sourceBucket: bucket, destination, id: flags.id });
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(enabled)}\n`);
      return;
    }
    process.stdout.write(
      [
        `inventory "${enabled.id}" of s3://${bucket}: daily, CSV, current versions, fields Size, LastModifiedDate, ETag`,
        `  reports to   ${enabled.reports}`,
        `  policy       ${enabled.policyChanged ? 'added' : 'already had'} statement ${enabled.policyStatement} on s3://${destination.bucket} (S3 may deliver there)`,
        '  first report within 48 hours; then `npx photo-scaler inventory latest` (the stack starts a run on each new report by itself)',
        '',
      ].join('\n'),
    );
  });

  options(inventory.command('latest').description('the newest complete report (the latest delivery with manifest.checksum): its manifest.json')).action(
    async (flags: InventoryFlags) => {
      const { bucket, destination } = await where(flags);
      const latest = await latestReport(awsClients(flags.region).s3, bucket, destination, flags.id);
      const url = `s3://${latest.bucket}/${latest.key}`;
      process.stdout.write(flags.json ? `${JSON.stringify({ ...latest, url })}\n` : `${url}\n`);
    },
  );
}

/** --bucket and --destination, each defaulting to the deployed stack's. */
async function where(flags: InventoryFlags): Promise<{ bucket: string; destination: Destination }> {
  if (flags.bucket && flags.destination) return { bucket: flags.bucket, destination: parseDestination(flags.destination) };
  const stack = await deployedStackInRegion(flags, awsClients(flags.region).s3);
  return {
    bucket: flags.bucket ?? stack.sourceBucket,
    destination: flags.destination ? parseDestination(flags.destination) : { bucket: stack.inventoryBucket, prefix: stack.inventoryPrefix },
  };
}
