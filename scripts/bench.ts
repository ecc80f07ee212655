/**
 * `npm run bench -- [--photos <dir>] [--json] [--only cdn]`: every measurement in ONE process run, so the ratios
 * compare like with like on a noisy machine. Prints one JSON object (--json) or a table.
 *
 *   pipeline        photos/s of the full local run (state machine, emulated S3 + DynamoDB)
 *   core            photos/s of the render core alone (decode once, all presets, encode)
 *   sharpReference  photos/s of a plain, well-written sharp script making the same outputs
 *   imagemagick     photos/s of ImageMagick making the same outputs (null when not installed)
 *   decodeOnly      photos/s of a full decode to raw pixels
 *   sha256MBps, peakRssMB (50 MP JPEG, all presets, in a child process), onDemand miss/hit vs sharp
 *   cdn             `serve`'s CDN view on a real photo: warm hit, first hit of a preset (pointer
 *                   resolution), new on-demand size, each beside a plain static GET of the same bytes
 *                   (or a bare sharp resize), and a 50-concurrent mixed load
 *   localRun        `photo-scaler run` of 5,000 tiny photos: first run, no-op rerun and verify (seconds,
 *                   peak RSS, their ratios), and the RSS growth per photo (`--only local-run`,
 *                   `--local-run-photos <n>`)
 *   formats         per output format and setting: encode ms per output megapixel, bytes per preset, SSIM,
 *                   ratios to JPEG and mozjpeg (`--only formats`)
 *   peakRssFormats  peak RSS for a 50 MP JPEG (baseline and progressive) with every preset, in JPEG and in
 *                   JPEG + WebP + AVIF, each in a fresh child process (`--only peak-rss`)
 *   onDemandSpeed   a new on-demand size (serveDynamic on the local stack) vs a bare sharp resize of the same
 *                   ~20 MP JPEG, and where its time goes, step by step (`--only on-demand-speed`, `--samples <n>`)
 *   negotiation     what negotiating a logical URL's format costs beside asking for the variant by its explicit
 *                   URL: the resolver's store calls and ms per request (best variant there; best one missing, so
 *                   the next is looked up; an on-demand size), and the edge function's formatChoice per call
 *                   (`--only negotiation`, `--samples <n>`)
 *   memory          RSS of `serve` as the CLI launches it, under on-demand misses: after 2,000 sequential
 *                   misses vs after the first 200 (a ratio: ~1 when memory plateaus), and its peak during 50
 *                   concurrent identical and 50 concurrent distinct misses (`--only memory`, `--misses <n>`)
 *   heic            a 12 MP iPhone-sized HEIC (made by heif-enc) vs the same photo as JPEG: render of every
 *                   preset (ms, median of 3), the WebAssembly decode alone, and peak RSS of a fresh process
 *                   rendering each (`--only heic`; needs Debian's libheif-examples)
 *   plan            `photo-scaler plan` and the local executor's ItemReader + ItemBatcher (no-op processor)
 *                   on synthetic real-format inventory reports of 100,000 and 1,000,000 rows: wall time,
 *                   rows/s, peak RSS of each in a fresh process (`--only plan`, `--plan-rows <n,n>`;
 *                   scripts/bench-plan.ts)
 *   fetch            a sources run's copy phase: MB/s and photos/s from a bounded origin on 127.0.0.1 at
 *                   the chosen concurrency, peak RSS while copying a 200 MB original (`--only fetch`)
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { config } from '../src/config';
import { mapLimit } from '../src/core/map-limit';
import { validateConfig, type ResolvedPreset } from '../src/core/presets';
import { inspect, renderPresets } from '../src/core/render';
import { cutPipeline, decodeOnce, encode, formatCandidates, lumaSsim } from './bench-formats';
import { type OnDemandContext, serveDynamic } from '../src/core/on-demand';
import { sha256Hex } from '../src/core/library';
import { resolvePreset } from '../src/core/presets';
import { RenderGate } from '../src/core/render-gate';
import { resolveLogical } from '../src/core/resolve';
import { formatChoice } from '../src/core/negotiate';
import { encodeKeyPath } from '../src/core/cdn';
import type { VariantFormat } from '../src/core/layout';
import { sniffImage } from '../src/core/sniff';
import { runLocalMigration } from '../src/local/migrate';
import { listPhotos } from '../src/local/photos';
import { writeSamplePhotos } from '../src/local/samples';
import { startLocalServer } from '../src/local/serve';
import { DEFAULT_DATA_DIR, LOCAL_NAMES, openLocalStack } from '../src/local/stack';
import { TIMINGS_FILE } from '../src/cli/estimate';
import type { Timings } from '../src/core/prices';
import { animationBench } from './bench-animation';
import { measured, planBench } from './bench-plan';
import { fetchBench } from './bench-fetch';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const run = promisify(execFile);
const presets = validateConfig(config);
const CONCURRENCY = cpus().length;

interface Photo {
  path: string;
  key: string;
  bytes: Buffer;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  if (args.includes('--only') && args[args.indexOf('--only') + 1] === 'plan') {
    const work = await mkdtemp(join(tmpdir(), 'photo-scaler-bench-plan-'));
    try {
      const rows = args.includes('--plan-rows') ? args[args.indexOf('--plan-rows') + 1]!.split(',').map(Number) : [100_000, 1_000_000];
      process.stdout.write(`${JSON.stringify({ plan: await planBench(work, rows, (line) => json || process.stderr.write(`${line}\n`)) })}\n`);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    return;
  }
  if (args.includes('--only') && args[args.indexOf('--only') + 1] === 'heic') {
    const work = await mkdtemp(join(tmpdir(), 'photo-scaler-bench-heic-'));
    try {
      process.stdout.write(`${JSON.stringify({ heic: await heicBench(work) })}\n`);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    return;
  }
  if (args.includes('--only') && args[args.indexOf('--only') + 1] === 'fetch') {
    const work = await mkdtemp(join(tmpdir(), 'photo-scaler-bench-fetch-'));
    try {
      process.stdout.write(`${JSON.stringify({ fetch: await fetchBench(work) })}\n`);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    return;
  }
  const photosArg = args.includes('--photos') ? args[args.indexOf('--photos') + 1] : undefined;
  const work = await mkdtemp(join(tmpdir(), 'photo-scaler-bench-'));
  try {
    const dir = photosArg ?? (await generatedPhotos(join(work, 'generated')));
    const photos = await Promise.all((await listPhotos(dir)).map(async (p) => ({ ...p, bytes: await readFile(p.path) })));
    const decodable = (await Promise.all(photos.map(async (p) => ((await sharp(p.bytes).stats().then(() => true, () => false)) ? p : undefined)))).filter(Boolean) as Photo[];
    const log = (line: string) => json || process.stderr.write(`${line}\n`);
    const meta = await Promise.all(decodable.map((p) => sharp(p.bytes).metadata()));
    const megapixels = meta.reduce((sum, m) => sum + ((m.width ?? 0) * (m.height ?? 0)) / 1e6, 0) / meta.length;

    log(`${decodable.length} photos, ${megapixels.toFixed(1)} MP on average, concurrency ${CONCURRENCY}`);
    const largest = [...decodable].filter((p) => /\.jpe?g$/i.test(p.key)).sort((a, b) => b.bytes.length - a.bytes.length)[0] ?? decodable[0]!;
    if (args.includes('--only') && args[args.indexOf('--only') + 1] === 'cdn') {
      // The CDN view alone, for iterating on it; report the figures of a full run.
      process.stdout.write(`${JSON.stringify({ cdn: await cdnLatency(largest, join(work, 'cdn')) })}\n`);
      return;
    }
    if (args.includes('--only') && args[args.indexOf('--only') + 1] === 'pipeline') {
      process.stdout.write(`${JSON.stringify({ pipelineOverCore: await pipelineOverCore(dir, decodable, join(work, 'pipeline-rounds'), speedRounds(args)) })}\n`);
      return;
    }
    if (args.includes('--only') && args[args.indexOf('--only') + 1] === 'animation') {
      process.stdout.write(`${JSON.stringify({ animation: await animationBench(largest.bytes) })}\n`);
      return;
    }
    const misses = args.includes('--misses') ? Number(args[args.indexOf('--misses') + 1]) : 2000;
    if (args.includes('--only') && args[args.indexOf('--only') + 1] === 'memory') {
      process.stdout.write(`${JSON.stringify({ memory: await serveMemory(largest, join(work, 'memory'), misses) })}\n`);
      return;
    }
    if (args.includes('--only') && args[args.indexOf('--only') + 1] === 'formats') {
      process.stdout.write(`${JSON.stringify({ formats: await formatCosts(decodable) })}\n`);
      return;
    }
    if (args.includes('--only') && args[args.indexOf('--only') + 1] === 'peak-rss') {
      process.stdout.write(`${JSON.stringify({ peakRssFormats: await formatsPeakRss(work) })}\n`);
      return;
    }
    const speedSamples = args.includes('--samples') ? Number(args[args.indexOf('--samples') + 1]) : 9;
    if (args.includes('--only') && args[args.indexOf('--only') + 1] === 'on-demand-speed') {
      process.stdout.write(`${JSON.stringify({ onDemandSpeed: await onDemandSpeed(decodable, join(work, 'on-demand-speed'), speedSamples) })}\n`);
      return;
    }
    if (args.includes('--only') && args[args.indexOf('--only') + 1] === 'negotiation') {
      process.stdout.write(`${JSON.stringify({ negotiation: await negotiationCost(largest, join(work, 'negotiation'), speedSamples) })}\n`);
      return;
    }
    const localRunPhotos = args.includes('--local-run-photos') ? Number(args[args.indexOf('--local-run-photos') + 1]) : 5000;
    if (args.includes('--only') && args[args.indexOf('--only') + 1] === 'local-run') {
      process.stdout.write(`${JSON.stringify({ localRun: await localRunScale(join(work, 'local-run'), localRunPhotos) })}\n`);
      return;
    }
    await timeEach(decodable.slice(0, 2), (p) => renderPresets(p.bytes, presets, config.limits)); // warm-up
    // First, on a fresh process: the other phases leave libvips' caches and the heap full.
    const pipeline = await pipelineThroughput(dir, join(work, 'pipeline'), decodable.length);
    log(`pipeline ${pipeline.toFixed(2)} photos/s`);
    const decodeOnly = await throughput(decodable, (p) => sharp(p.bytes).rotate().raw().toBuffer());
    log(`decodeOnly ${decodeOnly.toFixed(2)} photos/s`);
    const coreOf = async (list: readonly ResolvedPreset[]) => {
      let bytes = 0;
      const speed = await throughput(decodable, async (p) => {
        const { renditions } = await renderPresets(p.bytes, list, config.limits);
        bytes += renditions.reduce((sum, r) => sum + r.body.byteLength, 0);
      });
      return { speed, bytes };
    };
    const { speed: core, bytes: cropBytes } = await coreOf(presets);
    log(`core ${core.toFixed(2)} photos/s`);
    const { speed: mozCore, bytes: mozBytes } = await coreOf(validateConfig({ ...config, mozjpeg: true }));
    log(`core with mozjpeg ${mozCore.toFixed(2)} photos/s, ${mozBytes} vs ${cropBytes} bytes`);
    // The estimate's baseline is the primaries alone (it adds each variant format's cost itself,
    // src/core/estimate.ts): with formats configured, measured apart.
    const primaries = presets.filter((p) => p.variantOf === undefined);
    const baseline = primaries.length === presets.length ? { speed: core, bytes: cropBytes } : await coreOf(primaries);
    const sharpReference = await throughput(decodable, (p) => sharpScript(p.bytes, presets));
    log(`sharpReference ${sharpReference.toFixed(2)} photos/s`);
    const magick = await findImageMagick();
    const imagemagick = magick ? await throughput(decodable, (p) => imageMagick(magick, p, work)) : null;
    log(`imagemagick ${imagemagick?.toFixed(2) ?? 'not installed'} photos/s`);
    const sha256MBps = hashSpeed();
    const peakRssMB = await peakRss(work);
    log(`peak RSS for a 50 MP JPEG: ${peakRssMB} MB`);
    const dedupe = await dedupePeakRss(join(work, 'dedupe'));
    log(`Dedupe of a ${dedupe.originalMB} MB original: peak RSS ${dedupe.peakRssMB} MB (${dedupe.baselineRssMB} MB without it)`);
    const largestJpeg = [...decodable].filter((p) => /\.jpe?g$/i.test(p.key)).sort((a, b) => b.bytes.length - a.bytes.length)[0] ?? decodable[0]!;
    const onDemand = await onDemandLatency(largestJpeg, join(work, 'on-demand'));
    log(`on-demand miss p50 ${onDemand.missMsP50} ms, hit p50 ${onDemand.hitMsP50} ms, bare sharp ${onDemand.sharpResizeMs} ms`);
    const cdn = await cdnLatency(largestJpeg, join(work, 'cdn'));
    const memory = await serveMemory(largestJpeg, join(work, 'memory'), misses);
    log(`serve RSS: ${memory.sequential.first200MB} MB over misses 101-200, ${memory.sequential.last200MB} MB over the last 200 of ${memory.sequential.misses} (${memory.sequential.lastOverFirst200}x); peak ${memory.identicalCrowd.peakRssMB} MB under 50 identical misses, ${memory.distinctCrowd.peakRssMB} MB under 50 distinct`);
    log(`CDN view: warm hit p50 ${cdn.warmHitMsP50} ms (${cdn.ratios.warmHitOverStatic}x static), pointer resolution p50 ${cdn.firstHitMsP50} ms (${cdn.ratios.firstHitOverStatic}x), new size p50 ${cdn.newSizeMsP50} ms (${cdn.ratios.newSizeOverSharpResize}x sharp); load: ${cdn.load.requests} requests, ${cdn.load.errors} errors, p95 ${cdn.load.msP95} ms`);

    const formats = await formatCosts(decodable);
    log(`formats: ${Object.entries(formats.candidates).map(([name, c]) => `${name} ${c.msPerMegapixel} ms/MP ${c.bytesPerPhoto} B (${c.ratios.bytesOverMozjpeg}x mozjpeg bytes)`).join(', ')}`);
    const peakRssFormats = await formatsPeakRss(work);
    log(`peak RSS for a 50 MP JPEG: ${peakRssFormats.jpegOnlyMB} MB in JPEG, ${peakRssFormats.allFormatsMB} MB in JPEG+WebP+AVIF (progressive: ${peakRssFormats.progressive.allFormatsMB} MB)`);
    const onDemandSpeedResult = await onDemandSpeed(decodable, join(work, 'on-demand-speed'), speedSamples);
    log(`new on-demand size ${onDemandSpeedResult.onDemandMsP50} ms vs bare sharp ${onDemandSpeedResult.sharpResizeMsP50} ms (${onDemandSpeedResult.ratios.onDemandOverSharpResize}x); of a stored photo ${onDemandSpeedResult.migrated.onDemandMsP50} ms (${onDemandSpeedResult.ratios.migratedOverSharpResize}x)`);
    const negotiation = await negotiationCost(largestJpeg, join(work, 'negotiation'), speedSamples);
    log(`negotiation: ${negotiation.ratios.negotiatedOverExplicit}x an explicit variant URL's resolver time when the best variant exists, ${negotiation.ratios.fallbackOverExplicit}x when it is missing (+${negotiation.storeCalls.fallback.head - negotiation.storeCalls.explicit.head} HEAD); formatChoice ${negotiation.formatChoiceNs} ns`);

    const localRun = await localRunScale(join(work, 'local-run'), localRunPhotos);
    log(`local run of ${localRun.photos} tiny photos: ${localRun.firstRun.seconds} s (${localRun.firstRun.itemsPerSecond}/s, peak RSS ${localRun.firstRun.peakRssMB} MB, ${localRun.rssKBPerPhoto} KB a photo), no-op rerun ${localRun.noopRerun.seconds} s, verify ${localRun.verify.seconds} s`);

    const result = {
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, sharp: sharp.versions.sharp, libvips: sharp.versions.vips, imagemagick: magick?.version ?? null },
      photos: { dir: photosArg ? basename(photosArg) : 'generated samples', count: decodable.length, avgMegapixels: round(megapixels), avgMB: round(decodable.reduce((s, p) => s + p.bytes.length, 0) / decodable.length / 1e6) },
      pipeline: round(pipeline),
      core: round(core),
      sharpReference: round(sharpReference),
      imagemagick: imagemagick === null ? null : round(imagemagick),
      decodeOnly: round(decodeOnly),
      sha256MBps: round(sha256MBps),
      peakRssMB,
      dedupe,
      mozjpeg: { coreWithMozjpeg: round(mozCore), cropBytes, cropBytesWithMozjpeg: mozBytes, bytesSaved: round(1 - mozBytes / cropBytes), timeCost: round(core / mozCore) },
      onDemand,
      onDemandSpeed: onDemandSpeedResult,
      negotiation,
      formats,
      peakRssFormats,
      cdn,
      memory,
      localRun,
      ratios: {
        pipelineOverSharpReference: round(pipeline / sharpReference),
        coreOverImagemagick: imagemagick ? round(core / imagemagick) : null,
        coreOverDecodeOnly: round(core / decodeOnly),
      },
    };
    // Per-photo timings for `photo-scaler estimate` (one core per photo, as a 1769 MB Lambda has).
    const timings: Timings = {
      source: `npm run bench on ${result.photos.dir} (${result.photos.count} photos, ${new Date().toISOString().slice(0, 10)})`,
      renderMsPerMegapixel: round((CONCURRENCY / baseline.speed / megapixels) * 1000),
      sha256MBps: round(sha256MBps),
      cropBytesPerMegapixel: Math.round(baseline.bytes / decodable.length / megapixels),
    };
    await mkdir(DEFAULT_DATA_DIR, { recursive: true });
    await writeFile(join(DEFAULT_DATA_DIR, TIMINGS_FILE), `${JSON.stringify(timings, null, 2)}\n`);
    log(`timings for photo-scaler estimate written to ${join(DEFAULT_DATA_DIR, TIMINGS_FILE)}`);
    process.stdout.write(json ? `${JSON.stringify(result)}\n` : table(result));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function generatedPhotos(dir: string): Promise<string> {
  await writeSamplePhotos(dir);
  await rm(join(dir, 'broken'), { recursive: true, force: true });
  return dir;
}

/** Photos per second, CONCURRENCY at a time (as the local Resize runs them). */
async function throughput(photos: Photo[], work: (photo: Photo) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await mapLimit(photos, CONCURRENCY, work);
  return photos.length / ((performance.now() - started) / 1000);
}

