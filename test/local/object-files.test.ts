/**
 * The local S3's object files (src/local/object-files.ts): a PUT is atomic even when the process is
 * killed mid-write, an object whose file cannot be read counts as absent (never an error), any key S3
 * takes is stored (1,024 bytes, segments over the file system's 255), a longer one is refused as S3
 * refuses it, and data dirs of s3rver's own layout are converted.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulators, type Emulators } from '../../src/local/emulators';
import { OBJECTS_DIR, ObjectFileStore } from '../../src/local/object-files';
import { listKeys } from '../helpers/library';

const ROOT = join(import.meta.dirname, '../..');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-object-files-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every file under a bucket's object directory. */
async function objectFiles(s3Dir: string, bucket: string): Promise<string[]> {
  const base = join(s3Dir, bucket, OBJECTS_DIR);
  const files: string[] = [];
  for (const shard of await readdir(base).catch(() => [])) for (const name of await readdir(join(base, shard))) files.push(join(base, shard, name));
  return files;
}

async function withEmulators<T>(dataDir: string, work: (emulators: Emulators) => Promise<T>, onDiskFull?: (path: string) => void): Promise<T> {
  const emulators = await startEmulators({ dataDir, buckets: ['b'], tableName: 'catalog', onDiskFull });
  try {
    return await work(emulators);
  } finally {
    await emulators.close();
  }
}

