import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import { config } from '../config';
import { formatsToPrice } from '../core/estimate';
import type { ManifestRef } from '../core/inventory/manifest';
import { copyCost, putRequestsFor } from '../core/fetch/copy-cost';
import { checkSourceRows, readSources } from '../core/fetch/sources-csv';
import { redactUrl } from '../core/fetch/url-check';
import { type MachineShape, type Plan, planInventory, type PlanInventoryOptions, type PlanObject, planOf, type Tally, tallyObjects } from '../core/plan';
import type { Catalog, ObjectStore } from '../core/ports';
import { validateConfig } from '../core/presets';
import { derivedPrefixOf } from '../core/source';
import { loadDefinition } from '../local/asl';
import { openLocalReport } from '../local/report-dir';
import { SOURCES_STATE_MACHINE_FILE, STATE_MACHINE_FILE } from '../local/state-machines';
import { type AwsFlags, parseS3Url, withAwsOptions } from './aws';
import { formatList, positive, readTimings } from './estimate';

interface PlanFlags extends AwsFlags {
  manifest?: string;
  sources?: string;
  json?: boolean;
  aws?: boolean;
  table?: string;
  dataDir?: string;
  avgMegapixels?: string;
  memory: string;
  timings?: string;
  formats?: string;
}


/** The Resize and Dedupe memory of serverless.yml (estimate's defaults). */
const DEDUPE_MEMORY_MB = 512;

export function registerPlan(program: Command): void {
  const command = program
    .command('plan')
    .description('read an S3 Inventory report (streamed) and say what a run on it will do and cost, before you start it')
    .option('--manifest <s3-url|path>', 'the report: s3://<bucket>/<prefix>/manifest.json, or a manifest.json on disk (as aws s3 sync copies a report)')
    .option('--sources <s3-url|path>', 'instead of a report, a sources file (CSV of key,url,…: a sources run) — prices its copy phase and the run')
    .option('--json', 'print one JSON object')
    .option('--aws', 'compare with the deployed stack\'s catalog (what a rerun would skip)')
    .option('--table <name>', 'compare with this catalog table on AWS (what a rerun would skip)')
    .option('--data-dir <dir>', 'compare with the catalog of the local stack in <dir> (what a local rerun would skip)')
    .option('--avg-megapixels <n>', 'average megapixels of an original (default: from the average size, 3 MP per MB)')
    .option('--memory <MB>', 'Resize Lambda memory (1769 MB = one vCPU)', '1769')
    .option('--timings <file>', 'per-photo timings from npm run bench (default: as estimate)')
    .option('--formats <list>', 'extra formats to price on every preset, as estimate --formats');
  withAwsOptions(command).action(async (flags: PlanFlags) => {
    if ((flags.manifest === undefined) === (flags.sources === undefined)) throw new Error('give either --manifest <report> or --sources <file.csv>');
    if (flags.sources !== undefined) return planSourcesCommand(flags);
    const presets = validateConfig(config);
    const base = {
      presets,
      derivedPrefixBytes: derivedPrefixOf({ presets, config }),
      maxInputBytes: config.limits.maxInputBytes,
    };
    const manifestAt = flags.manifest!;
    const onS3 = manifestAt.startsWith('s3://');
    let closeStack: (() => Promise<void>) | undefined;
    let store: ObjectStore;
    let ref: ManifestRef;
    let options: PlanInventoryOptions = base;
    let catalog: Catalog | undefined;
    try {
      if (onS3) {
        ref = parseS3Url(manifestAt);
        // The AWS adapters are loaded only for a report in S3: a report on disk is read in a lean process.
        const [{ S3ObjectStore }, { DynamoCatalog }, { awsClients, deployedStackInRegion }] = await Promise.all([import('../aws/s3-store'), import('../aws/dynamo-catalog'), import('./aws')]);
        const clients = awsClients(flags.region);
        store = new S3ObjectStore(clients.s3);
        let table = flags.table;
        if (flags.aws) {
          const stack = await deployedStackInRegion(flags, clients.s3);
          table ??= stack.catalogTable;
          options = { ...options, expectedSourceBucket: stack.sourceBucket };
        }
        if (table) catalog = new DynamoCatalog(clients.dynamo, table);
      } else {
        if (flags.aws) throw new Error('--aws needs an s3:// manifest (the report in the stack\'s inventory bucket)');
        const local = await openLocalReport(manifestAt);
        store = local.store;
        ref = local.ref;
        options = { ...options, where: local.where };
        if (flags.table) {
          const [{ DynamoCatalog }, { awsClients }] = await Promise.all([import('../aws/dynamo-catalog'), import('./aws')]);
          catalog = new DynamoCatalog(awsClients(flags.region).dynamo, flags.table);
        } else if (flags.dataDir) {
          const { openLocalStack } = await import('../local/stack');
          const stack = await openLocalStack(flags.dataDir);
          closeStack = () => stack.close();
          catalog = stack.context.catalog;
        }
      }
      const { manifest, tally } = await planInventory(store, ref, { ...options, ...(catalog ? { catalog: { catalog } } : {}) });
      const { plan } = await priced(tally, STATE_MACHINE_FILE, 'ProcessInventory', flags);
      const where = onS3 ? manifestAt : options.where!(ref.key);
      process.stdout.write(flags.json ? `${JSON.stringify({ manifest: where, sourceBucket: manifest.sourceBucket, ...plan })}\n` : human(where, manifest.sourceBucket, plan));
    } finally {
      await closeStack?.();
    }
  });
}