async function timeEach<T>(photos: T[], work: (photo: T) => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (const photo of photos) {
    const started = performance.now();
    await work(photo);
    times.push(performance.now() - started);
  }
  return times;
}

/** What a competent engineer would write with sharp directly: one pipeline, cloned per preset. */
async function sharpScript(input: Buffer, list: readonly ResolvedPreset[]): Promise<Buffer[]> {
  const base = sharp(input).rotate();
  const alpha = (await sharp(input).metadata()).hasAlpha;
  return Promise.all(
    list.map((p) => {
      const resized = base.clone().resize({ width: p.width, height: p.height, fit: p.fit, withoutEnlargement: p.withoutEnlargement });
      return (alpha ? resized.png({ compressionLevel: 6 }) : resized.jpeg({ quality: p.quality })).toBuffer();
    }),
  );
}

interface ImageMagick {
  command: string;
  version: string;
}

/** A real ImageMagick on PATH (`magick`, or a `convert` that is one: some machines have stand-ins). */
async function findImageMagick(): Promise<ImageMagick | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of ['magick', 'convert', 'convert-im6.q16']) {
      const command = join(dir, name);
      try {
        accessSync(command, constants.X_OK);
        const { stdout } = await run(command, ['-version']);
        const version = /ImageMagick ([^\s]+)/.exec(stdout)?.[1];
        if (version) return { command, version };
      } catch {
        // not there, or not ImageMagick
      }
    }
  }
  return undefined;
}

