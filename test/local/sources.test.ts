/**
 * A sources run end to end (issue 20): a CSV of URLs to an origin on 127.0.0.1 in this process that
 * misbehaves on purpose (test/helpers/origin.ts), the real state machine file (its ProcessSources Map,
 * CSV ItemReader, Fetch → Dedupe → Resize), the real handlers, s3rver and dynalite. No URL names an
 * address outside 127.0.0.0/8, and the DNS lookup throws if it is ever asked: no packet leaves.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyRun } from '../../src/core/verify';
import { fetchSource } from '../../src/core/fetch/fetch';
import { ORIGINAL } from '../../src/core/ports';
import { type LocalRunResult, readLastRun } from '../../src/local/migrate';
import { redriveLocal } from '../../src/local/redrive';
import { runLocalSources, runRows } from '../../src/local/sources';
import { LOCAL_NAMES, type LocalStack, openLocalStack } from '../../src/local/stack';
import { jsonOf } from '../../src/cli/run';
import { buildReport } from '../../src/local/report';
import { renderReportHtml } from '../../src/local/report-html';
import { noiseJpeg } from '../helpers/images';
import { type Origin, startOrigin } from '../helpers/origin';

const SAS = '?sv=2022-11-02&sr=b&sp=r&sig=SECRET-SAS-SIGNATURE%3D';
let dir: string;
let stack: LocalStack;
let origin: Origin;
let photos: Record<string, Buffer>;
let first: LocalRunResult;
let csv: string;
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** key → [path on the origin, what the run must end with]. */
const ROWS: Record<string, { path: string; sha256?: 'right' | 'wrong'; expect: 'done' | string }> = {
  'trips/a.jpg': { path: '/photo/a.jpg', sha256: 'right', expect: 'done' },
  'trips/a copy.jpg': { path: '/photo/a-again.jpg', expect: 'done' },
  'b.jpg': { path: '/photo/b.jpg', expect: 'done' },
  'throttled.jpg': { path: '/throttled/c.jpg', expect: 'done' },
  'unavailable.jpg': { path: '/unavailable/d.jpg', expect: 'done' },
  'reset.jpg': { path: '/reset/e.jpg', expect: 'done' },
  'redirected.jpg': { path: '/redirect/f.jpg', expect: 'done' },
  'slow.jpg': { path: '/slow/g.jpg', expect: 'unreachable' },
  'short.jpg': { path: '/short/h.jpg', expect: 'truncated' },
  'redirect-off.jpg': { path: '/redirect-off/b.jpg', expect: 'host-refused' },
  'wrong-sum.jpg': { path: '/photo/g.jpg', sha256: 'wrong', expect: 'checksum' },
  'missing.jpg': { path: '/missing/x.jpg', expect: 'http-4xx' },
  'down.jpg': { path: '/down/b.jpg', expect: 'http-5xx' },
  'notes.jpg': { path: '/photo/notes.txt', expect: 'not-an-image' },
};
const LOOPBACK_OFF_LIST = 'off-list.jpg';
/** Over one part: goes through a multipart upload into the local S3. */
const BIG = 12_000_000;
const done = Object.keys(ROWS).filter((key) => ROWS[key]!.expect === 'done');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-sources-'));
  const a = await noiseJpeg(400, 300, 1);
  photos = { 'a.jpg': a, 'a-again.jpg': a, 'b.jpg': await noiseJpeg(300, 400, 2), 'c.jpg': await noiseJpeg(500, 320, 3), 'd.jpg': await noiseJpeg(320, 320, 4), 'e.jpg': await noiseJpeg(640, 480, 5), 'f.jpg': await noiseJpeg(360, 240, 6), 'g.jpg': await noiseJpeg(200, 200, 7), 'h.jpg': await noiseJpeg(420, 300, 8), 'notes.txt': Buffer.from('not a photo at all\n'.repeat(20)) };
  origin = await startOrigin({ photos, failFirst: 2, slowMs: 3_000, bigBytes: BIG });
  stack = await openLocalStack(join(dir, 'data'), {
    fetch: {
      connectTimeoutMs: 1_000,
      readTimeoutMs: 500,
      attempts: 3,
      baseDelayMs: 20,
      maxRetryAfterMs: 1_000,
      lookup: async (hostname) => {
        throw new Error(`no DNS in this test (asked for ${hostname})`);
      },
    },
  });
  const lines = Object.entries(ROWS).map(([key, row]) => {
    const body = photos[row.path.split('/').pop()!];
    const sum = row.sha256 === 'right' ? sha(body!) : row.sha256 === 'wrong' ? 'f'.repeat(64) : '';
    return `"${key}",${origin.url(row.path)}${SAS},,${sum}`;
  });
  lines.push(`${LOOPBACK_OFF_LIST},http://127.0.0.2:${origin.port}/photo/b.jpg${SAS},,`);
  csv = join(dir, 'sources.csv');
  await writeFile(csv, `key,url,size,sha256\n${lines.join('\n')}\n`);
  first = await runLocalSources({ sourcesFile: csv, allowHosts: [origin.host], dataDir: join(dir, 'data'), stack, timeScale: 0.01 });
}, 240_000);