describe('the local S3 keeps objects whole', () => {
  it('a process killed (-9) in the middle of writing an object leaves no object: absent, unlisted, and a conditional PUT then succeeds', async () => {
    const dataDir = join(dir, 'killed');
    // A child process writes a 64 MB object through the store, slowly; it is killed once half is on disk.
    const script = `
      import { ObjectFileStore } from ${JSON.stringify(join(ROOT, 'src/local/object-files.ts'))};
      import { Readable } from 'node:stream';
      import { mkdir } from 'node:fs/promises';
      const root = ${JSON.stringify(join(dataDir, 's3'))};
      await mkdir(root + '/b', { recursive: true });
      const store = new ObjectFileStore(root);
      const chunk = Buffer.alloc(1024 * 1024, 7);
      async function* slowly() { for (let i = 0; i < 64; i++) { yield chunk; await new Promise((r) => setTimeout(r, 20)); } }
      process.stdout.write('writing\\n');
      await store.putObject({ bucket: 'b', key: 'big/photo.jpg', content: Readable.from(slowly()), metadata: { 'content-type': 'image/jpeg' } });
      process.stdout.write('done\\n');`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout!.on('data', (data: Buffer) => data.toString().includes('writing') && resolve()));
    const s3Dir = join(dataDir, 's3');
    for (;;) {
      const files = await objectFiles(s3Dir, 'b');
      const sizes = await Promise.all(files.map(async (file) => (await stat(file)).size));
      if (sizes.some((size) => size > 20 * 1024 * 1024)) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const left = await objectFiles(s3Dir, 'b');
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/\.tmp-/);

    await withEmulators(dataDir, async ({ s3 }) => {
      await expect(s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'big/photo.jpg' }))).rejects.toMatchObject({ name: 'NotFound' });
      expect(await listKeys(s3, 'b')).toEqual([]);
      await s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'big/photo.jpg', Body: Buffer.from('whole'), IfNoneMatch: '*' }));
      const got = await s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'big/photo.jpg' }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).toString()).toBe('whole');
    });
  }, 60_000);

  it('a write the file system takes only in part (a file-size limit met mid-write) fails, leaving no object and no temporary file', async () => {
    // `ulimit -f 4`: files of at most 4 KiB. A 4,500-byte body goes out in one write, of which the
    // kernel writes 4,096 bytes and says so without an error; the write of the rest then fails (EFBIG).
    const root = join(dir, 'size-limit', 's3');
    await mkdir(join(root, 'b'), { recursive: true });
    const script = `
      import { ObjectFileStore } from ${JSON.stringify(join(ROOT, 'src/local/object-files.ts'))};
      const store = new ObjectFileStore(${JSON.stringify(root)});
      const outcome = await store.putObject({ bucket: 'b', key: 'k.jpg', content: Buffer.alloc(4500, 1), metadata: {} }).then(() => 'stored', (error) => error.code);
      process.stdout.write(JSON.stringify({ outcome, found: (await store.readObject('b', 'k.jpg', false)) !== undefined }));`;
    const child = spawn('bash', ['-c', `ulimit -f 4 && exec "${process.execPath}" --import tsx --input-type=module -e "$0"`, script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (data: Buffer) => (out += data.toString()));
    await new Promise((resolve) => child.once('exit', resolve));
    expect(JSON.parse(out)).toEqual({ outcome: 'EFBIG', found: false });
    expect(await objectFiles(root, 'b')).toEqual([]);
  }, 60_000);

  it('an object whose file cannot be read (cut short, emptied) counts as absent: HEAD 404, not listed, the others untouched, and it can be written again', async () => {
    const dataDir = join(dir, 'damaged');
    await withEmulators(dataDir, async ({ s3 }) => {
      for (const key of ['a.jpg', 'b.jpg', 'c.jpg']) await s3.send(new PutObjectCommand({ Bucket: 'b', Key: key, Body: Buffer.alloc(5000, key.charCodeAt(0)) }));
      const file = (key: string) => join(dataDir, 's3', 'b', OBJECTS_DIR, createHash('sha256').update(key).digest('hex').slice(0, 2), createHash('sha256').update(key).digest('hex'));
      await truncate(file('a.jpg'), 1000);
      await writeFile(file('b.jpg'), '');
      await expect(s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'a.jpg' }))).rejects.toMatchObject({ name: 'NotFound' });
      await expect(s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'b.jpg' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
      expect(await listKeys(s3, 'b')).toEqual(['c.jpg']);
      await s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'a.jpg', Body: Buffer.from('again'), IfNoneMatch: '*' }));
      expect(await listKeys(s3, 'b')).toEqual(['a.jpg', 'c.jpg']);
    });
  });

  it('a write that fails still reads the body to its end (a client waiting on 100-continue is answered at once) and leaves no file behind', async () => {
    const root = join(dir, 'failing', 's3');
    await mkdir(join(root, 'b', OBJECTS_DIR), { recursive: true });
    const hash = createHash('sha256').update('x.jpg').digest('hex');
    // The shard directory's name taken by a file: the write cannot start.
    await writeFile(join(root, 'b', OBJECTS_DIR, hash.slice(0, 2)), 'in the way');
    let sent = 0;
    const body = Readable.from((async function* () {
      for (let i = 0; i < 8; i++) yield (sent++, Buffer.alloc(256 * 1024, i));
    })());
    await expect(new ObjectFileStore(root).putObject({ bucket: 'b', key: 'x.jpg', content: body, metadata: {} })).rejects.toMatchObject({ code: expect.stringMatching(/^(EEXIST|ENOTDIR)$/) });
    expect(sent).toBe(8);
    expect(body.readableEnded).toBe(true);
    expect(await readdir(join(root, 'b', OBJECTS_DIR))).toEqual([hash.slice(0, 2)]);
  });

  it('stores any key S3 takes: a 255-byte file name, a 300-byte segment, 1,024 bytes; refuses 1,025 bytes with KeyTooLongError as S3 does', async () => {
    await withEmulators(join(dir, 'long'), async ({ s3 }) => {
      const keys = [`photos/${'n'.repeat(251)}.jpg`, `${'d'.repeat(300)}/x.jpg`, `k/${'é'.repeat(300)}/${'z'.repeat(1024 - 2 - 600 - 1)}`];
      expect(Buffer.byteLength(keys[2]!)).toBe(1024);
      for (const key of keys) {
        await s3.send(new PutObjectCommand({ Bucket: 'b', Key: key, Body: Buffer.from(key), ContentType: 'image/jpeg', WebsiteRedirectLocation: '/assets/x' }));
        const head = await s3.send(new HeadObjectCommand({ Bucket: 'b', Key: key }));
        expect([head.ContentLength, head.ContentType, head.WebsiteRedirectLocation]).toEqual([Buffer.byteLength(key), 'image/jpeg', '/assets/x']);
      }
      expect(await listKeys(s3, 'b')).toEqual([...keys].sort());
      await expect(s3.send(new PutObjectCommand({ Bucket: 'b', Key: `${'x'.repeat(1025)}`, Body: Buffer.from('x') }))).rejects.toMatchObject({ name: 'KeyTooLongError', $metadata: { httpStatusCode: 400 } });
    });
  });

  it('converts a data dir of s3rver\'s own layout, metadata kept', async () => {
    const dataDir = join(dir, 'legacy');
    const legacy = join(dataDir, 's3', 'b', 'trips');
    await mkdir(legacy, { recursive: true });
    await writeFile(join(legacy, 'a b.jpg._S3rver_object'), 'old bytes');
    await writeFile(join(legacy, 'a b.jpg._S3rver_object.md5'), 'x');
    await writeFile(join(legacy, 'a b.jpg._S3rver_metadata.json'), JSON.stringify({ 'content-type': 'image/jpeg', 'x-amz-meta-sha256': 'abc' }));
    await withEmulators(dataDir, async ({ s3 }) => {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'trips/a b.jpg' }));
      expect([Buffer.from(await got.Body!.transformToByteArray()).toString(), got.ContentType, got.Metadata]).toEqual(['old bytes', 'image/jpeg', { sha256: 'abc' }]);
      expect(await readdir(legacy)).toEqual([]);
    });
  });
});