/** One ImageMagick process per photo, one decode, every preset written (the same outputs). */
async function imageMagick(magick: ImageMagick, photo: Photo, work: string): Promise<void> {
  const out = join(work, 'im', createHash('md5').update(photo.key).digest('hex'));
  await mkdir(out, { recursive: true });
  const args = [photo.path, '-auto-orient', '-strip', '-colorspace', 'sRGB'];
  for (const p of presets) {
    const geometry = p.fit === 'cover' ? [`-resize`, `${p.width}x${p.height}^`, '-gravity', 'center', '-extent', `${p.width}x${p.height}`] : ['-resize', `${p.width}x${p.height}>`];
    args.push('(', '+clone', ...geometry, '-quality', String(p.quality), '-write', join(out, `${p.name}.jpg`), '+delete', ')');
  }
  args.push('null:');
  await run(magick.command, args, { maxBuffer: 1 << 20 });
}

function speedRounds(args: string[]): number {
  return args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : 3;
}

/**
 * The local pipeline against the render core, `rounds` times in turn in this one process (each
 * pipeline round on a fresh data dir, after a warm-up round): photos/s of each, and the median of
 * the per-round ratios (issue 18 asks >= 0.6). `--only pipeline`, `--rounds <n>` (default 3).
 */
async function pipelineOverCore(photosDir: string, photos: Photo[], work: string, rounds: number) {
  const core = () => throughput(photos, (p) => renderPresets(p.bytes, presets, config.limits));
  await pipelineThroughput(photosDir, join(work, 'warm-up'), photos.length);
  await core();
  const measured: Array<{ pipeline: number; core: number; ratio: number }> = [];
  for (let n = 0; n < rounds; n++) {
    const pipeline = await pipelineThroughput(photosDir, join(work, `round-${n}`), photos.length);
    const coreSpeed = await core();
    measured.push({ pipeline: round(pipeline), core: round(coreSpeed), ratio: round(pipeline / coreSpeed) });
  }
  const ratios = measured.map((m) => m.ratio).sort((a, b) => a - b);
  return { photos: photos.length, rounds: measured, medianRatio: ratios[Math.floor(ratios.length / 2)]! };
}

async function pipelineThroughput(photosDir: string, dataDir: string, expected: number): Promise<number> {
  const result = await runLocalMigration({ photosDir, dataDir });
  if (result.summary.items < expected) throw new Error(`pipeline ran ${result.summary.items} of ${expected} photos`);
  // The execution alone: on AWS the photos are already in S3 (the upload is the local stand-in for that).
  return result.summary.succeeded / result.executionSeconds;
}

function hashSpeed(): number {
  const buffer = Buffer.alloc(64 * 1024 * 1024, 7);
  const started = performance.now();
  createHash('sha256').update(buffer).digest();
  return 64 / ((performance.now() - started) / 1000);
}