const count = (value: number) => value.toLocaleString('en-US');
const size = (bytes: number) => (bytes >= 1e12 ? `${(bytes / 1e12).toFixed(2)} TB` : bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : bytes >= 1e3 ? `${(bytes / 1e3).toFixed(1)} KB` : `${bytes} B`);

/** A key as printed: long ones cut in the middle (--json has them whole). */
const shorten = (text: string) => (text.length > 120 ? `${text.slice(0, 80)}…${text.slice(-30)} (${text.length} characters)` : text);

function human(where: string, sourceBucket: string, plan: Plan): string {
  const { estimate, requestRate, duplicates } = plan;
  const lines = [
    `${where}: ${count(plan.objects)} objects, ${size(plan.bytes)}, of bucket ${sourceBucket}`,
    '',
    'Sizes:',
    ...plan.sizes.filter((bucket) => bucket.objects > 0).map((bucket) => `  ${bucket.range.padEnd(20)} ${count(bucket.objects).padStart(12)}   ${size(bucket.bytes)}`),
    '',
    'Extensions:',
    ...plan.extensions.slice(0, 15).map((ext) => `  ${ext.extension.padEnd(10)} ${count(ext.objects).padStart(12)}   ${size(ext.bytes).padStart(10)}   ${ext.format}`),
    ...(plan.extensions.length > 15 ? [`  … ${plan.extensions.length - 15} more (--json lists them)`] : []),
    '',
    'Largest:',
    ...plan.largest.map((object) => `  ${size(object.size).padStart(10)}   ${shorten(object.key)}`),
    '',
    plan.refusals.length === 0 ? 'Refused before rendering: none' : `Refused before rendering: ${count(Object.values(plan.refused).reduce((sum, n) => sum + n, 0))}`,
    ...plan.refusals.flatMap((refusal) => [
      `  ${refusal.reason.padEnd(17)} ${count(refusal.objects).padStart(10)}   ${refusal.what}`,
      ...refusal.examples.map((example) => `      ${shorten(JSON.stringify(example.key))}: ${example.why}`),
    ]),
    '',
    `Likely duplicates (same ETag and size): ${count(duplicates.groups)} groups, ${count(duplicates.objects)} objects (${count(duplicates.extraCopies)} copies beyond the first)${duplicates.exact ? '' : ' — lower bound'}; ${count(duplicates.multipartObjects)} objects have multipart ETags`,
    `  ${duplicates.note}`,
    ...(plan.catalog ? ['', `Already in the catalog, unchanged (a rerun skips them): ${count(plan.catalog.unchanged)} of ${count(plan.catalog.checked)} checked, ${size(plan.catalog.unchangedBytes)}`] : []),
    '',
    `To process: ${count(plan.toProcess.objects)} photos, ${size(plan.toProcess.bytes)}`,
    ...(estimate.input === null
      ? ['  nothing to process: $0.00']
      : [
          ...estimate.lines.map((line) => `  ${line.item.padEnd(34)} $${line.usd.toFixed(2).padStart(10)}   ${line.how}`),
          `  ${'total (one run)'.padEnd(34)} $${estimate.totalUsd.toFixed(2).padStart(10)}`,
          `  ${'storage per month'.padEnd(34)} $${estimate.storagePerMonthUsd.toFixed(2).padStart(10)}   ${estimate.storageHow}`,
          `  ${'wall clock'.padEnd(34)} ${estimate.wallClockHours.toFixed(2).padStart(8)} h   ${estimate.wallClockHow}`,
          `  (avg ${estimate.input.avgMegapixels} MP assumed; timings: ${estimate.timings})`,
        ]),
    '',
    `Request rate: ${requestRate.putPerSecond} PUT/s, ${requestRate.getPerSecond} GET/s at MaxConcurrency ${requestRate.maxConcurrency} — S3 allows ${count(requestRate.limits.putPerSecondPerPrefix)} PUT/s and ${count(requestRate.limits.getPerSecondPerPrefix)} GET/s per partitioned prefix (${requestRate.limits.source})`,
    `  ${requestRate.throttled ? `over: lower MaxConcurrency to ${requestRate.recommendedMaxConcurrency} (wall clock then ${requestRate.wallClockHoursAtRecommended.toFixed(2)} h)` : `within: MaxConcurrency ${requestRate.recommendedMaxConcurrency} is fine`}. ${requestRate.how}`,
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * `plan --sources <file.csv>`: the sources file read twice, streamed (the first time to check every row,
 * as `run --sources` and `start --sources` do, and to learn the average size of the rows that give one;
 * the second to tally): the rows are planned as the objects the copy will make (a row without `size` at
 * that average), then the copy phase is priced beside the run.
 */
async function planSourcesCommand(flags: PlanFlags): Promise<void> {
  const presets = validateConfig(config);
  const at = flags.sources!;
  const open = await sourcesReader(at, flags);
  // Checked as run and start check it: a bad row refuses the whole file, each bad line named.
  const first = { sized: 0, sizedBytes: 0 };
  const rows = await checkSourceRows(await open(), redactUrl(at), 'nothing planned', (row) => {
    if (row.size === undefined) return;
    first.sized++;
    first.sizedBytes += row.size;
  });
  const assumedSize = first.sized > 0 ? Math.round(first.sizedBytes / first.sized) : 0;
  const totals = { rows: 0, bytes: 0, requests: 0, parts: 0 };
  async function* objects(): AsyncGenerator<PlanObject> {
    for await (const record of readSources(await open(), redactUrl(at))) {
      if ('error' in record) continue;
      const size = record.row.size ?? assumedSize;
      const puts = putRequestsFor(size);
      totals.rows++;
      totals.bytes += size;
      totals.requests += puts.requests;
      totals.parts += puts.parts;
      // A single-part PutObject's ETag is the MD5 of its bytes: a row's md5 is what its object's ETag will be.
      yield { key: record.row.key, size, ...(record.row.md5 ? { etag: record.row.md5 } : {}) };
    }
  }
  const tally = await tallyObjects(objects(), { presets, derivedPrefixBytes: derivedPrefixOf({ presets, config }), maxInputBytes: config.limits.maxInputBytes });
  const { plan, machine } = await priced(tally, SOURCES_STATE_MACHINE_FILE, 'ProcessSources', flags);
  const copy = { ...copyCost(totals, Math.min(machine.maxConcurrency * machine.batchConcurrency, FETCH_CONCURRENCY)), rowsWithoutSize: rows - first.sized, assumedSizeBytes: assumedSize };
  const where = redactUrl(at);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ sources: where, ...plan, copy })}\n`);
    return;
  }
  const copyLines = [
    '',
    `Copy phase (sources run): ${count(copy.rows)} rows, ${size(copy.bytes)}${copy.rowsWithoutSize > 0 ? ` (${count(copy.rowsWithoutSize)} rows without a size counted at the others' average, ${size(assumedSize)})` : ''}`,
    ...copy.lines.map((line) => `  ${line.item.padEnd(34)} $${line.usd.toFixed(2).padStart(10)}   ${line.how}`),
    `  ${'total (copy)'.padEnd(34)} $${copy.totalUsd.toFixed(2).padStart(10)}`,
    `  ${'wall clock (copy)'.padEnd(34)} ${copy.wallClockHours.toFixed(2).padStart(8)} h`,
    `  ${copy.egress}`,
  ];
  process.stdout.write(human(where, 'the source bucket (after the copy)', plan) + `${copyLines.join('\n')}\n`);
}

/** The fetch function's reserved concurrency by default (serverless.yml param fetchConcurrency). */
const FETCH_CONCURRENCY = 50;

/** A way to read the sources file from its start, as many times as asked (a file, or an object in S3). */
async function sourcesReader(at: string, flags: PlanFlags): Promise<() => Promise<AsyncIterable<Uint8Array>>> {
  if (!at.startsWith('s3://')) {
    await access(at).catch(() => {
      throw new Error(`no sources file at ${at}`);
    });
    return async () => createReadStream(at);
  }
  const ref = parseS3Url(at);
  const [{ S3ObjectStore }, { awsClients }] = await Promise.all([import('../aws/s3-store'), import('./aws')]);
  const store = new S3ObjectStore(awsClients(flags.region).s3);
  return async () => (await store.openRead(ref)).body as AsyncIterable<Uint8Array>;
}

/** The tally priced (estimate.ts) and paced on the shape of the state machine in `file` (its Distributed Map `mapState`). */
async function priced(tally: Tally, file: string, mapState: string, flags: PlanFlags): Promise<{ plan: Plan; machine: MachineShape }> {
  const presets = validateConfig(config);
  const definition = (await loadDefinition(file)) as { States: Record<string, any> };
  const map = definition.States[mapState];
  const machine: MachineShape = { maxConcurrency: map.MaxConcurrency, batchConcurrency: map.ItemProcessor.States.EachPhoto.MaxConcurrency ?? 1, batchSize: map.ItemBatcher.MaxItemsPerBatch };
  const plan = planOf(tally, {
    machine,
    timings: readTimings(flags.timings),
    presets: presets.filter((preset) => preset.variantOf === undefined).length,
    formats: formatsToPrice(presets, formatList(flags.formats)),
    memoryMB: positive(flags.memory, '--memory'),
    dedupeMemoryMB: DEDUPE_MEMORY_MB,
    avgMegapixels: flags.avgMegapixels ? positive(flags.avgMegapixels, '--avg-megapixels') : undefined,
  });
  return { plan, machine };
}
