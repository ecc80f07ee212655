/**
 * The report as one self-contained HTML page: styles and the duration chart (SVG) are inline, no
 * script. Images load from `baseUrl` + logical key — by default `serve`'s CDN view, where every
 * logical URL answers 200 with the image, as CloudFront does on AWS. Elements carry data-*
 * attributes (counts, preset and expected size of each image) so a browser test can check them.
 */
import { encodeKeyPath } from '../core/cdn';
import type { ReportData, ReportImage, ReportPhoto } from './report';

const esc = (text: string | number) =>
  String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const n = (value: number) => value.toLocaleString('en-US');
const kb = (bytes: number) => (bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1e3))} kB`);

/** Thumbnails are drawn at most this wide/high in the page; their natural size is the preset's. */
const DISPLAY = 160;

export function renderReportHtml(data: ReportData, baseUrl = ''): string {
  const base = baseUrl.replace(/\/+$/, '');
  const s = data.summary;
  const counts: Array<[string, string, number]> = [
    ['items', 'photos in the inventory', s.items],
    ['succeeded', 'done', s.succeeded],
    ['resized', 'resized', s.resized],
    ['duplicates', 'duplicates', s.duplicates],
    ['unchanged', 'unchanged', s.unchanged],
    ['failed', 'failed', s.failed],
    ['catalog-photos', 'photos in the catalog', data.catalog.photos],
    ['catalog-crops', 'crops in the catalog', data.catalog.crops],
    ['catalog-rows', 'catalog rows', data.catalog.rows],
    ['catalog-failures', 'failure rows', data.catalog.failures],
    ['distinct-assets', 'distinct assets', data.catalog.distinctAssets],
    // Only with formats configured (issue 18): variant crops, `<preset>.<format>`, among the crops above.
    ...(data.catalog.variants ? [['catalog-variants', 'variants (WebP/AVIF) among the crops', data.catalog.variants] as [string, string, number]] : []),
  ];
  const done = data.photos.filter((photo) => photo.images.length > 0);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>photo-scaler report — ${esc(data.run.execution)}</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 1rem 1.5rem; color: #1d2433; }
  h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; border-bottom: 1px solid #dde; }
  .meta { color: #556; } code { font-size: 0.9em; }
  .counts { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: .5rem; }
  .count { background: #f3f5fa; border-radius: 6px; padding: .5rem .75rem; }
  .count b { display: block; font-size: 1.4rem; }
  .photo { border-top: 1px solid #eef; padding: .75rem 0; }
  .photo header { display: flex; gap: 1rem; align-items: baseline; flex-wrap: wrap; }
  .status { font-size: .8rem; padding: 0 .4rem; border-radius: 4px; background: #e6f0ff; }
  .status.failed { background: #ffe3e3; } .status.duplicate { background: #fff3d6; } .status.unchanged { background: #eee; }
  .crops { display: flex; gap: .75rem; flex-wrap: wrap; align-items: flex-end; margin-top: .5rem; }
  figure { margin: 0; text-align: center; } figcaption { font-size: .75rem; color: #556; }
  figure img { display: block; max-width: ${DISPLAY}px; max-height: ${DISPLAY}px; width: auto; height: auto; background: #f3f5fa; }
  table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #eef; vertical-align: top; }
  .chart text { font-size: 11px; fill: #556; }
</style>
</head>
<body>
<h1>photo-scaler — run <code>${esc(data.run.execution)}</code></h1>
<p class="meta">Status <b data-run-status="${esc(data.run.status)}">${esc(data.run.status)}</b>${data.run.finishedAt ? `, finished ${esc(data.run.finishedAt)}` : ''}.
${data.run.sources ? 'Sources' : 'Inventory'} <code>s3://${esc(data.run.manifest.bucket)}/${esc(data.run.manifest.key)}</code>.
${throughput(data)}
Images load from ${base ? `<code>${esc(base)}</code>` : 'this server'} at their logical URLs (run <code>npx photo-scaler serve</code>).
Report generated ${esc(data.generatedAt)}.</p>

<h2>Counts</h2>
<div class="counts">
${counts.map(([id, label, value]) => `<div class="count"><b data-count="${id}">${n(value)}</b>${esc(label)}</div>`).join('\n')}
</div>
<p class="meta">This run wrote ${n(s.assets)} assets, ${n(s.pointers)} pointers and ${n(s.catalogRows)} catalog rows (a rerun writes none).</p>

${copySection(data)}
<h2>Per-photo durations</h2>
${durationChart(data.photos)}

<h2>Failures (${n(data.failures.length)})</h2>
${failuresSection(data)}

<h2>Skipped files (${n(data.skipped.length)})</h2>
${skippedSection(data)}

<h2>Duplicate groups (${n(data.duplicateGroups.length)})</h2>
${data.duplicateGroups.length === 0 ? '<p>No two photos with the same content.</p>' : `<table data-section="duplicates"><tr><th>sha-256</th><th>keys (one set of assets for all)</th></tr>
${data.duplicateGroups.map((group) => `<tr data-duplicate-group="${esc(group.sha256)}"><td><code>${esc(group.sha256.slice(0, 16))}…</code></td><td>${group.keys.map((key) => esc(key)).join('<br>')}</td></tr>`).join('\n')}
</table>`}

<h2>Gallery (${n(done.length)} photos: original, then ${data.presets.map(esc).join(', ')})</h2>
<div data-section="gallery">
${done.map((photo) => photoBlock(photo, base)).join('\n')}
</div>
</body>
</html>
`;
}