/** Peak RSS (VmHWM, in MB) of a fresh process rendering every preset of a 50 MP JPEG. */
async function peakRss(work: string): Promise<number> {
  const file = join(work, 'fifty-megapixels.jpg');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="8192" height="6144"><defs><linearGradient id="g"><stop offset="0" stop-color="#123"/><stop offset="1" stop-color="#fc8"/></linearGradient></defs><rect width="8192" height="6144" fill="url(#g)"/><circle cx="4000" cy="3000" r="2000" fill="#3a6"/></svg>`;
  await writeFile(file, await sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toBuffer());
  return childPeakRss(
    work,
    'rss',
    `import { readFileSync } from 'node:fs';
import { renderPresets } from ${JSON.stringify(join(import.meta.dirname, '../src/core/render.ts'))};
import { validateConfig } from ${JSON.stringify(join(import.meta.dirname, '../src/core/presets.ts'))};
import { config } from ${JSON.stringify(join(import.meta.dirname, '../src/config.ts'))};
await renderPresets(readFileSync(${JSON.stringify(file)}), validateConfig(config), config.limits);`,
  );
}

/** VmHWM (MB) of a fresh process running `body` (an ES module's top level). */
async function childPeakRss(work: string, name: string, body: string): Promise<number> {
  const script = `${body}
// VmHWM belongs to this process image; ru_maxrss would carry over the forking parent's size.
const hwm = /VmHWM:\\s+(\\d+) kB/.exec((await import('node:fs')).readFileSync('/proc/self/status', 'utf8'));
process.stdout.write(String(hwm ? Number(hwm[1]) : process.resourceUsage().maxRSS));`;
  const scriptFile = join(work, `${name}.mts`);
  await writeFile(scriptFile, script);
  const child = spawn(process.execPath, ['--import', 'tsx', scriptFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  if (code !== 0 || !/^\d+$/.test(out)) throw new Error(`${name}: the measuring child exited ${code} (${out.slice(0, 200)})`);
  return Math.round(Number(out) / 1024);
}

/**
 * Peak RSS of a fresh process in which Dedupe's inspectOriginal hashes a 190 MB original from the
 * emulated S3 (over HTTP, as on Lambda), next to the same process without that work and with the
 * whole object read into memory (what Dedupe did before): Dedupe has 512 MB for originals of up to
 * the 200 MB limit, so it must stream.
 */
async function dedupePeakRss(dataDir: string) {
  const originalMB = 190;
  const stack = await openLocalStack(dataDir);
  try {
    const body = Buffer.alloc(originalMB * 1024 * 1024, 3);
    body.set([0xff, 0xd8, 0xff, 0xe0]);
    await stack.store.put({ bucket: LOCAL_NAMES.sourceBucket, key: 'bench/huge.jpg' }, body, { contentType: 'image/jpeg' });
    const src = (file: string) => JSON.stringify(join(import.meta.dirname, '../src', file));
    const setup = `import { makeS3Client } from ${src('aws/clients.ts')};
import { S3ObjectStore } from ${src('aws/s3-store.ts')};
import { inspectOriginal } from ${src('core/source.ts')};
import { EMULATOR_CREDENTIALS } from ${src('local/emulators.ts')};
import { config } from ${src('config.ts')};
const store = new S3ObjectStore(makeS3Client({ endpoint: ${JSON.stringify(stack.s3Endpoint)}, region: 'us-east-1', credentials: EMULATOR_CREDENTIALS }));
await store.head({ bucket: ${JSON.stringify(LOCAL_NAMES.sourceBucket)}, key: 'bench/huge.jpg' });`;
    const baselineRssMB = await childPeakRss(dataDir, 'dedupe-baseline', setup);
    const peakRssMB = await childPeakRss(
      dataDir,
      'dedupe',
      `${setup}
await inspectOriginal({ store, config } as never, { bucket: ${JSON.stringify(LOCAL_NAMES.sourceBucket)}, key: 'bench/huge.jpg' });`,
    );
    const wholeRssMB = await childPeakRss(dataDir, 'dedupe-whole', `${setup}
await store.get({ bucket: ${JSON.stringify(LOCAL_NAMES.sourceBucket)}, key: 'bench/huge.jpg' });`);
    return { originalMB, peakRssMB, baselineRssMB, wholeRssMB, streamedExtraOverWholeExtra: round((peakRssMB - baselineRssMB) / Math.max(1, wholeRssMB - baselineRssMB)) };
  } finally {
    await stack.close();
  }
}

/**
 * Per candidate output format and setting (scripts/bench-formats.ts), on every photo: ONE decode as
 * render.ts decodes, each preset cut once to raw pixels, then each candidate's encoder timed alone on
 * those pixels, one encode at a time (sharp.concurrency() threads each). Per candidate: ms per
 * megapixel of output, bytes per photo (the presets together) and per preset, mean luma SSIM
 * against the cut pixels, and ratios to JPEG (mozjpeg and not, at the config's quality) measured in
 * this run. `renderTimeAdded`: an added format's encodes over today's whole render of a photo
 * (decode + cuts + JPEG encodes), i.e. the Lambda time it adds. `perAddedFormat`: the writes each
 * format beside the primary one adds per photo (an asset and a pointer per preset; a catalog row
 * per preset). `--only formats`.
 */
async function formatCosts(photos: Photo[]) {
  const candidates = formatCandidates(config.jpegQuality);
  const names = presets.map((p) => p.name);
  const per = new Map(candidates.map((c) => [c.name, { ms: 0, bytes: 0, ssim: 0, outputs: 0, byPreset: Object.fromEntries(names.map((n) => [n, 0])) as Record<string, number> }]));
  let decodeMs = 0;
  let cutMs = 0;
  let outputMegapixels = 0;
  // Warm-up: the first encode of each kind loads its codec.
  const warm = await decodeOnce(photos[0]!.bytes, presets, config.limits);
  for (const candidate of candidates) await encode(cutPipeline(warm, presets[1]!), candidate);
  for (const photo of photos) {
    let at = performance.now();
    const raw = await decodeOnce(photo.bytes, presets, config.limits);
    decodeMs += performance.now() - at;
    for (const preset of presets) {
      at = performance.now();
      const { data, info } = await cutPipeline(raw, preset).raw().toBuffer({ resolveWithObject: true });
      cutMs += performance.now() - at;
      const cut = { data, width: info.width, height: info.height, channels: info.channels as 3 };
      outputMegapixels += (info.width * info.height) / 1e6;
      for (const candidate of candidates) {
        const pixels = sharp(cut.data, { raw: { width: cut.width, height: cut.height, channels: cut.channels } });
        at = performance.now();
        const body = await encode(pixels, candidate);
        const entry = per.get(candidate.name)!;
        entry.ms += performance.now() - at;
        entry.bytes += body.byteLength;
        entry.byPreset[preset.name]! += body.byteLength;
        entry.ssim += await lumaSsim(cut, body);
        entry.outputs++;
      }
    }
  }
  const n = photos.length;
  const jpeg = per.get('jpeg')!;
  const moz = per.get('mozjpeg')!;
  const todayMsPerPhoto = (decodeMs + cutMs + jpeg.ms) / n;
  const result = Object.fromEntries(
    candidates.map((c) => {
      const e = per.get(c.name)!;
      return [
        c.name,
        {
          format: c.format,
          options: c.options,
          msPerMegapixel: round(e.ms / outputMegapixels),
          encodeMsPerPhoto: round(e.ms / n),
          bytesPerPhoto: Math.round(e.bytes / n),
          bytesPerPreset: Object.fromEntries(names.map((name) => [name, Math.round(e.byPreset[name]! / n)])),
          ssim: Math.round((e.ssim / e.outputs) * 10000) / 10000,
          renderTimeAdded: round(e.ms / n / todayMsPerPhoto),
          ratios: { bytesOverMozjpeg: round(e.bytes / moz.bytes), timeOverMozjpeg: round(e.ms / moz.ms), bytesOverJpeg: round(e.bytes / jpeg.bytes), timeOverJpeg: round(e.ms / jpeg.ms) },
        },
      ];
    }),
  );
  return {
    photos: n,
    presets: names,
    sharpConcurrency: sharp.concurrency(),
    outputMegapixelsPerPhoto: round(outputMegapixels / n),
    decodeMsPerPhoto: round(decodeMs / n),
    cutMsPerPhoto: round(cutMs / n),
    todayRenderMsPerPhoto: round(todayMsPerPhoto),
    candidates: result,
    perAddedFormat: { assetPuts: presets.length, pointerPuts: presets.length, puts: 2 * presets.length, catalogRows: presets.length },
  };
}

/**
 * Peak RSS (VmHWM, MB) of a fresh process rendering a 50 MP JPEG (8660x5773, noise over a gradient:
 * a photo's entropy, not a flat test card) with every preset, as render.ts does (one decode, all
 * cuts at once): through renderPresets itself (JPEG), and with scripts/bench-formats.ts's replica of
 * it for JPEG only and for JPEG + WebP + AVIF (the candidates named in `formatsForRss`). Target ≤ 300 MB.
 * `--only peak-rss`.
 */
async function formatsPeakRss(work: string) {
  const file = join(work, 'fifty-megapixels-noise.jpg');
  const width = 8660;
  const height = 5773;
  const gradient = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#1a3050"/><stop offset="0.5" stop-color="#c08040"/><stop offset="1" stop-color="#f0e0a0"/></linearGradient></defs><rect width="${width}" height="${height}" fill="url(#g)"/></svg>`;
  const noise = await sharp({ create: { width, height, channels: 3, background: '#000000', noise: { type: 'gaussian', mean: 128, sigma: 24 } } }).raw().toBuffer();
  const pixels = await sharp(Buffer.from(gradient), { limitInputPixels: false }).composite([{ input: noise, raw: { width, height, channels: 3 }, blend: 'soft-light' }]).raw().toBuffer();
  const image = () => sharp(pixels, { raw: { width, height, channels: 3 }, limitInputPixels: false });
  await writeFile(file, await image().jpeg({ quality: 90 }).toBuffer());
  // Progressive JPEGs (10 of the 18 JPEGs of ../shared/photos): libjpeg keeps every DCT coefficient of the image until the last scan.
  const progressiveFile = join(work, 'fifty-megapixels-noise-progressive.jpg');
  await writeFile(progressiveFile, await image().jpeg({ quality: 90, progressive: true }).toBuffer());
  const bytes = (await readFile(file)).byteLength;
  const src = (path: string) => JSON.stringify(join(import.meta.dirname, path));
  const head = `import { readFileSync } from 'node:fs';
import { renderPresets } from ${src('../src/core/render.ts')};
import { validateConfig } from ${src('../src/core/presets.ts')};
import { config } from ${src('../src/config.ts')};
import { formatCandidates, renderAllFormats } from ${src('bench-formats.ts')};
const presets = validateConfig(config);
const input = readFileSync(${JSON.stringify(file)});
const pick = (names) => formatCandidates(config.jpegQuality).filter((c) => names.includes(c.name));`;
  const measure = (name: string, body: string) => childPeakRss(work, name, `${head}\n${body}`);
  const baselineMB = await measure('rss-baseline', 'void input.length;');
  const renderPresetsMB = await measure('rss-render-presets', 'await renderPresets(input, presets, config.limits);');
  const jpegOnlyMB = await measure('rss-jpeg', `await renderAllFormats(input, presets, config.limits, pick(['jpeg']));`);
  const allFormats = ['jpeg', 'webp-q80-e4', 'avif-q50-e4'];
  const allFormatsMB = await measure('rss-all', `await renderAllFormats(input, presets, config.limits, pick(${JSON.stringify(allFormats)}));`);
  const progressive = (body: string) => body.replace('readFileSync(' + JSON.stringify(file) + ')', 'readFileSync(' + JSON.stringify(progressiveFile) + ')');
  const progressiveRenderPresetsMB = await childPeakRss(work, 'rss-progressive', progressive(`${head}\nawait renderPresets(input, presets, config.limits);`));
  const progressiveAllFormatsMB = await childPeakRss(work, 'rss-progressive-all', progressive(`${head}\nawait renderAllFormats(input, presets, config.limits, pick(${JSON.stringify(allFormats)}));`));
  const worst = Math.max(renderPresetsMB, jpegOnlyMB, allFormatsMB, progressiveRenderPresetsMB, progressiveAllFormatsMB);
  return {
    width, height, megapixels: round((width * height) / 1e6), fileMB: round(bytes / 1e6), formats: allFormats,
    baselineMB, renderPresetsMB, jpegOnlyMB, allFormatsMB,
    progressive: { renderPresetsMB: progressiveRenderPresetsMB, allFormatsMB: progressiveAllFormatsMB },
    targetMB: 300, withinTarget: worst <= 300,
  };
}

/**
 * A new on-demand size against a bare sharp resize of the same photo, in this process, alternating
 * one of each so both see the same machine: (a) sharp(bytes).rotate().resize(300, 200, cover).jpeg()
 * from a Buffer; (b) serveDynamic (src/core/on-demand.ts) on the local stack, asked for 300x200 of a
 * photo the batch has not stored (the source bucket's copy: the longest path), each sample a new key
 * holding a new photo (the same ~20 MP JPEG with one distinct pixel block: new hash, new asset). The
 * photo: the largest JPEG of the set, enlarged to 5472x3648 when it has under 15 MP. `steps`: where
 * (b)'s time goes — each emulator call timed inside the real requests (through timing wrappers of
 * the context's store and catalog), the CPU steps (sniff, hash, render: inspect, decode, cut+encode)
 * timed alone on the same bytes; medians in ms. Target: `ratios.onDemandOverSharpResize` ≤ 1.3.
 * `migrated` (and `ratios.migratedOverSharpResize`): the steady state, the same photos once the
 * batch has stored them (onDemandMigrated). `--only on-demand-speed`, `--samples <n>` (default 9).
 */
