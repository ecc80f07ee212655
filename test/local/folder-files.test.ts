/**
 * Every file under the photos folder is migrated or listed as skipped with its reason (issue 16,
 * case 6): content, not the name, decides what is a photo; symbolic links are followed inside the
 * folder only; hidden files, names that are not UTF-8, FIFOs and unreadable files are skipped with a
 * reason, and none of them stops the run. Checked on the bytes in the emulated source bucket, in
 * `run --json` and in the report.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonOf } from '../../src/cli/run';
import { type LocalRunResult, runLocalMigration } from '../../src/local/migrate';
import { printable, scanFolder } from '../../src/local/photos';
import { buildReport } from '../../src/local/report';
import { renderReportHtml } from '../../src/local/report-html';
import { LOCAL_NAMES, type LocalStack, openLocalStack } from '../../src/local/stack';
import { listKeys } from '../helpers/library';

/** chmod 000 keeps nothing from root: as root, "unreadable" files are read (and migrated). */
const ROOT = process.getuid?.() === 0;

let dir: string;
let photos: string;
let stack: LocalStack;
let run: LocalRunResult;
const bytes = new Map<string, Buffer>();

async function jpeg(seed: number): Promise<Buffer> {
  const raw = Buffer.alloc(20 * 14 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 37 + seed * 101) & 0xff;
  return sharp(raw, { raw: { width: 20, height: 14, channels: 3 } }).jpeg().toBuffer();
}

async function file(path: string, body: Buffer | string): Promise<void> {
  await mkdir(join(photos, path, '..'), { recursive: true });
  await writeFile(join(photos, path), body);
  if (typeof body !== 'string') bytes.set(path, body);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-folder-'));
  photos = join(dir, 'photos');
  await file('a.jpg', await jpeg(1));
  await file('IMG_0002', await jpeg(2)); // no extension
  await file('scans/old.jfif', await jpeg(3));
  await file('scans/older.jpe', await jpeg(4));
  await file('trailing.jpg ', await jpeg(5)); // a trailing space
  await file('graphics/logo.PNG', await sharp({ create: { width: 8, height: 8, channels: 4, background: '#f00a' } }).png().toBuffer());
  await file('broken.jpg', 'not a jpeg at all'); // named as a photo: migrated, recorded FAILED
  await file('notes.txt', 'holiday notes');
  await file('Thumbs.db', Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]));
  await file('.DS_Store', Buffer.from('Bud1'));
  await file('.git/HEAD', 'ref: refs/heads/main');
  await file('sub/._b.jpg', await jpeg(6)); // an AppleDouble sidecar
  await file('sub/b.jpg', await jpeg(7));
  // A Latin-1 name from an old archive: "café.jpg" with é as the single byte 0xE9.
  await writeFile(Buffer.concat([Buffer.from(`${photos}/caf`), Buffer.from([0xe9]), Buffer.from('.jpg')]), await jpeg(12));
  // Links: to a photo inside (followed), outside (refused), to nothing, to a folder inside.
  await writeFile(join(dir, 'secret.jpg'), await jpeg(8));
  await symlink('sub/b.jpg', join(photos, 'link-to-b.jpg'));
  await symlink(join(dir, 'secret.jpg'), join(photos, 'link-outside.jpg'));
  await symlink('../../secret.jpg', join(photos, 'sub/sneaky.jpg'));
  await symlink('nowhere.jpg', join(photos, 'broken-link.jpg'));
  await symlink('sub', join(photos, 'folder-link'));
  execFileSync('mkfifo', [join(photos, 'pipe.jpg')]);
  await file('locked.jpg', await jpeg(9));
  await chmod(join(photos, 'locked.jpg'), 0o000);

  stack = await openLocalStack(join(dir, 'data'));
  run = await runLocalMigration({ photosDir: photos, dataDir: stack.dataDir, stack, timeScale: 0.01 });
}, 180_000);