function throughput(data: ReportData): string {
  if (!data.itemsPerSecond || !data.run.executionSeconds) return '';
  return `Execution ${data.run.executionSeconds.toFixed(1)} s: <b data-throughput>${data.itemsPerSecond.toFixed(1)}</b> photos/s.`;
}

function failuresSection(data: ReportData): string {
  if (data.failures.length === 0) return '<p>No photo failed.</p>';
  const groups =
    data.failureGroups.length > 0
      ? `<table data-section="failure-groups"><tr><th>reason</th><th>photos</th><th>for example</th></tr>
${data.failureGroups.map((group) => `<tr data-failure-reason="${esc(group.reason)}"><td><code>${esc(group.reason)}</code></td><td>${n(group.count)}</td><td>${esc(group.keys[0] ?? '')}: ${esc(group.example)}</td></tr>`).join('\n')}
</table>`
      : '';
  return `${groups}<table data-section="failures"><tr><th>key</th><th>reason</th><th>error</th><th>message</th></tr>
${data.failures.map((failure) => `<tr data-failure="${esc(failure.key)}"><td>${esc(failure.key)}</td><td><code>${esc(failure.reason)}</code></td><td>${esc(failure.errorType)}</td><td>${esc(failure.error)}</td></tr>`).join('\n')}
</table>`;
}

/** What each reason of src/local/photos.ts means, for the reader of the page. */
const SKIP_REASONS: Record<string, string> = {
  hidden: 'a name starting with "." (system and tool files such as .DS_Store, .git/)',
  'not-an-image': 'its content is no image format',
  unreadable: 'it could not be opened or read',
  'name-not-utf8': 'its name is not UTF-8, and S3 keys are (stray bytes shown as \\xNN)',
  'symlink-outside': 'a symbolic link to something outside the folder: never followed',
  'symlink-broken': 'a symbolic link to nothing',
  'symlink-to-folder': 'a symbolic link to a folder: not entered',
  'not-a-file': 'a FIFO, socket or device',
};

function skippedSection(data: ReportData): string {
  if (data.skipped.length === 0) return '<p>Every file of the folder is in the run.</p>';
  return `<p>Files of the folder that are not in the run, each with its reason.</p>
<table data-section="skipped"><tr><th>path</th><th>reason</th></tr>
${data.skipped.map((entry) => `<tr data-skipped="${esc(entry.path)}"><td>${esc(entry.path)}</td><td><code data-reason="${esc(entry.reason)}">${esc(entry.reason)}</code> — ${esc(SKIP_REASONS[entry.reason] ?? '')}</td></tr>`).join('\n')}
</table>`;
}

function photoBlock(photo: ReportPhoto, base: string): string {
  const note = photo.duplicateOf ? ` — same content as <code>${esc(photo.duplicateOf)}</code>` : '';
  const time = photo.ms !== undefined ? `<span class="meta">${photo.ms.toFixed(0)} ms</span>` : '';
  return `<section class="photo" data-photo="${esc(photo.key)}">
<header><b>${esc(photo.key)}</b> <span class="status ${esc(photo.status)}">${esc(photo.status)}</span>${note} ${time}</header>
<div class="crops">${photo.images.map((image) => figure(image, base)).join('')}</div>
</section>`;
}