describe('bucket configurations (s3rver reads them on every request: kept in memory, never stale)', () => {
  it('sees a website configuration put or deleted after a request read it absent, and reads the disk once per bucket', async () => {
    const { PutBucketWebsiteCommand, GetBucketWebsiteCommand, DeleteBucketWebsiteCommand } = await import('@aws-sdk/client-s3');
    const dataDir = join(dir, 'configs');
    await withEmulators(dataDir, async ({ s3 }) => {
      const website = () => s3.send(new GetBucketWebsiteCommand({ Bucket: 'b' })).then((answer) => answer.IndexDocument?.Suffix, (error: Error) => error.name);
      // Every request (this GET too) made the middlewares read the website configuration: absent.
      expect(await website()).toBe('NoSuchWebsiteConfiguration');
      await s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'k.txt', Body: 'x' }));
      // A file put behind the store's back is not seen: the configuration was read once and kept.
      const store = new ObjectFileStore(join(dataDir, 's3'));
      const path = (store as unknown as { getResourcePath(b: string, k: string | undefined, r: string): string }).getResourcePath('b', undefined, 'website.xml');
      await writeFile(path, '<WebsiteConfiguration><IndexDocument><Suffix>behind.html</Suffix></IndexDocument></WebsiteConfiguration>');
      expect(await website()).toBe('NoSuchWebsiteConfiguration');
      await rm(path);
      // Through S3 it is seen at once, and so is its deletion.
      await s3.send(new PutBucketWebsiteCommand({ Bucket: 'b', WebsiteConfiguration: { IndexDocument: { Suffix: 'index.html' } } }));
      expect(await website()).toBe('index.html');
      await s3.send(new DeleteBucketWebsiteCommand({ Bucket: 'b' }));
      expect(await website()).toBe('NoSuchWebsiteConfiguration');
    });
  });
});

describe('a trailer longer than one read of the file\'s tail', () => {
  it('is read whole by a GET, a HEAD and a listing (metadata of 6 KB)', async () => {
    const root = join(dir, 'long-trailer');
    await mkdir(join(root, 'b'), { recursive: true });
    const store = new ObjectFileStore(root);
    const metadata = { 'content-type': 'image/jpeg', 'x-amz-meta-note': 'n'.repeat(6 * 1024) };
    await store.putObject({ bucket: 'b', key: 'long.jpg', content: Buffer.from('bytes'), metadata });
    expect(await store.existsObject('b', 'long.jpg')).toBe(true);
    expect((await store.describeObject('b', 'long.jpg'))?.metadata['x-amz-meta-note']).toHaveLength(6 * 1024);
    expect((await store.objectsOf('b')).map((trailer) => [trailer.key, trailer.metadata['x-amz-meta-note']?.length])).toEqual([['long.jpg', 6 * 1024]]);
    // The plain GET and HEAD of the in-process clients (object-answer.ts): one read of the whole file, or of its tail twice.
    const got = await store.readObject('b', 'long.jpg', true);
    expect([got?.trailer.metadata['x-amz-meta-note']?.length, String(got?.body)]).toEqual([6 * 1024, 'bytes']);
    const head = await store.readObject('b', 'long.jpg', false);
    expect([head?.trailer.metadata['x-amz-meta-note']?.length, head?.body]).toEqual([6 * 1024, undefined]);
  });
});

describe('the shard directories a write needs', () => {
  it('are made once; one removed since (a bucket emptied by hand) is made again by the next write', async () => {
    const root = join(dir, 'shards');
    await mkdir(join(root, 'b'), { recursive: true });
    const store = new ObjectFileStore(root);
    await store.putObject({ bucket: 'b', key: 'one.jpg', content: Buffer.from('1'), metadata: {} });
    await rm(join(root, 'b', OBJECTS_DIR), { recursive: true });
    await store.putObject({ bucket: 'b', key: 'one.jpg', content: Buffer.from('2'), metadata: {} });
    expect(String((await store.readObject('b', 'one.jpg', true))?.body)).toBe('2');
  });
});
