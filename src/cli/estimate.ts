import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { config } from '../config';
import { estimate, type Estimate, formatsToPrice, type Serving, servingCost } from '../core/estimate';
import { VARIANT_FORMATS, type VariantFormat } from '../core/layout';
import { DEFAULT_TIMINGS, type Timings } from '../core/prices';
import { validateConfig } from '../core/presets';
import { loadDefinition } from '../local/asl';
import { STATE_MACHINE_FILE } from '../local/state-machines';
import { DEFAULT_DATA_DIR } from '../local/stack';

export const TIMINGS_FILE = 'bench-timings.json';
/** The resolve function's memory in serverless.yml (the package test keeps them equal). */
export const RESOLVE_MEMORY_MB = 1769;

interface EstimateFlags {
  photos: string;
  avgMegapixels: string;
  avgMb: string;
  memory: string;
  concurrency?: string;
  duplicates: string;
  timings?: string;
  serveKb: string;
  formats?: string;
  json?: boolean;
}

export function registerEstimate(program: Command): void {
  program
    .command('estimate')
    .description('cost breakdown and wall-clock time of a migration on AWS, before you spend')
    .requiredOption('--photos <count>', 'number of photos')
    .option('--avg-megapixels <n>', 'average megapixels per photo', '12')
    .option('--avg-mb <n>', 'average file size in MB', '4')
    .option('--memory <MB>', 'Resize Lambda memory (1769 MB = one vCPU)', '1769')
    .option('--concurrency <n>', 'photos at once (default: MaxConcurrency x the batch MaxConcurrency of the state machine)')
    .option('--duplicates <share>', 'share of photos that are exact duplicates (0..1)', '0')
    .option('--serve-kb <n>', 'average size of an image served through the CDN, for the cost of cache misses', '60')
    .option('--timings <file>', `per-photo timings from npm run bench (default: ${DEFAULT_DATA_DIR}/${TIMINGS_FILE}, else built-in defaults)`)
    .option('--formats <list>', `extra formats to price on every preset, as if configured (${VARIANT_FORMATS.join(',')}); formats the config names are priced anyway`)
    .option('--json', 'print one JSON object')
    .action(async (flags: EstimateFlags) => {
      const definition = (await loadDefinition(STATE_MACHINE_FILE)) as { States: Record<string, any> };
      const map = definition.States.ProcessInventory;
      const batchConcurrency = map.ItemProcessor.States.EachPhoto.MaxConcurrency ?? 1;
      const presets = validateConfig(config);
      const result = estimate(
        {
          photos: positive(flags.photos, '--photos'),
          avgMegapixels: positive(flags.avgMegapixels, '--avg-megapixels'),
          avgMB: positive(flags.avgMb, '--avg-mb'),
          memoryMB: positive(flags.memory, '--memory'),
          concurrency: flags.concurrency ? positive(flags.concurrency, '--concurrency') : map.MaxConcurrency * batchConcurrency,
          batchSize: map.ItemBatcher.MaxItemsPerBatch,
          duplicateShare: share(flags.duplicates),
          presets: presets.filter((preset) => preset.variantOf === undefined).length,
          dedupeMemoryMB: 512,
          formats: formatsToPrice(presets, formatList(flags.formats)),
        },
        readTimings(flags.timings),
      );
      const serving = servingCost({ avgKB: positive(flags.serveKb, '--serve-kb'), resolveMemoryMB: RESOLVE_MEMORY_MB });
      // --json: the fields as before, then `formats` last, only when formats are priced.
      const { formats, ...rest } = result;
      process.stdout.write(flags.json ? `${JSON.stringify({ ...rest, serving, ...(formats ? { formats } : {}) })}\n` : human(result) + servingText(serving));
    });
}

export function readTimings(file: string | undefined): Timings {
  const path = file ?? join(DEFAULT_DATA_DIR, TIMINGS_FILE);
  if (!existsSync(path)) {
    if (file) throw new Error(`no timings file at ${file}`);
    return DEFAULT_TIMINGS;
  }
  const measured = JSON.parse(readFileSync(path, 'utf8')) as Partial<Timings>;
  return { ...DEFAULT_TIMINGS, ...measured, source: `${measured.source ?? 'npm run bench'} (${path})` };
}

export function formatList(value: string | undefined): VariantFormat[] {
  if (value === undefined) return [];
  const names = value.split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
  const unknown = names.filter((name) => !(VARIANT_FORMATS as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0) throw new Error(`--formats takes ${VARIANT_FORMATS.join(', ')} (comma-separated), got ${value}`);
  return [...new Set(names)] as VariantFormat[];
}

export function positive(value: string, flag: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new Error(`${flag} must be a positive number, got ${value}`);
  return number;
}

function share(value: string): number {
  const number = Number(value);
  if (!(number >= 0 && number < 1)) throw new Error(`--duplicates must be a share in [0, 1), got ${value}`);
  return number;
}

function human(result: Estimate): string {
  const { input } = result;
  const lines = [
    `${input.photos.toLocaleString('en-US')} photos of ${input.avgMegapixels} MP / ${input.avgMB} MB, Resize at ${input.memoryMB} MB, ${input.concurrency} at once`,
    `per photo: Dedupe ${result.perPhoto.dedupeMs} ms, Resize ${result.perPhoto.resizeMs} ms   (timings: ${result.timings})`,
    '',
    ...result.lines.map((line) => `  ${line.item.padEnd(34)} $${line.usd.toFixed(2).padStart(10)}   ${line.how}`),
    `  ${'total (one run)'.padEnd(34)} $${result.totalUsd.toFixed(2).padStart(10)}`,
    `  ${'storage per month'.padEnd(34)} $${result.storagePerMonthUsd.toFixed(2).padStart(10)}   ${result.storageHow}`,
    `  ${'wall clock'.padEnd(34)} ${result.wallClockHours.toFixed(2).padStart(8)} h   ${result.wallClockHow}`,
    ...(result.formats
      ? [
          '',
          `Extra formats (included above): +$${result.formats.addedUsd.toFixed(2)} per run, +$${result.formats.addedStoragePerMonthUsd.toFixed(2)} storage per month, +${result.formats.addedWallClockHours.toFixed(2)} h wall clock; +${result.formats.addedPuts.toLocaleString('en-US')} PUTs, +${result.formats.addedCatalogRows.toLocaleString('en-US')} catalog rows`,
          ...result.formats.perFormat.map((f) => `  ${f.format.padEnd(6)} +${f.addedResizeMs} ms Resize per photo, +${f.addedStorageGb} GB   ${f.how}`),
        ]
      : []),
    '',
    `Prices: ${result.prices.region} list prices of ${result.prices.date} (src/core/prices.ts). Network times are assumptions (AWS_ASSUMPTIONS there).`,
  ];
  return `${lines.join('\n')}\n`;
}

function servingText(serving: Serving): string {
  const mechanism = (m: Serving['resolver']) => [
    `  ${m.name.padEnd(44)} $${m.usdPerMillionMisses.toFixed(2).padStart(7)} per million misses`,
    ...m.lines.map((line) => `    ${line.item.padEnd(30)} $${line.usd.toFixed(2).padStart(7)}   ${line.how}`),
  ];
  return `${[
    '',
    `Serving through the CDN, images of ${serving.input.avgKB} KB on average:`,
    `  CloudFront (every request, hit or miss)      $${serving.cdnUsdPerMillionRequests.toFixed(2).padStart(7)} per million   ${serving.cdnHow}`,
    ...mechanism(serving.resolver),
    ...mechanism(serving.lambdaAtEdge),
  ].join('\n')}\n`;
}
