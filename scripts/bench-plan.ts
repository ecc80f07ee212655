/**
 * `npm run bench -- --only plan [--json] [--plan-rows 100000,1000000]`: `photo-scaler plan` and the
 * local executor's ItemReader + ItemBatcher on synthetic S3 Inventory reports in the real format
 * (gzipped CSV data files of 10,000 rows, manifest.json with their MD5s, manifest.checksum), laid out
 * on disk as `aws s3 sync` copies a report. Each measurement in a fresh child process: wall time,
 * rows (items) per second, and peak RSS (VmHWM), for each row count: both must stay flat (≤ 200 MB)
 * however many rows there are. Beside the CLI, plan's core alone (planInventory in a process that
 * loads only it) and the CLI's fixed part (`plan --help`: main.ts loads every command's modules).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type InventoryObject, writeInventoryReport } from '../src/local/inventory-writer';

const round = (value: number) => Math.round(value * 100) / 100;

/**
 * `count` objects as a photo library's inventory lists them, deterministic: camera-roll keys in
 * year/month folders, sizes from 150 KB to ~12 MB, single-part ETags (MD5s); every 25th a copy of an
 * earlier object (same ETag and size), 2 % multipart ETags, and a few of each refusal (empty, folder
 * marker, text files, a preset's prefix, over the size limit). Generated as written.
 */
export function* syntheticObjects(count: number): Generator<InventoryObject> {
  const lastModified = new Date('2025-06-01T00:00:00Z');
  const etagOf = (i: number) => createHash('md5').update(`object ${i}`).digest('hex');
  const sizeOf = (i: number) => 150_000 + ((i * 2_654_435_761) % 12_000_000);
  for (let i = 0; i < count; i++) {
    const folder = `photos/${2010 + (i % 15)}/${String(1 + (i % 12)).padStart(2, '0')}`;
    if (i % 25 === 24) {
      const original = i - 17;
      yield { key: `${folder}/copy of IMG_${original}.jpg`, size: sizeOf(original), etag: etagOf(original), lastModified };
    } else if (i % 1000 === 1) yield { key: `${folder}/`, size: 0, etag: 'd41d8cd98f00b204e9800998ecf8427e', lastModified };
    else if (i % 1000 === 2) yield { key: `${folder}/empty ${i}.jpg`, size: 0, etag: 'd41d8cd98f00b204e9800998ecf8427e', lastModified };
    else if (i % 1000 === 3) yield { key: `${folder}/notes ${i}.txt`, size: 2_000, etag: etagOf(i), lastModified };
    else if (i % 1000 === 4) yield { key: `thumb/${folder}/IMG_${i}.jpg`, size: sizeOf(i), etag: etagOf(i), lastModified };
    else if (i % 5000 === 5) yield { key: `${folder}/pano ${i}.tif`, size: 250_000_000, etag: `${etagOf(i)}-30`, lastModified };
    else if (i % 50 === 7) yield { key: `${folder}/IMG_${i}.JPG`, size: sizeOf(i) + 20_000_000, etag: `${etagOf(i)}-3`, lastModified };
    else yield { key: `${folder}/IMG_${i} (${i % 7 === 0 ? 'édité+1' : 'o'}).${i % 10 === 0 ? 'png' : 'jpg'}`, size: sizeOf(i), etag: etagOf(i), lastModified };
  }
}

export async function writeSyntheticReport(dir: string, rows: number): Promise<string> {
  const { manifestPath } = await writeInventoryReport(dir, {
    sourceBucket: 'photos-source',
    destinationBucket: 'photos-inventory',
    prefix: 'inventory',
    objects: syntheticObjects(rows),
    now: new Date('2026-12-01T06:00:00Z'),
    rowsPerFile: 10_000,
  });
  return manifestPath;
}