async function onDemandSpeed(photos: Photo[], dataDir: string, samples: number) {
  const variants = await speedVariants(photos, samples);
  const longest = await onDemandLongestPath(variants, dataDir, samples);
  const migrated = await onDemandMigrated(variants.bytes, join(dataDir, 'migrated'), samples);
  return { ...longest, ratios: { ...longest.ratios, migratedOverSharpResize: migrated.ratio }, migrated: migrated.measured };
}

/** The photo onDemandSpeed asks for, as `samples` + 1 distinct JPEGs (one distinct pixel block each). */
async function speedVariants(photos: Photo[], samples: number) {
  const jpegs = photos.filter((p) => /\.jpe?g$/i.test(p.key));
  const largest = [...(jpegs.length ? jpegs : photos)].sort((a, b) => b.bytes.length - a.bytes.length)[0]!;
  const meta = await sharp(largest.bytes).metadata();
  const base = (meta.width ?? 0) * (meta.height ?? 0) >= 15e6 ? sharp(largest.bytes).rotate() : sharp(largest.bytes).rotate().resize(5472, 3648, { fit: 'fill' });
  const pixels = await base.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const { width, height } = pixels.info;
  const variants: Buffer[] = [];
  for (let i = 0; i <= samples; i++) {
    const block = Buffer.alloc(16 * 16 * 3, (i * 37) % 256);
    variants.push(await sharp(pixels.data, { raw: { width, height, channels: 3 } }).composite([{ input: block, raw: { width: 16, height: 16, channels: 3 }, left: 16 * i, top: 0 }]).jpeg({ quality: 90 }).toBuffer());
  }
  return { key: largest.key, width, height, bytes: variants };
}

/** What a caller of sharp would write for the same size: the yardstick of both on-demand paths. */
function bareResize(bytes: Buffer): Promise<Buffer> {
  return sharp(bytes).rotate().resize(300, 200, { fit: 'cover' }).jpeg({ quality: config.jpegQuality }).toBuffer();
}

/** onDemandSpeed's longest path: a photo the batch has not stored, read from the source bucket. */
async function onDemandLongestPath(photo: Awaited<ReturnType<typeof speedVariants>>, dataDir: string, samples: number) {
  const { width, height, bytes: variants } = photo;
  const stack = await openLocalStack(dataDir);
  try {
    const calls = new Map<string, number[]>();
    const note = (name: string, ms: number) => calls.set(name, [...(calls.get(name) ?? []), ms]);
    const timed = <T extends object>(target: T, prefix: string): T =>
      new Proxy(target, {
        get(object, property, receiver) {
          const value = Reflect.get(object, property, receiver);
          if (typeof value !== 'function') return value;
          return async (...args: unknown[]) => {
            const at = performance.now();
            const result = await value.apply(object, args);
            if (property === 'openRead') {
              // The read ends when its body is consumed.
              const body = (result as { body: AsyncIterable<Uint8Array> }).body;
              return { ...result, body: (async function* () { for await (const chunk of body) yield chunk; note(`${prefix}.openRead+body`, performance.now() - at); })() };
            }
            const what = property === 'put' && (args[1] as Uint8Array).byteLength === 0 ? 'put(pointer)' : String(property);
            note(`${prefix}.${what}`, performance.now() - at);
            return result;
          };
        },
      });
    const context: OnDemandContext = { ...stack.context, store: timed(stack.context.store, 'store'), catalog: timed(stack.context.catalog, 'catalog'), sourceBucket: LOCAL_NAMES.sourceBucket, signingSecret: undefined, renderGate: new RenderGate(1) };
    for (let i = 0; i <= samples; i++) await stack.store.put({ bucket: LOCAL_NAMES.sourceBucket, key: `speed/${i}.jpg` }, variants[i]!, { contentType: 'image/jpeg' });
    const onDemandOnce = async (i: number) => {
      const answer = await serveDynamic(context, { size: '300x200', key: `speed/${i}.jpg` });
      if (answer.status !== 301 || !answer.rendered) throw new Error(`on-demand speed/${i}.jpg answered ${JSON.stringify(answer).slice(0, 300)}`);
    };
    await bareResize(variants[0]!);
    await onDemandOnce(0); // warm-up: the first request opens the emulators' connections
    calls.clear();
    const bare: number[] = [];
    const onDemand: number[] = [];
    // CPU time beside wall time (the emulators run in this process: theirs is counted): on a shared machine it is the steadier figure.
    const bareCpu: number[] = [];
    const onDemandCpu: number[] = [];
    const cpuMs = (from: NodeJS.CpuUsage) => {
      const used = process.cpuUsage(from);
      return (used.user + used.system) / 1000;
    };
    for (let i = 1; i <= samples; i++) {
      let at = performance.now();
      let cpuAt = process.cpuUsage();
      await bareResize(variants[i]!);
      bare.push(performance.now() - at);
      bareCpu.push(cpuMs(cpuAt));
      at = performance.now();
      cpuAt = process.cpuUsage();
      await onDemandOnce(i);
      onDemand.push(performance.now() - at);
      onDemandCpu.push(cpuMs(cpuAt));
    }
    // The CPU steps alone, on the same bytes.
    const preset = resolvePreset('dynamic-300x200', { width: 300, height: 200, fit: 'cover', quality: config.jpegQuality, mozjpeg: config.mozjpeg });
    const cpu = new Map<string, number[]>();
    const time = async (name: string, work: () => unknown) => {
      const at = performance.now();
      await work();
      cpu.set(name, [...(cpu.get(name) ?? []), performance.now() - at]);
    };
    for (let i = 1; i <= samples; i++) {
      const bytes = variants[i]!;
      await time('sniff', () => sniffImage(bytes));
      await time('sha256', () => sha256Hex(bytes));
      await time('render.inspect', () => inspect(bytes, config.limits));
      let raw: Awaited<ReturnType<typeof decodeOnce>> | undefined;
      await time('render.decode', async () => (raw = await decodeOnce(bytes, [preset], config.limits)));
      await time('render.cut+encode', () => encode(cutPipeline(raw!, preset), { name: 'jpeg', format: 'jpeg', options: { quality: config.jpegQuality } }));
      await time('renderPresets', () => renderPresets(bytes, [preset], config.limits));
    }
    const medians = (map: Map<string, number[]>) => Object.fromEntries([...map].map(([name, values]) => [name, percentile(values, 50)]));
    return {
      photo: photo.key,
      width,
      height,
      megapixels: round((width * height) / 1e6),
      photoMB: round(variants[1]!.byteLength / 1e6),
      samples,
      sharpResizeMsP50: percentile(bare, 50),
      onDemandMsP50: percentile(onDemand, 50),
      onDemandMsP95: percentile(onDemand, 95),
      sharpResizeCpuMsP50: percentile(bareCpu, 50),
      onDemandCpuMsP50: percentile(onDemandCpu, 50),
      steps: { emulatorCalls: medians(calls), callsPerRequest: Object.fromEntries([...calls].map(([name, values]) => [name, round(values.length / samples)])), cpu: medians(cpu) },
      ratios: {
        onDemandOverSharpResize: round(percentile(onDemand, 50) / percentile(bare, 50)),
        onDemandCpuOverSharpResizeCpu: round(percentile(onDemandCpu, 50) / percentile(bareCpu, 50)),
      },
    };
  } finally {
    await stack.close();
  }
}

/**
 * The steady state beside onDemandSpeed's longest path: the same photos after the batch has stored
 * them (a fresh local stack, `runLocalMigration`), asked for the same new size. serveDynamic then cuts
 * it from the smallest stored `inside` rendition at least INTERMEDIATE_FACTOR times the size (with the
 * default presets, `large`), not from the original. Alternating with the same bare sharp resize of the
 * whole original, as there: `ratio` is migrated p50 ÷ bare p50. `sourceBytes`: what the request read.
 */
async function onDemandMigrated(variants: readonly Buffer[], dataDir: string, samples: number) {
  const photosDir = join(dataDir, 'photos');
  await mkdir(join(photosDir, 'speed'), { recursive: true });
  for (let i = 0; i <= samples; i++) await writeFile(join(photosDir, `speed/${i}.jpg`), variants[i]!);
  const stack = await openLocalStack(join(dataDir, 'data'));
  try {
    const run = await runLocalMigration({ photosDir, dataDir: stack.dataDir, stack, timeScale: 0 });
    if (run.summary.succeeded !== samples + 1) throw new Error(`the batch stored ${run.summary.succeeded} of ${samples + 1} photos`);
    const read: number[] = [];
    const store: OnDemandContext['store'] = new Proxy(stack.context.store, {
      get(object, property, receiver) {
        const value = Reflect.get(object, property, receiver);
        if (property !== 'openRead' || typeof value !== 'function') return typeof value === 'function' ? value.bind(object) : value;
        return async (...args: unknown[]) => {
          const answer = await value.apply(object, args);
          read.push(answer.size ?? 0);
          return answer;
        };
      },
    });
    const context: OnDemandContext = { ...stack.context, store, sourceBucket: LOCAL_NAMES.sourceBucket, signingSecret: undefined, renderGate: new RenderGate(1) };
    const once = async (i: number) => {
      const answer = await serveDynamic(context, { size: '300x200', key: `speed/${i}.jpg` });
      if (answer.status !== 301 || !answer.rendered) throw new Error(`on-demand (migrated) speed/${i}.jpg answered ${JSON.stringify(answer).slice(0, 300)}`);
    };
    await once(0);
    read.length = 0;
    const bare: number[] = [];
    const migrated: number[] = [];
    for (let i = 1; i <= samples; i++) {
      let at = performance.now();
      await bareResize(variants[i]!);
      bare.push(performance.now() - at);
      at = performance.now();
      await once(i);
      migrated.push(performance.now() - at);
    }
    return {
      ratio: round(percentile(migrated, 50) / percentile(bare, 50)),
      measured: { sharpResizeMsP50: percentile(bare, 50), onDemandMsP50: percentile(migrated, 50), onDemandMsP95: percentile(migrated, 95), sourceBytesP50: percentile(read, 50) },
    };
  } finally {
    await stack.close();
  }
}

