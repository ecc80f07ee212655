/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The report in a real browser: Debian's Chromium (installed by .ci/run), driven by playwright-core,
 * opens the report `serve`'s CDN view shows at /_report and the file `report` writes. Every gallery
 * image must load from its logical URL through the CDN view — 200, no redirect followed — at its
 * preset's size, and the counts on the page must be the catalog's. A screenshot is saved under
 * test-artifacts/ (not committed).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReportFile } from '../../src/cli/report';
import { FAILURE, ORIGINAL } from '../../src/core/ports';
import { runLocalMigration } from '../../src/local/migrate';
import { writeSamplePhotos } from '../../src/local/samples';
import { type LocalServer, REPORT_PATH, startLocalServer } from '../../src/local/serve';
import { LOCAL_NAMES, type LocalStack, openLocalStack } from '../../src/local/stack';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(process.cwd(), 'test-artifacts');

let dir: string;
let stack: LocalStack;
let server: LocalServer;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (as .ci/run does), or set CHROMIUM_PATH`);
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-report-'));
  const photos = join(dir, 'photos');
  await writeSamplePhotos(photos);
  stack = await openLocalStack(join(dir, 'data'));
  await runLocalMigration({ photosDir: photos, dataDir: stack.dataDir, stack, timeScale: 0.001 });
  server = await startLocalServer(stack, { port: 0 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--no-first-run', '--disable-component-update'],
  });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface LoadedImage {
  src: string;
  preset: string;
  width: number;
  height: number;
  naturalWidth: number;
  naturalHeight: number;
  complete: boolean;
}

/** Scrolls every (lazy) image into view, waits until each has loaded or failed, and reads them. */
async function loadAllImages(page: Page): Promise<LoadedImage[]> {
  const count = await page.locator('img').count();
  for (let i = 0; i < count; i++) await page.locator('img').nth(i).scrollIntoViewIfNeeded();
  await page.waitForFunction(() => Array.from(document.images).every((img) => img.complete), undefined, { timeout: 30_000 });
  return page.$$eval('img', (images) =>
    images.map((img) => ({
      src: img.currentSrc,
      preset: img.dataset.preset ?? '',
      width: Number(img.dataset.width),
      height: Number(img.dataset.height),
      naturalWidth: img.naturalWidth,
      naturalHeight: img.naturalHeight,
      complete: img.complete,
    })),
  );
}

async function catalogCounts() {
  const rows: Array<Record<string, { S?: string }>> = [];
  let start: Record<string, never> | undefined;
  do {
    const page = await stack.dynamo.send(new ScanCommand({ TableName: LOCAL_NAMES.catalogTable, ExclusiveStartKey: start }));
    rows.push(...((page.Items ?? []) as typeof rows));
    start = page.LastEvaluatedKey as typeof start;
  } while (start);
  const photoRows = rows.filter((row) => !row.sourceKey!.S!.startsWith('#'));
  return {
    rows: photoRows.filter((row) => row.preset!.S !== FAILURE).length,
    photos: new Set(photoRows.filter((row) => row.preset!.S === ORIGINAL).map((row) => row.sourceKey!.S)).size,
    crops: photoRows.filter((row) => row.preset!.S !== FAILURE && row.preset!.S !== ORIGINAL).length,
    failures: photoRows.filter((row) => row.preset!.S === FAILURE).length,
  };
}

const pageCount = async (page: Page, id: string) => Number((await page.locator(`[data-count="${id}"]`).textContent())!.replace(/,/g, ''));

describe('the report in Chromium', () => {
  it('served at /_report by the CDN view: every gallery image loads at its logical URL with 200, no redirect, at its preset size; counts are the catalog\'s', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const statuses = new Map<string, number>();
    const redirected: string[] = [];
    page.on('response', (response) => {
      statuses.set(response.url(), response.status());
      if (response.status() >= 300 && response.status() < 400) redirected.push(response.url());
      if (response.request().redirectedFrom()) redirected.push(response.request().redirectedFrom()!.url());
    });
    const response = await page.goto(`${server.cdn.url}${REPORT_PATH}`);
    expect(response!.status()).toBe(200);

    const catalog = await catalogCounts();
    expect(catalog.photos).toBeGreaterThan(0);
    expect(await pageCount(page, 'catalog-rows')).toBe(catalog.rows);
    expect(await pageCount(page, 'catalog-photos')).toBe(catalog.photos);
    expect(await pageCount(page, 'catalog-crops')).toBe(catalog.crops);
    expect(await pageCount(page, 'catalog-failures')).toBe(catalog.failures);
    expect(await page.locator('[data-section="gallery"] [data-photo]').count()).toBe(catalog.photos);
    expect(await page.locator('[data-failure]').count()).toBe(catalog.failures);
    expect(await page.locator('[data-failure="broken/truncated.jpg"]').textContent()).toMatch(/cannot decode/);
    expect(await page.locator('[data-duplicate-group]').count()).toBeGreaterThan(0);
    expect(Number(await page.locator('[data-chart="durations"]').getAttribute('data-photos'))).toBe(await pageCount(page, 'items'));

    const images = await loadAllImages(page);
    expect(images.length).toBe(catalog.rows);
    for (const image of images) {
      expect(image.naturalWidth, image.src).toBeGreaterThan(0);
      if (image.preset !== ORIGINAL) expect([image.naturalWidth, image.naturalHeight], `${image.preset} ${image.src}`).toEqual([image.width, image.height]);
    }
    // Each image was asked for at its logical URL on the CDN view and answered 200 there: no redirect anywhere.
    for (const image of images) {
      expect(image.src.startsWith(`${server.cdn.url}/`), image.src).toBe(true);
      expect(image.src, image.src).not.toMatch(/\/assets\//);
      expect(statuses.get(image.src), image.src).toBe(200);
    }
    expect(redirected).toEqual([]);

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
    expect(existsSync(join(ARTIFACTS, 'report.png'))).toBe(true);
    await page.close();
  }, 60_000);

  it('written by `report`: the static file loads its images from the CDN view', async () => {
    const file = await writeReportFile(stack, join(dir, 'out'), server.cdn.url);
    expect(file).toBe(join(dir, 'out', 'index.html'));
    const page = await browser.newPage();
    await page.goto(`file://${file}`);
    const images = await loadAllImages(page);
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) expect(image.naturalWidth, image.src).toBeGreaterThan(0);
    expect(await pageCount(page, 'catalog-rows')).toBe((await catalogCounts()).rows);
    await page.close();
  }, 60_000);
});