afterAll(async () => {
  await stack?.close();
  await origin?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('run --sources: a CSV of URLs through the same Map', () => {
  it('ends every row DONE or FAILED with the right reason', () => {
    expect(first.status).toBe('SUCCEEDED');
    const expected = Object.entries(ROWS).filter(([, row]) => row.expect !== 'done').map(([key, row]) => ({ key, reason: row.expect }));
    expected.push({ key: LOOPBACK_OFF_LIST, reason: 'host-refused' });
    const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : 1);
    expect(first.summary.failures.map(({ key, reason }) => ({ key, reason })).sort(byKey)).toEqual(expected.sort(byKey));
    expect(first.summary).toMatchObject({ items: Object.keys(ROWS).length + 1, succeeded: done.length });
    // a.jpg and its twin: the second waits for the first's crops (ContentBusy), at timeScale 0.01 for a
    // few hundred ms at most; on a loaded machine its patience may end first and it renders the same
    // content itself (src/core/dedupe.ts CONTENT_BUSY_PATIENCE: an optimisation, never a failure).
    expect(first.summary.duplicates).toBeLessThanOrEqual(1);
    expect(first.summary.duplicates + first.summary.resized).toBe(done.length);
  });

  it('copies each original into the source bucket at its key; a failed fetch leaves nothing there', async () => {
    for (const key of done) {
      const stored = await stack.store.get({ bucket: LOCAL_NAMES.sourceBucket, key });
      expect(sha(stored.body), key).toBe(sha(photos[ROWS[key]!.path.split('/').pop()!]!));
      const rows = await stack.context.catalog.rowsForKey(key);
      expect(rows.find((row) => row.preset === ORIGINAL)?.sha256, key).toBe(sha(stored.body));
    }
    for (const key of ['wrong-sum.jpg', 'short.jpg', 'slow.jpg', 'redirect-off.jpg', LOOPBACK_OFF_LIST]) {
      expect(await stack.store.head({ bucket: LOCAL_NAMES.sourceBucket, key }), key).toBeUndefined();
    }
  });

  it('sends nothing to 127.0.0.2 (not on the allowlist) and retries 429/503/resets', () => {
    expect(origin.guardConnections()).toBe(0);
    expect(origin.requests.get('/throttled/c.jpg')).toBe(3);
    expect(origin.requests.get('/unavailable/d.jpg')).toBe(3);
    expect(origin.requests.get('/reset/e.jpg')).toBe(3);
    expect(origin.requests.get('/missing/x.jpg')).toBe(1);
  });

  it('reports the copy phase in run --json, after every other field', () => {
    const json = jsonOf(first);
    const fetchedBytes = done.filter((key) => key !== 'notes.jpg').reduce((n, key) => n + photos[ROWS[key]!.path.split('/').pop()!]!.byteLength, 0) + photos['notes.txt']!.byteLength;
    expect(Object.keys(json).at(-1)).toBe('copy');
    expect(json.copy).toMatchObject({ fetched: done.length + 1, kept: 0, failed: 7, bytes: fetchedBytes, failedByReason: { unreachable: 1, truncated: 1, 'host-refused': 2, checksum: 1, 'http-4xx': 1, 'http-5xx': 1 } });
    expect(json.copy!.megabytesPerSecond).toBeGreaterThan(0);
  });

  it('the report shows the copy phase: bytes copied, throughput, Fetch failures by reason (and no URL secret)', async () => {
    const data = await buildReport(stack);
    expect(data.summary.copy).toMatchObject({ fetched: done.length + 1, failed: 7, failedByReason: { 'http-4xx': 1, 'http-5xx': 1 } });
    const html = renderReportHtml(data);
    expect(html).toContain('<h2>Copy phase</h2>');
    expect(html).toContain(`data-copy="bytes">${data.summary.copy!.bytes}<`);
    expect(html).toMatch(/data-copy-reason="host-refused">2</);
    expect(html).toMatch(/MB\/s/);
    expect(html).not.toContain('SECRET');
  });

  it('copies an original of several parts through a multipart upload into the local S3, whole and with its checksum', async () => {
    const expected = createHash('sha256').update(Buffer.alloc(BIG, 0x5a)).digest('hex');
    const context = {
      store: stack.store,
      uploads: stack.store,
      sourceBucket: LOCAL_NAMES.sourceBucket,
      maxInputBytes: stack.context.config.limits.maxInputBytes,
      presetNames: stack.context.presets.map((preset) => preset.name),
      derivedPrefixBytes: 0,
      options: { ...stack.fetchOptions, partBytes: 5 * 1024 * 1024 },
    };
    const item = await fetchSource(context, { key: 'big/blob.bin', url: `${origin.url('/big/blob')}${SAS}`, sha256: expected });
    expect(item.copied.bytes).toBe(BIG);
    const head = await stack.store.head({ bucket: LOCAL_NAMES.sourceBucket, key: 'big/blob.bin' });
    expect(head).toMatchObject({ size: BIG, metadata: { 'fetch-sha256': expected } });
    expect(sha((await stack.store.get({ bucket: LOCAL_NAMES.sourceBucket, key: 'big/blob.bin' })).body)).toBe(expected);
    await stack.store.delete({ bucket: LOCAL_NAMES.sourceBucket, key: 'big/blob.bin' });
  });

  it('never writes the SAS token in a log line, a failure row or the summary', async () => {
    const log = await readFile(stack.logFile, 'utf8');
    expect(log).toContain('"step":"fetch"');
    expect(log).toContain('?***');
    expect(log).not.toContain('SECRET');
    expect(JSON.stringify(jsonOf(first))).not.toContain('SECRET');
    for (const key of Object.keys(ROWS)) expect(JSON.stringify(await stack.context.catalog.failureFor(key) ?? {})).not.toContain('SECRET');
  });

  it('verify audits a sources run from its CSV: every row DONE or FAILED, no discrepancy', async () => {
    const run = await readLastRun(stack.dataDir);
    expect(run).toMatchObject({ sources: true, allowHosts: [origin.host] });
    const report = await verifyRun({ store: stack.store, catalog: stack.context.catalog, libraryBucket: LOCAL_NAMES.libraryBucket, presets: stack.context.presets }, await runRows(stack.store, run));
    expect(report).toMatchObject({ items: Object.keys(ROWS).length + 1, done: done.length, failed: Object.keys(ROWS).length + 1 - done.length, discrepancies: [] });
  });

  it('a rerun fetches 0 (every done original kept), and a redrive runs only the failed rows again', async () => {
    const before = new Map(origin.requests);
    const again = await runLocalSources({ sourcesFile: csv, allowHosts: [origin.host], dataDir: join(dir, 'data'), stack, timeScale: 0.01 });
    expect(again.summary.copy).toMatchObject({ fetched: 0, bytes: 0, kept: done.length + 1 });
    expect(again.summary.unchanged).toBe(done.length);
    for (const key of done) expect(origin.requests.get(ROWS[key]!.path), key).toBe(before.get(ROWS[key]!.path));
    const redrive = await redriveLocal(stack, { timeScale: 0.01 });
    expect(redrive.keys.sort()).toEqual([...Object.keys(ROWS).filter((key) => ROWS[key]!.expect !== 'done'), LOOPBACK_OFF_LIST].sort());
    expect(redrive.result?.summary.failed).toBe(redrive.keys.length);
    expect(origin.guardConnections()).toBe(0);
  }, 120_000);
});