/**
 * What negotiation's extra step costs (issue 18): the same image asked for by its explicit variant URL
 * (`/small.avif/<key>`, what website mode and `<picture>` use) and by its logical URL with Chrome's Accept
 * (`/small/<key>`: the resolver looks up the best variant the client takes), through the resolver core
 * (resolveLogical on the local stack: the CDN's origin work, no HTTP, no cache), alternating one of each:
 *   negotiated  the best variant's pointer exists: the same lookups as the explicit URL
 *   fallback    the best variant's pointer is missing (its key deleted): one more HEAD, then the next
 *   dynamic     an on-demand size already made, `dynamic/300x200.webp/<key>` vs `dynamic/300x200/<key>`
 * `storeCalls`: store and catalog calls per request of each (counted, so exact); ms: medians, the body
 * read whole. `formatChoiceNs`: the edge function's normalisation of Chrome's Accept, per call.
 * A ~2 MP copy of the photo (the resolver reads crops, not originals), `samples` keys.
 */
async function negotiationCost(photo: Photo, dataDir: string, samples: number) {
  const chrome = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';
  const negotiationConfig = { ...config, presets: { ...config.presets, small: { ...config.presets.small!, formats: ['webp', 'avif'] as VariantFormat[] } }, onDemand: { ...config.onDemand, formats: ['webp'] as VariantFormat[] } };
  const photosDir = join(dataDir, 'photos');
  await mkdir(join(photosDir, 'bench'), { recursive: true });
  const bytes = await sharp(photo.bytes).rotate().resize(1800, 1800, { fit: 'inside' }).jpeg({ quality: 90 }).toBuffer();
  const keys = [...Array(samples).keys()].map((i) => `bench/${i}.jpg`);
  for (const key of keys) await writeFile(join(photosDir, key), bytes);
  const stack = await openLocalStack(join(dataDir, 'data'), { config: negotiationConfig });
  try {
    await runLocalMigration({ photosDir, dataDir: stack.dataDir, stack, config: negotiationConfig, timeScale: 0 });
    const counts = new Map<string, number>();
    const counted = <T extends object>(target: T, prefix: string): T =>
      new Proxy(target, {
        get(object, property, receiver) {
          const value = Reflect.get(object, property, receiver);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            counts.set(`${prefix}.${String(property)}`, (counts.get(`${prefix}.${String(property)}`) ?? 0) + 1);
            return value.apply(object, args);
          };
        },
      });
    const context: OnDemandContext = { ...stack.context, store: counted(stack.context.store, 'store'), catalog: counted(stack.context.catalog, 'catalog'), sourceBucket: LOCAL_NAMES.sourceBucket, signingSecret: undefined, renderGate: new RenderGate(1) };
    const calls = new Map<string, Record<string, number>>();
    const ms = new Map<string, number[]>();
    const request = async (name: string, path: string, accept: string, expected: string) => {
      counts.clear();
      const at = performance.now();
      const resolution = await resolveLogical(context, { path, accept });
      if (resolution.status !== 200 || resolution.headers['Content-Type'] !== expected) throw new Error(`${path} (${name}) answered ${resolution.status} ${resolution.headers['Content-Type']}`);
      for await (const chunk of resolution.body!) void chunk;
      ms.set(name, [...(ms.get(name) ?? []), performance.now() - at]);
      calls.set(name, Object.fromEntries(counts));
    };
    // Each on-demand variant made once, by its explicit URL; a warm-up of every kind of request.
    for (const key of keys) await request('make', `/dynamic/300x200.webp/${encodeKeyPath(key)}`, '*/*', 'image/webp');
    await request('warm', `/small/${encodeKeyPath(keys[0]!)}`, chrome, 'image/avif');
    for (const key of keys) {
      const path = encodeKeyPath(key);
      await request('explicit', `/small.avif/${path}`, '*/*', 'image/avif');
      await request('negotiated', `/small/${path}`, chrome, 'image/avif');
      await request('dynamicExplicit', `/dynamic/300x200.webp/${path}`, '*/*', 'image/webp');
      await request('dynamicNegotiated', `/dynamic/300x200/${path}`, chrome, 'image/webp');
    }
    // The best variant missing: Chrome's AVIF pointer gone, its WebP answers; beside the explicit WebP URL.
    for (const key of keys) await stack.store.delete({ bucket: LOCAL_NAMES.libraryBucket, key: `small.avif/${key}` });
    for (const key of keys) {
      const path = encodeKeyPath(key);
      await request('explicitWebp', `/small.webp/${path}`, '*/*', 'image/webp');
      await request('fallback', `/small/${path}`, chrome, 'image/webp');
    }
    const choices = 200_000;
    let chosen = '';
    const choiceAt = process.hrtime.bigint();
    for (let i = 0; i < choices; i++) chosen = formatChoice(chrome);
    const formatChoiceNs = round(Number(process.hrtime.bigint() - choiceAt) / choices);
    if (chosen !== 'avif,webp') throw new Error(`formatChoice(chrome) = ${chosen}`);
    const p50 = (name: string) => percentile(ms.get(name)!, 50);
    const headsOf = (name: string) => ({ head: calls.get(name)!['store.head'] ?? 0, openRead: calls.get(name)!['store.openRead'] ?? 0, catalog: Object.entries(calls.get(name)!).filter(([k]) => k.startsWith('catalog.')).reduce((sum, [, n]) => sum + n, 0) });
    return {
      samples,
      explicitMsP50: p50('explicit'),
      negotiatedMsP50: p50('negotiated'),
      explicitWebpMsP50: p50('explicitWebp'),
      fallbackMsP50: p50('fallback'),
      dynamicExplicitMsP50: p50('dynamicExplicit'),
      dynamicNegotiatedMsP50: p50('dynamicNegotiated'),
      formatChoiceNs,
      storeCalls: { explicit: headsOf('explicit'), negotiated: headsOf('negotiated'), fallback: headsOf('fallback'), dynamicExplicit: headsOf('dynamicExplicit'), dynamicNegotiated: headsOf('dynamicNegotiated') },
      ratios: {
        negotiatedOverExplicit: round(p50('negotiated') / p50('explicit')),
        fallbackOverExplicit: round(p50('fallback') / p50('explicitWebp')),
        dynamicNegotiatedOverExplicit: round(p50('dynamicNegotiated') / p50('dynamicExplicit')),
      },
    };
  } finally {
    await stack.close();
  }
}

/** Miss (first request: the whole 307 → render → 301 → 301 → 200 dance) and hit, on `serve`. */
async function onDemandLatency(photo: Photo, dataDir: string) {
  const samples = 15;
  const stack = await openLocalStack(dataDir);
  const server = await startLocalServer(stack, { signingSecret: '' });
  try {
    for (let i = 0; i < samples; i++) {
      await stack.store.put({ bucket: LOCAL_NAMES.sourceBucket, key: `bench/${i}.jpg` }, photo.bytes, { contentType: 'image/jpeg' });
    }
    const url = (i: number) => `${server.website.url}/dynamic/300x200/bench/${i}.jpg`;
    const get = async (i: number) => {
      const response = await fetch(url(i));
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`on-demand answered ${response.status}`);
    };
    const misses = await timeEach([...Array(samples).keys()], get);
    const hits = await timeEach([...Array(samples).keys()], get);
    const bare = await timeEach([...Array(samples).keys()], () => sharp(photo.bytes).rotate().resize(300, 200, { fit: 'cover' }).jpeg({ quality: config.jpegQuality }).toBuffer());
    const sharpResizeMs = percentile(bare, 50);
    return {
      photo: photo.key,
      megapixels: round((((await sharp(photo.bytes).metadata()).width ?? 0) * ((await sharp(photo.bytes).metadata()).height ?? 0)) / 1e6),
      samples,
      missMsP50: percentile(misses, 50),
      missMsP95: percentile(misses, 95),
      hitMsP50: percentile(hits, 50),
      hitMsP95: percentile(hits, 95),
      sharpResizeMs,
      missOverSharpResize: round(percentile(misses, 50) / sharpResizeMs),
    };
  } finally {
    await server.close();
    await stack.close();
  }
}

/**
 * The CDN view (src/local/cdn.ts) on one real photo under many keys (one content, many pointers):
 *   warm hit          a logical URL already in the CDN cache
 *   first hit         a preset's first request: the resolver reads the pointer, streams the asset
 *   new size          a dynamic size's first request: rendered, stored, answered 200
 * each beside its reference in the same run: a plain static GET of the same bytes from the same
 * server (the crop's asset under /assets/, uncached), or a bare sharp resize of the same photo. Then a bounded
 * 50-concurrent mixed load on 127.0.0.1 (hits, first hits, new sizes).
 */