afterAll(async () => {
  await stack?.close();
  await chmod(join(photos, 'locked.jpg'), 0o600).catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

const migrated = [
  'IMG_0002', 'a.jpg', 'broken.jpg', 'graphics/logo.PNG', 'link-to-b.jpg', ...(ROOT ? ['locked.jpg'] : []), 'scans/old.jfif', 'scans/older.jpe', 'sub/b.jpg', 'trailing.jpg ',
];
const skipped = [
  { path: '.DS_Store', reason: 'hidden' },
  { path: '.git/', reason: 'hidden' },
  { path: 'Thumbs.db', reason: 'not-an-image' },
  { path: 'broken-link.jpg', reason: 'symlink-broken' },
  { path: 'caf\\xE9.jpg', reason: 'name-not-utf8' },
  { path: 'folder-link/', reason: 'symlink-to-folder' },
  { path: 'link-outside.jpg', reason: 'symlink-outside' },
  ...(ROOT ? [] : [{ path: 'locked.jpg', reason: 'unreadable' }]),
  { path: 'notes.txt', reason: 'not-an-image' },
  { path: 'pipe.jpg', reason: 'not-a-file' },
  { path: 'sub/._b.jpg', reason: 'hidden' },
  { path: 'sub/sneaky.jpg', reason: 'symlink-outside' },
];

describe('every file of the folder is migrated or skipped with its reason', () => {
  it('uploads every photo by its content (no extension, .jfif, .jpe, a trailing space, a link inside), the bytes intact', async () => {
    expect(run.status).toBe('SUCCEEDED');
    expect(await listKeys(stack.s3, LOCAL_NAMES.sourceBucket)).toEqual(migrated);
    for (const key of migrated.filter((k) => bytes.has(k))) {
      const stored = await stack.store.get({ bucket: LOCAL_NAMES.sourceBucket, key });
      expect(Buffer.from(stored.body).equals(bytes.get(key)!), key).toBe(true);
    }
    // The link is migrated at its own path with the bytes of the photo it points to.
    const linked = await stack.store.get({ bucket: LOCAL_NAMES.sourceBucket, key: 'link-to-b.jpg' });
    expect(Buffer.from(linked.body).equals(bytes.get('sub/b.jpg')!)).toBe(true);
    expect((await stack.store.head({ bucket: LOCAL_NAMES.sourceBucket, key: 'IMG_0002' }))?.contentType).toBe('image/jpeg');
    expect(run.summary).toMatchObject({ items: migrated.length, succeeded: migrated.length - 1, failed: 1 });
    // Same bytes, one set of assets (a duplicate, or rendered twice when its twin's claim outlasted its patience).
    const originalAsset = async (key: string) => (await stack.context.catalog.rowsForKey(key)).find((row) => row.preset === 'original')?.assetKey;
    expect(await originalAsset('link-to-b.jpg')).toBe(await originalAsset('sub/b.jpg'));
    expect(await originalAsset('sub/b.jpg')).toMatch(/^assets\//);
    expect(run.summary.failures).toEqual([{ key: 'broken.jpg', error: 'not an image: unrecognised file format', reason: 'not-an-image' }]);
  });

  it('lists everything else with its reason; nothing outside the folder is read through a link', async () => {
    expect(run.skipped).toEqual(skipped);
    const everything = await listKeys(stack.s3, LOCAL_NAMES.sourceBucket);
    expect(everything.some((key) => key.includes('secret') || key.includes('outside') || key.includes('sneaky'))).toBe(false);
    // Only logical keys carry a photo's name: asset keys are hashes and run outputs are UUIDs, either of which may
    // spell "caf" in hex (CI once failed on runs/5781664a-9f2e-4caf-…).
    const logical = (await listKeys(stack.s3, LOCAL_NAMES.libraryBucket)).filter((key) => !/^(assets|runs)\//.test(key));
    expect(logical.length).toBeGreaterThan(0);
    for (const key of logical) expect(key).not.toMatch(/outside|sneaky|caf/);
  });

  it('run --json: `skipped` comes last, the contract fields first and in their order', () => {
    const json = jsonOf(run);
    const keys = Object.keys(json);
    expect(keys.slice(0, 10)).toEqual(['items', 'succeeded', 'failed', 'duplicates', 'assets', 'pointers', 'catalogRows', 'failures', 'unchanged', 'resized']);
    expect(keys.at(-1)).toBe('skipped');
    // Each failure: key and error, then its machine-readable reason.
    expect(json.failures.map((failure) => Object.keys(failure))).toEqual([['key', 'error', 'reason']]);
    expect(JSON.parse(JSON.stringify(json)).skipped).toEqual(skipped);
  });

  it('the report lists the skipped files with their reasons', async () => {
    const data = await buildReport(stack);
    expect(data.skipped).toEqual(skipped);
    const html = renderReportHtml(data);
    expect(html).toContain('<h2>Skipped files (');
    for (const entry of skipped) expect(html).toContain(`data-skipped="${entry.path.replace(/&/g, '&amp;')}"`);
    expect(html).toContain('data-reason="name-not-utf8"');
  });

  it('the report groups the failures by reason, with an example, and gives each failure row its reason', async () => {
    const data = await buildReport(stack);
    expect(data.failureGroups).toEqual([{ reason: 'not-an-image', count: 1, keys: ['broken.jpg'], example: 'not an image: unrecognised file format' }]);
    expect(data.failures).toEqual([{ key: 'broken.jpg', errorType: 'PhotoError', error: 'not an image: unrecognised file format', reason: 'not-an-image' }]);
    const html = renderReportHtml(data);
    expect(html).toContain('<tr data-failure-reason="not-an-image"><td><code>not-an-image</code></td><td>1</td><td>broken.jpg: not an image: unrecognised file format</td></tr>');
    expect(html).toMatch(/<tr data-failure="broken.jpg"><td>broken.jpg<\/td><td><code>not-an-image<\/code><\/td>/);
  });
});

describe('the folder scan', () => {
  it('names a non-UTF-8 path safely, valid characters kept', () => {
    expect(printable(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2f, 0xc3, 0xa9, 0x80]))).toBe('caf\\xE9/é\\x80');
  });

  it('a folder that cannot be read is skipped, the rest goes on (as root every folder is readable: then it is entered)', async () => {
    const folder = join(dir, 'scan');
    await mkdir(join(folder, 'closed'), { recursive: true });
    await writeFile(join(folder, 'closed/x.jpg'), await jpeg(10));
    await writeFile(join(folder, 'open.jpg'), await jpeg(11));
    await chmod(join(folder, 'closed'), 0o000);
    try {
      const scan = await scanFolder(folder);
      if (ROOT) {
        expect(scan.photos.map((p) => p.key)).toEqual(['closed/x.jpg', 'open.jpg']);
        expect(scan.skipped).toEqual([]);
      } else {
        expect(scan.photos.map((p) => p.key)).toEqual(['open.jpg']);
        expect(scan.skipped).toEqual([{ path: 'closed/', reason: 'unreadable' }]);
      }
    } finally {
      await chmod(join(folder, 'closed'), 0o700);
    }
  });
});