function figure(image: ReportImage, base: string): string {
  const scale = Math.min(1, DISPLAY / image.width, DISPLAY / image.height);
  // The sort key is the label: a preset's name, or `original` (src/core/layout.ts).
  const label = image.preset;
  return `<figure><img src="${esc(`${base}/${encodeKeyPath(image.logicalKey)}`)}" loading="lazy" alt="${esc(`${label} of ${image.logicalKey}`)}" width="${Math.max(1, Math.round(image.width * scale))}" height="${Math.max(1, Math.round(image.height * scale))}" data-preset="${esc(image.preset)}" data-width="${image.width}" data-height="${image.height}"><figcaption>${esc(label)} ${image.width}×${image.height}, ${kb(image.bytes)}</figcaption></figure>`;
}

/** A histogram of per-photo durations (sum of the step timings), with percentiles. */
function durationChart(photos: readonly ReportPhoto[]): string {
  const values = photos.map((photo) => photo.ms).filter((ms): ms is number => ms !== undefined).sort((a, b) => a - b);
  if (values.length === 0) return '<p>This run recorded no timings.</p>';
  const pct = (p: number) => values[Math.min(values.length - 1, Math.floor((p / 100) * values.length))]!;
  const max = values[values.length - 1]!;
  const buckets = Math.min(20, Math.max(1, values.length));
  const width = Math.max(max, 1) / buckets;
  const heights = new Array<number>(buckets).fill(0);
  for (const value of values) heights[Math.min(buckets - 1, Math.floor(value / width))]!++;
  const tallest = Math.max(...heights);
  const [w, h, pad] = [720, 180, 28];
  const barWidth = (w - 2 * pad) / buckets;
  const bars = heights
    .map((count, index) => {
      const barHeight = tallest ? (count / tallest) * (h - 2 * pad) : 0;
      const x = pad + index * barWidth;
      return `<rect x="${x.toFixed(1)}" y="${(h - pad - barHeight).toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${barHeight.toFixed(1)}" fill="#4c7bd9"><title>${n(count)} photos, ${(index * width).toFixed(0)}–${((index + 1) * width).toFixed(0)} ms</title></rect>`;
    })
    .join('');
  return `<svg class="chart" data-chart="durations" data-photos="${values.length}" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="histogram of per-photo durations">
<line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#99a"/>${bars}
<text x="${pad}" y="${h - 8}">0 ms</text><text x="${w - pad}" y="${h - 8}" text-anchor="end">${max.toFixed(0)} ms</text>
<text x="${pad}" y="14">photos per duration bucket (tallest: ${n(tallest)})</text>
</svg>
<p class="meta">${n(values.length)} photos · median ${pct(50).toFixed(0)} ms · p90 ${pct(90).toFixed(0)} ms · p99 ${pct(99).toFixed(0)} ms · max ${max.toFixed(0)} ms (dedupe + resize, or dedupe + recordFailure, per photo)</p>`;
}

/**
 * A sources run's copy phase (issue 20): originals copied into the source bucket, bytes, throughput
 * over the execution, those kept (already there with their checksum), Fetch failures by reason. No
 * URL is shown: a row's may carry a SAS token.
 */
function copySection(data: ReportData): string {
  const copy = data.summary.copy;
  if (!copy) return '';
  const seconds = data.run.executionSeconds;
  const rate = seconds ? ` (${(copy.bytes / 1e6 / seconds).toFixed(1)} MB/s, ${(copy.fetched / seconds).toFixed(1)} photos/s over the run)` : '';
  const reasons = Object.entries(copy.failedByReason).sort(([a], [b]) => (a < b ? -1 : 1));
  return `<h2>Copy phase</h2>
<p class="meta">Copied <b data-copy="fetched">${copy.fetched}</b> originals into the source bucket, <b data-copy="bytes">${copy.bytes}</b> bytes${rate}; kept <b data-copy="kept">${copy.kept}</b> already there; <b data-copy="failed">${copy.failed}</b> not fetched.</p>
${reasons.length ? `<table><tr><th>Fetch failed</th><th>photos</th></tr>${reasons.map(([reason, count]) => `<tr><td><code>${esc(reason)}</code></td><td data-copy-reason="${esc(reason)}">${count}</td></tr>`).join('')}</table>` : ''}`;
}