async function cdnLatency(photo: Photo, dataDir: string) {
  const samples = 15;
  const photosDir = join(dataDir, 'photos');
  await mkdir(join(photosDir, 'bench'), { recursive: true });
  for (let i = 0; i < 40; i++) await writeFile(join(photosDir, 'bench', `${i}.jpg`), photo.bytes);
  const stack = await openLocalStack(join(dataDir, 'data'));
  const server = await startLocalServer(stack, { signingSecret: '' });
  try {
    await runLocalMigration({ photosDir, dataDir: stack.dataDir, stack, timeScale: 0 });
    const cdn = server.cdn.url;
    const body = async (url: string) => {
      const response = await fetch(url, { redirect: 'manual' });
      const bytes = Buffer.from(await response.arrayBuffer());
      if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
      return bytes;
    };
    // The static reference: the same crop's bytes from the same server as a plain object of the
    // bucket (`/assets/…`, what CloudFront fetches from S3), its cached copy dropped before each GET.
    const row = (await stack.context.catalog.rowsForKey('bench/0.jpg')).find((r) => r.preset === 'small')!;
    const staticPath = `/${row.assetKey}`;
    const crop = await body(`${cdn}${staticPath}`);
    const keys = [...Array(samples).keys()].map((i) => i + 1);
    const staticGet = await timeEach(keys, () => {
      server.cdn.invalidate([staticPath]);
      return body(`${cdn}${staticPath}`);
    });
    const firstHit = await timeEach(keys, (i) => body(`${cdn}/small/bench/${i}.jpg`));
    const warmHit = await timeEach(keys, (i) => body(`${cdn}/small/bench/${i}.jpg`));
    const newSize = await timeEach(keys, (i) => body(`${cdn}/dynamic/300x200/bench/${i}.jpg`));
    const bare = await timeEach(keys, () => sharp(photo.bytes).rotate().resize(300, 200, { fit: 'cover' }).jpeg({ quality: config.jpegQuality }).toBuffer());
    const load = await mixedLoad(cdn, 50, 400);
    const p50 = (values: number[]) => percentile(values, 50);
    return {
      photo: photo.key,
      samples,
      cropBytes: crop.byteLength,
      staticMsP50: p50(staticGet),
      staticMsP95: percentile(staticGet, 95),
      warmHitMsP50: p50(warmHit),
      warmHitMsP95: percentile(warmHit, 95),
      firstHitMsP50: p50(firstHit),
      firstHitMsP95: percentile(firstHit, 95),
      newSizeMsP50: p50(newSize),
      newSizeMsP95: percentile(newSize, 95),
      sharpResizeMs: p50(bare),
      load,
      ratios: {
        warmHitOverStatic: round(p50(warmHit) / p50(staticGet)),
        firstHitOverStatic: round(p50(firstHit) / p50(staticGet)),
        newSizeOverSharpResize: round(p50(newSize) / p50(bare)),
      },
    };
  } finally {
    await server.close();
    await stack.close();
  }
}

/** `total` GETs, `concurrency` at once: warm hits, first hits of other presets, new on-demand sizes. */
async function mixedLoad(cdn: string, concurrency: number, total: number) {
  const urls = [...Array(total).keys()].map((i) => {
    const key = `bench/${16 + (i % 24)}.jpg`;
    if (i % 4 === 0) return `${cdn}/dynamic/${['150x150', '640x480-inside'][i % 2 === 0 ? 0 : 1]}/${key}`;
    return `${cdn}/${['thumb', 'small', 'medium', 'large'][i % 4]}/${key}`;
  });
  const times: number[] = [];
  let errors = 0;
  const started = performance.now();
  await mapLimit(urls, concurrency, async (url) => {
    const at = performance.now();
    try {
      const response = await fetch(url, { redirect: 'manual' });
      await response.arrayBuffer();
      if (response.status !== 200) errors++;
    } catch {
      errors++;
    }
    times.push(performance.now() - at);
  });
  return { requests: total, concurrency, errors, msP50: percentile(times, 50), msP95: percentile(times, 95), requestsPerSecond: round(total / ((performance.now() - started) / 1000)) };
}

/**
 * A local run at scale (issue 16, case 9): `count` tiny generated photos (16x12 JPEGs of random
 * pixels, all distinct) through `photo-scaler run` as the CLI runs it, each command in a fresh
 * process: the first run (wall, photos/s, peak RSS), the same run again (a no-op: nothing to upload
 * or render), `verify`; and the peak RSS of a run of a fifth as many photos, for the growth per photo
 * (flat memory: ~0 KB a photo). Each command's CPU seconds (user + system, emulators included: they run
 * in its process) beside its wall time: on a shared machine CPU time is the steadier figure.
 * `--only local-run`, `--local-run-photos <n>` (default 5,000).
 */
async function localRunScale(work: string, count: number) {
  const photos = join(work, 'photos');
  const fewer = Math.max(1, Math.round(count / 5));
  await writeTinyPhotos(photos, count);
  await writeTinyPhotos(join(work, 'photos-fewer'), fewer);
  const data = join(work, 'data');
  const first = await cliMeasured(work, ['run', '--photos', photos, '--data-dir', data, '--json']);
  const noop = await cliMeasured(work, ['run', '--photos', photos, '--data-dir', data, '--json']);
  const audit = await cliMeasured(work, ['verify', '--data-dir', data, '--json']);
  const smaller = await cliMeasured(work, ['run', '--photos', join(work, 'photos-fewer'), '--data-dir', join(work, 'data-fewer'), '--json']);
  const ok = first.json.items === count && first.json.succeeded === count && noop.json.unchanged === count && noop.json.assets === 0 && audit.json.done === count && smaller.json.items === fewer;
  if (!ok) throw new Error(`local run of ${count} photos did not end as expected: ${JSON.stringify({ first: first.json, noop: noop.json, audit: audit.json })}`.slice(0, 2000));
  return {
    photos: count,
    firstRun: { seconds: first.seconds, cpuSeconds: first.cpuSeconds, itemsPerSecond: round(count / first.seconds), peakRssMB: first.peakRssMB },
    noopRerun: { seconds: noop.seconds, cpuSeconds: noop.cpuSeconds, peakRssMB: noop.peakRssMB },
    verify: { seconds: audit.seconds, cpuSeconds: audit.cpuSeconds, peakRssMB: audit.peakRssMB },
    fewerPhotos: { photos: fewer, seconds: smaller.seconds, cpuSeconds: smaller.cpuSeconds, peakRssMB: smaller.peakRssMB },
    rssKBPerPhoto: round(((first.peakRssMB - smaller.peakRssMB) * 1024) / (count - fewer)),
    ratios: { noopRerunOverFirstRun: round(noop.seconds / first.seconds), verifyOverFirstRun: round(audit.seconds / first.seconds), peakRssOverFewerPhotos: round(first.peakRssMB / smaller.peakRssMB) },
  };
}

async function writeTinyPhotos(dir: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const folder = join(dir, `d${String(Math.floor(i / 500)).padStart(2, '0')}`);
    if (i % 500 === 0) await mkdir(folder, { recursive: true });
    const pixels = createHash('sha256').update(`${dir}/${i}`).digest();
    const raw = Buffer.alloc(16 * 12 * 3, 0).map((_, j) => pixels[j % 32]! ^ (j * 7));
    await writeFile(join(folder, `p${String(i).padStart(5, '0')}.jpg`), await sharp(raw, { raw: { width: 16, height: 12, channels: 3 } }).jpeg({ quality: 80 }).toBuffer());
  }
}

/** `photo-scaler <args>` in a fresh process: its wall time, CPU time, peak RSS (VmHWM) and JSON output. */
function cliMeasured(work: string, args: string[]): Promise<{ seconds: number; cpuSeconds: number; peakRssMB: number; json: Record<string, any> }> {
  return measured(work, [join(import.meta.dirname, 'photo-scaler.mjs'), ...args]);
}

/**
 * RSS of `serve` in its own process, launched as the CLI launches it (scripts/photo-scaler.mjs, so with
 * the environment the CLI gives it), emulators included. Misses go to its on-demand API (website mode's
 * door), which has no cache in front: the CDN view would keep up to 256 MB of answers, a bounded cache
 * that is not what is measured here. Each miss is a new (key, size), rendered from `photo`.
 *   sequential      one serve, `misses` misses one after another, RSS sampled every 20: the median of the
 *                   samples of misses 101-200 and of the last 200 (RSS swings with V8's collections of dead
 *                   buffers: a median, not one reading). A warm Lambda lives for thousands of invocations:
 *                   `lastOverFirst200` must stay near 1
 *   identicalCrowd  a fresh serve: peak RSS while 50 concurrent requests ask for one new size
 *   distinctCrowd   a fresh serve: peak RSS while 50 concurrent requests ask for 50 new (key, size) pairs
 */
