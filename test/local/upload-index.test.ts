/**
 * The upload index (src/local/upload-index.ts): a rerun does not read a file whose size and
 * modification time are those of its last upload (aws s3 sync's rule, blind spot included), and reads
 * again a file whose time or size changed, or whose object in the bucket changed.
 */
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLocalMigration } from '../../src/local/migrate';
import { UPLOAD_INDEX_FILE } from '../../src/local/upload-index';
import { noiseJpeg } from '../helpers/images';

let dir: string;
const photos = () => join(dir, 'photos');
const data = () => join(dir, 'data');
const run = () => runLocalMigration({ photosDir: photos(), dataDir: data(), timeScale: 0.001 });
const THEN = 1_700_000_000; // whole seconds: a modification time that can be put back exactly

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-upload-index-'));
  await mkdir(photos(), { recursive: true });
  for (const [name, seed] of [['a.jpg', 1], ['b.jpg', 2], ['c.jpg', 3]] as const) {
    await writeFile(join(photos(), name), await noiseJpeg(64, 48 + seed));
    await utimes(join(photos(), name), THEN, THEN);
  }
}, 60_000);
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('a rerun and the upload index', () => {
  it('records each uploaded file; a rerun of the same files changes nothing', async () => {
    expect((await run()).summary).toMatchObject({ items: 3, resized: 3 });
    const index = JSON.parse(await readFile(join(data(), UPLOAD_INDEX_FILE), 'utf8'));
    expect(Object.keys(index.uploads).sort()).toEqual(['a.jpg', 'b.jpg', 'c.jpg']);
    expect(index.uploads['a.jpg']).toMatchObject({ size: expect.any(Number), mtimeNs: `${THEN}000000000`, etag: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect((await run()).summary).toMatchObject({ items: 3, unchanged: 3, assets: 0 });
  }, 120_000);

  it('does not read a file whose size and time are unchanged (rewritten, old time put back: not seen, as with aws s3 sync), and reads one whose time changed', async () => {
    const before = await readFile(join(photos(), 'a.jpg'));
    const same = await noiseJpeg(64, 49, 77); // other pixels
    const rewritten = Buffer.alloc(before.byteLength);
    same.copy(rewritten, 0, 0, Math.min(same.byteLength, before.byteLength));
    await writeFile(join(photos(), 'a.jpg'), rewritten);
    await utimes(join(photos(), 'a.jpg'), THEN, THEN);
    // Same size, same time: not read, so the old object (and its crops) stay: unchanged.
    expect((await run()).summary).toMatchObject({ items: 3, unchanged: 3, assets: 0 });
    // A newer time: read, uploaded, and found to be other bytes (here not even a whole JPEG).
    await utimes(join(photos(), 'a.jpg'), THEN + 60, THEN + 60);
    const after = await run();
    expect(after.summary.unchanged).toBe(2);
    expect(after.summary.items).toBe(3);
  }, 120_000);
});