/** A fresh `node` running `args` (with tsx), its wall time, peak RSS (VmHWM, MB), CPU time and stdout as JSON. */
export async function measured(work: string, args: string[], json = true): Promise<{ seconds: number; cpuSeconds: number; peakRssMB: number; json: Record<string, any> }> {
  const hwmFile = join(work, `hwm-${process.pid}-${Date.now()}`);
  const preload = join(work, 'plan-hwm.mjs');
  await writeFile(preload, `import { readFileSync, writeFileSync } from 'node:fs';
process.on('exit', () => {
  // VmHWM belongs to this process image; ru_maxrss would carry over the forking parent's size.
  const hwm = /VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  const usage = process.resourceUsage();
  writeFileSync(process.env.PHOTO_SCALER_BENCH_HWM, JSON.stringify({ kB: hwm ? Number(hwm[1]) : usage.maxRSS, cpuMicros: usage.userCPUTime + usage.systemCPUTime }));
});\n`);
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', preload, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PHOTO_SCALER_BENCH_HWM: hwmFile } });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const seconds = round((performance.now() - started) / 1000);
  if (code !== 0) throw new Error(`${args.join(' ')} exited ${code}: ${out.slice(0, 500)}`);
  const usage = JSON.parse(await readFile(hwmFile, 'utf8')) as { kB: number; cpuMicros: number };
  return { seconds, cpuSeconds: round(usage.cpuMicros / 1e6), peakRssMB: Math.round(usage.kB / 1024), json: json ? (JSON.parse(out) as Record<string, any>) : {} };
}

/**
 * The executor's reading of a report alone: migrate.asl.yaml's ItemReader, ItemSelector and
 * ItemBatcher (8 a batch, MaxConcurrency 20) over the report on disk, a Task per batch that does
 * nothing, and the ResultWriter's records written to nowhere (counted).
 */
const EXECUTOR_SCRIPT = (src: string) => `import { startExecution } from ${JSON.stringify(join(src, 'local/asl/index.ts'))};
import { openLocalReport } from ${JSON.stringify(join(src, 'local/report-dir.ts'))};
const report = await openLocalReport(process.argv[2]);
const reads = report.store;
let written = 0;
const store = {
  get: (ref) => reads.get(ref),
  openRead: (ref) => reads.openRead(ref),
  head: async (ref) => (ref.bucket === 'results' ? undefined : reads.head(ref)),
  put: async (_ref, body) => ((written += body.byteLength), true),
  delete: async () => {},
  list: async function* () {},
};
const definition = {
  StartAt: 'ProcessInventory',
  States: {
    ProcessInventory: {
      Type: 'Map',
      ItemReader: { Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'MANIFEST' }, Parameters: { 'Bucket.$': '$.manifest.bucket', 'Key.$': '$.manifest.key' } },
      ItemSelector: { 'bucket.$': '$$.Map.Item.Value.Bucket', 'key.$': '$$.Map.Item.Value.Key', 'size.$': '$$.Map.Item.Value.Size', 'etag.$': '$$.Map.Item.Value.ETag' },
      ItemBatcher: { MaxItemsPerBatch: 8, MaxInputBytesPerBatch: 262144, BatchInput: { 'runId.$': '$$.Execution.Name' } },
      MaxConcurrency: 20,
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' }, StartAt: 'Nothing', States: { Nothing: { Type: 'Task', Resource: { 'Fn::GetAtt': ['nothing', 'Arn'] }, End: true } } },
      ResultWriter: { Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: 'results', Prefix: 'runs' } },
      End: true,
    },
  },
};
let items = 0;
let totalItems = 0;
const started = performance.now();
const result = await startExecution({
  definition,
  input: { manifest: report.ref },
  name: 'bench',
  tasks: { nothing: async (event) => ((items += event.Items.length), null) },
  store,
  timeScale: 0,
  onEvent: (event) => event.type === 'mapRunStarted' && (totalItems = event.totalItems),
});
process.stdout.write(JSON.stringify({ status: result.status, error: result.error, cause: result.cause, items, totalItems, seconds: (performance.now() - started) / 1000, resultBytes: written }));
`;

/** plan's core alone (planInventory over the report on disk), in a process that loads nothing else: plan's own memory, without the CLI's. */
const CORE_SCRIPT = (src: string) => `import { planInventory } from ${JSON.stringify(join(src, 'core/plan.ts'))};
import { openLocalReport } from ${JSON.stringify(join(src, 'local/report-dir.ts'))};
import { config } from ${JSON.stringify(join(src, 'config.ts'))};
import { validateConfig } from ${JSON.stringify(join(src, 'core/presets.ts'))};
import { derivedPrefixOf } from ${JSON.stringify(join(src, 'core/source.ts'))};
const presets = validateConfig(config);
const report = await openLocalReport(process.argv[2]);
const { tally } = await planInventory(report.store, report.ref, { presets, derivedPrefixBytes: derivedPrefixOf({ presets, config }), maxInputBytes: config.limits.maxInputBytes, where: report.where });
process.stdout.write(JSON.stringify({ objects: tally.objects }));
`;