async function serveMemory(photo: Photo, dataDir: string, misses: number) {
  const sizes = config.onDemand.sizes;
  const keys = Math.ceil(misses / sizes.length);
  const stack = await openLocalStack(dataDir);
  try {
    for (let i = 0; i < keys + 8; i++) await stack.store.put({ bucket: LOCAL_NAMES.sourceBucket, key: `bench/m${i}.jpg` }, photo.bytes, { contentType: 'image/jpeg' });
  } finally {
    await stack.close();
  }
  const crowd = (requests: Array<[string, string]>) =>
    withServe(dataDir, async (api, rss) => {
      const beforeMB = rss();
      let peakRssMB = beforeMB;
      const poll = setInterval(() => (peakRssMB = Math.max(peakRssMB, rss())), 10);
      const at = performance.now();
      try {
        await Promise.all(requests.map(([size, key]) => onDemandMiss(api, size, key)));
      } finally {
        clearInterval(poll);
      }
      return { requests: requests.length, beforeMB, peakRssMB: Math.max(peakRssMB, rss()), seconds: round((performance.now() - at) / 1000) };
    });
  const identicalCrowd = await crowd(Array.from({ length: 50 }, () => ['300x200', `bench/m${keys}.jpg`]));
  const distinctCrowd = await crowd(Array.from({ length: 50 }, (_, i) => [sizes[i % sizes.length]!, `bench/m${keys + 1 + Math.floor(i / sizes.length)}.jpg`]));
  const sequential = await withServe(dataDir, async (api, rss, environment) => {
    const samples: Array<[number, number]> = [];
    const started = performance.now();
    for (let i = 0; i < misses; i++) {
      await onDemandMiss(api, sizes[i % sizes.length]!, `bench/m${Math.floor(i / sizes.length)}.jpg`);
      if ((i + 1) % 20 === 0) samples.push([i + 1, rss()]);
    }
    const median = (from: number, to: number) => percentile(samples.filter(([n]) => n > from && n <= to).map(([, mb]) => mb), 50);
    const first200MB = median(100, 200);
    const last200MB = median(misses - 200, misses);
    return {
      misses,
      first200MB,
      last200MB,
      lastOverFirst200: round(last200MB / first200MB),
      peakMB: Math.max(...samples.map(([, mb]) => mb)),
      missesPerSecond: round(misses / ((performance.now() - started) / 1000)),
      environment,
    };
  });
  return { photo: photo.key, sequential, identicalCrowd, distinctCrowd };
}

async function onDemandMiss(api: string, size: string, key: string): Promise<void> {
  const response = await fetch(`${api}/dynamic/${size}/${key}`, { redirect: 'manual' });
  await response.arrayBuffer();
  if (response.status !== 301) throw new Error(`on-demand ${size}/${key} answered ${response.status}`);
}

/** `work` against a `photo-scaler serve` started by the CLI, given its API URL, its RSS and its allocator settings. */
async function withServe<T>(dataDir: string, work: (api: string, rss: () => number, environment: Record<string, string | null>) => Promise<T>): Promise<T> {
  const bin = join(import.meta.dirname, 'photo-scaler.mjs');
  const child = spawn(process.execPath, [bin, 'serve', '--data-dir', dataDir, '--port', '0', '--cdn-port', '0', '--api-port', '0'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PHOTO_SCALER_SIGNING_SECRET: '' } });
  try {
    const api = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const url = /on-demand API at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
        if (url) resolve(url);
      });
      child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
    });
    return await work(api, () => treeRssMB(child.pid!), serveEnvironment(child.pid!));
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.once('exit', resolve)));
  }
}

/** The pids of a process and of every process it started (the CLI may run serve as its child). */
function processTree(pid: number): number[] {
  try {
    const children = readdirSync(`/proc/${pid}/task`).flatMap((tid) => readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    return [pid, ...children.flatMap(processTree)];
  } catch {
    return [];
  }
}

/** The malloc settings serve runs with (those of the last process of the tree: serve itself). */
function serveEnvironment(pid: number): Record<string, string | null> {
  const names = ['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_', 'LD_PRELOAD'];
  try {
    const environ = readFileSync(`/proc/${processTree(pid).at(-1)}/environ`, 'utf8').split('\0');
    return Object.fromEntries(names.map((name) => [name, environ.find((entry) => entry.startsWith(`${name}=`))?.slice(name.length + 1) ?? null]));
  } catch {
    return {};
  }
}

/** Resident set (MB) of a process and of every process it started. */
function treeRssMB(pid: number): number {
  const kb = processTree(pid).reduce((sum, p) => {
    try {
      return sum + Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      return sum;
    }
  }, 0);
  return Math.round(kb / 1024);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function table(result: Record<string, unknown>): string {
  const lines: string[] = [];
  const walk = (value: unknown, prefix: string) => {
    if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, prefix ? `${prefix}.${k}` : k);
    else lines.push(`${prefix.padEnd(36)} ${value}`);
  };
  walk(result, '');
  return `${lines.join('\n')}\n`;
}

await main();

/**
 * A 4032x3024 photo (an iPhone's 12 MP) as HEIC (heif-enc, quality 80) and as JPEG (quality 90):
 * milliseconds to render every preset (median of 3, in this process, after one warm-up), the libheif
 * (WebAssembly) decode alone, and the peak RSS of a fresh process rendering each once; and the peak RSS
 * of a 48 MP HEIC (`heic48PeakRssMB`), with the megabytes each megapixel adds between the two.
 */
async function heicBench(work: string) {
  const width = 4032;
  const height = 3024;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><defs><linearGradient id="g"><stop offset="0" stop-color="#123"/><stop offset="1" stop-color="#fc8"/></linearGradient></defs><rect width="${width}" height="${height}" fill="url(#g)"/><circle cx="2000" cy="1500" r="1000" fill="#3a6"/></svg>`;
  // Grain, so the encoders have real detail to code.
  const noise = Buffer.alloc(width * height);
  let x = 7;
  for (let i = 0; i < noise.length; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    noise[i] = 118 + (x & 15);
  }
  const grain = await sharp(noise, { raw: { width, height, channels: 1 } }).png().toBuffer();
  // Tagged Display P3, as an iPhone's are (heif-enc keeps the profile: heic.ts then hands sharp a TIFF).
  const jpeg = await sharp(Buffer.from(svg)).composite([{ input: grain, blend: 'overlay' }]).withIccProfile('p3').jpeg({ quality: 90 }).toBuffer();
  const jpegFile = join(work, 'twelve-megapixels.jpg');
  const heicFile = join(work, 'twelve-megapixels.heic');
  await writeFile(jpegFile, jpeg);
  try {
    await run('heif-enc', ['-q', '80', '-o', heicFile, jpegFile]);
  } catch (error) {
    throw new Error(`heif-enc failed or is missing (Debian: apt-get install libheif-examples): ${(error as Error).message}`);
  }
  const heic = await readFile(heicFile);
  const median = async (input: Buffer) => {
    await renderPresets(input, presets, config.limits);
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      await renderPresets(input, presets, config.limits);
      times.push(performance.now() - started);
    }
    return Math.round(times.sort((a, b) => a - b)[1]!);
  };
  const heicRenderMs = await median(heic);
  const jpegRenderMs = await median(jpeg);
  const { all } = await import('heic-decode');
  const decodeStarted = performance.now();
  const images = await all({ buffer: heic });
  await images[0]!.decode();
  images.dispose();
  const wasmDecodeMs = Math.round(performance.now() - decodeStarted);
  const rssOf = (file: string, name: string) => childPeakRss(
    work,
    name,
    `import { readFileSync } from 'node:fs';
import { renderPresets } from ${JSON.stringify(join(import.meta.dirname, '../src/core/render.ts'))};
import { validateConfig } from ${JSON.stringify(join(import.meta.dirname, '../src/core/presets.ts'))};
import { config } from ${JSON.stringify(join(import.meta.dirname, '../src/config.ts'))};
await renderPresets(readFileSync(${JSON.stringify(file)}), validateConfig(config), config.limits);`,
  );
  const heicPeakRssMB = await rssOf(heicFile, 'rss-heic');
  const jpegPeakRssMB = await rssOf(jpegFile, 'rss-jpeg-12mp');
  // An iPhone's largest, 48 MP (8064x6048): what limits.maxHeicPixels is set from (peak RSS per megapixel).
  const large = { width: 8064, height: 6048 };
  const largeJpeg = join(work, 'forty-eight-megapixels.jpg');
  const largeHeic = join(work, 'forty-eight-megapixels.heic');
  await sharp(jpeg).resize(large.width, large.height, { fit: 'fill' }).keepIccProfile().jpeg({ quality: 90 }).toFile(largeJpeg);
  await run('heif-enc', ['-q', '80', '-o', largeHeic, largeJpeg], { maxBuffer: 1 << 20 });
  const heic48PeakRssMB = await rssOf(largeHeic, 'rss-heic-48mp');
  const largeMegapixels = (large.width * large.height) / 1e6;
  return {
    megapixels: round((width * height) / 1e6),
    heicBytes: heic.length,
    jpegBytes: jpeg.length,
    heicRenderMs,
    jpegRenderMs,
    heicOverJpeg: round(heicRenderMs / jpegRenderMs),
    wasmDecodeMs,
    heicPeakRssMB,
    jpegPeakRssMB,
    heic48PeakRssMB,
    heicRssMBPerMegapixel: round((heic48PeakRssMB - heicPeakRssMB) / (largeMegapixels - (width * height) / 1e6)),
  };
}