export async function planBench(work: string, rowCounts: readonly number[], log: (line: string) => void) {
  const src = join(import.meta.dirname, '../src');
  const script = join(work, 'executor-read.mts');
  await writeFile(script, EXECUTOR_SCRIPT(src));
  const coreScript = join(work, 'plan-core.mts');
  await writeFile(coreScript, CORE_SCRIPT(src));
  // What the CLI process holds before it reads a row: every command's modules are loaded by main.ts.
  const cliBaseline = await measured(work, [join(import.meta.dirname, 'photo-scaler.mjs'), 'plan', '--help'], false);
  log(`photo-scaler plan --help: peak RSS ${cliBaseline.peakRssMB} MB (the CLI's fixed part)`);
  const results = [];
  for (const rows of rowCounts) {
    const generatedAt = performance.now();
    const manifest = await writeSyntheticReport(join(work, `report-${rows}`), rows);
    const generateSeconds = round((performance.now() - generatedAt) / 1000);
    const plan = await measured(work, [join(import.meta.dirname, 'photo-scaler.mjs'), 'plan', '--manifest', manifest, '--json']);
    if (plan.json.objects !== rows) throw new Error(`plan counted ${plan.json.objects} objects of ${rows}`);
    const core = await measured(work, ['--import', 'tsx', coreScript, manifest]);
    if (core.json.objects !== rows) throw new Error(`plan's core counted ${core.json.objects} objects of ${rows}`);
    const executor = await measured(work, ['--import', 'tsx', script, manifest]);
    if (executor.json.status !== 'SUCCEEDED' || executor.json.items !== rows) throw new Error(`the executor's read of ${rows} rows: ${JSON.stringify(executor.json).slice(0, 500)}`);
    const entry = {
      rows,
      generateSeconds,
      plan: {
        seconds: plan.seconds,
        cpuSeconds: plan.cpuSeconds,
        rowsPerSecond: Math.round(rows / plan.seconds),
        peakRssMB: plan.peakRssMB,
        found: { refused: plan.json.refused, duplicates: { groups: plan.json.duplicates.groups, objects: plan.json.duplicates.objects }, totalUsd: plan.json.estimate.totalUsd, recommendedMaxConcurrency: plan.json.requestRate.recommendedMaxConcurrency },
      },
      planCore: { seconds: core.seconds, cpuSeconds: core.cpuSeconds, rowsPerSecond: Math.round(rows / core.seconds), peakRssMB: core.peakRssMB },
      executor: {
        seconds: executor.seconds,
        cpuSeconds: executor.cpuSeconds,
        itemsPerSecond: Math.round(rows / executor.seconds),
        peakRssMB: executor.peakRssMB,
      },
    };
    log(`plan of ${rows.toLocaleString('en-US')} rows: ${entry.plan.seconds} s (${entry.plan.rowsPerSecond.toLocaleString('en-US')} rows/s), peak RSS ${entry.plan.peakRssMB} MB (core alone ${entry.planCore.peakRssMB} MB); executor ItemReader+ItemBatcher: ${entry.executor.seconds} s (${entry.executor.itemsPerSecond.toLocaleString('en-US')} items/s), peak RSS ${entry.executor.peakRssMB} MB`);
    results.push(entry);
  }
  const [first, last] = [results[0]!, results[results.length - 1]!];
  return {
    reports: results,
    cliBaselinePeakRssMB: cliBaseline.peakRssMB,
    targetPeakRssMB: 200,
    ratios: { planPeakRss: round(last.plan.peakRssMB / first.plan.peakRssMB), planCorePeakRss: round(last.planCore.peakRssMB / first.planCore.peakRssMB), executorPeakRss: round(last.executor.peakRssMB / first.executor.peakRssMB), rows: round(last.rows / first.rows) },
  };
}
