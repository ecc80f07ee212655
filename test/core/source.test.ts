/**
 * Dedupe's view of an original: hashed as a stream, so an original at the 200 MB limit fits the
 * 512 MB Dedupe function. The originals here are made of chunks on the fly, never held whole.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import type { StepContext } from '../../src/core/context';
import { dedupe } from '../../src/core/dedupe';
import { PhotoError } from '../../src/core/errors';
import type { ObjectStore, ObjectStream } from '../../src/core/ports';
import { validateConfig } from '../../src/core/presets';
import { inspectOriginal, readOriginal } from '../../src/core/source';
import { MemoryCatalog } from '../helpers/memory-catalog';
import { MemoryStore } from '../helpers/memory-store';

const presets = validateConfig(config);
const LIMIT = config.limits.maxInputBytes;
const CHUNK = 1024 * 1024;
const JPEG_HEAD = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0]);

/** A store whose one object is `size` bytes made on the fly (a JPEG signature, then a counter pattern); `get` is refused. */
function generatedStore(size: number, head: Uint8Array = JPEG_HEAD) {
  const stats = { chunksRead: 0, chunksTotal: Math.ceil(size / CHUNK), finished: false };
  const chunkAt = (index: number) => {
    const length = Math.min(CHUNK, size - index * CHUNK);
    const chunk = Buffer.alloc(length, index % 251);
    if (index === 0) chunk.set(head.subarray(0, length));
    return chunk;
  };
  const store: ObjectStore = {
    list: () => {
      throw new Error('nothing is listed');
    },
    get: async () => {
      throw new Error('the whole original was asked for');
    },
    openRead: async (): Promise<ObjectStream> => ({
      size: undefined, // as if the store did not say: the limit must hold while reading
      etag: 'etag-1',
      body: (async function* () {
        try {
          for (let index = 0; index * CHUNK < size; index++) {
            stats.chunksRead++;
            yield chunkAt(index);
          }
        } finally {
          stats.finished = true;
        }
      })(),
    }),
    head: async () => ({ size }),
    put: async () => true,
    delete: async () => {},
  };
  const expectedSha = () => {
    const hash = createHash('sha256');
    for (let index = 0; index * CHUNK < size; index++) hash.update(chunkAt(index));
    return hash.digest('hex');
  };
  return { store, stats, expectedSha };
}

const contextWith = (store: ObjectStore): StepContext => ({ store, catalog: new MemoryCatalog(), libraryBucket: 'library', config, presets });

describe('inspectOriginal (Dedupe reads the original as a stream)', () => {
  it('hashes an original just under the 200 MB limit chunk by chunk, never asking for it whole', async () => {
    const size = LIMIT - 1;
    const { store, stats, expectedSha } = generatedStore(size);
    const inspected = await inspectOriginal(contextWith(store), { bucket: 'source', key: 'huge.jpg' });
    expect(inspected).toEqual({ sha256: expectedSha(), bytes: size, etag: 'etag-1', type: expect.objectContaining({ format: 'jpeg' }) });
    expect(stats.chunksRead).toBe(stats.chunksTotal);
  });

  it('Dedupe on it: needs-resize with the right sha-256 and bytes, the store\'s get never called', async () => {
    const size = LIMIT - 7;
    const { store, expectedSha } = generatedStore(size);
    const outcome = await dedupe(contextWith(store), { item: { bucket: 'source', key: 'huge.jpg', size: String(size), etag: 'etag-1' }, runId: 'r' });
    expect(outcome).toMatchObject({ status: 'needs-resize', sha256: expectedSha(), bytesIn: size });
  });

  it('refuses an original over the limit as soon as the limit is passed, leaving the stream (no Size given)', async () => {
    const { store, stats } = generatedStore(LIMIT + 10 * CHUNK);
    await expect(inspectOriginal(contextWith(store), { bucket: 'source', key: 'huger.jpg' })).rejects.toThrow(new PhotoError('too-large', `too large: more than ${LIMIT} bytes, the limit`));
    expect(stats.chunksRead).toBe(LIMIT / CHUNK + 1);
    expect(stats.finished).toBe(true);
  });

  it('refuses a non-image after its first kilobyte, an SVG, an empty or missing original', async () => {
    const text = generatedStore(50 * CHUNK, Buffer.from('hello, this is not a photo'));
    await expect(inspectOriginal(contextWith(text.store), { bucket: 'source', key: 'a.jpg' })).rejects.toThrow(/not an image/);
    expect(text.stats.chunksRead).toBe(1);
    const svg = generatedStore(2048, Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'));
    await expect(inspectOriginal(contextWith(svg.store), { bucket: 'source', key: 'a.svg' })).rejects.toThrow(/refused: SVG/);
    const memory = new MemoryStore();
    await memory.put({ bucket: 'source', key: 'empty.jpg' }, new Uint8Array(0), {});
    await expect(inspectOriginal(contextWith(memory), { bucket: 'source', key: 'empty.jpg' })).rejects.toThrow(/empty file/);
    await expect(inspectOriginal(contextWith(memory), { bucket: 'source', key: 'gone.jpg' })).rejects.toThrow(/source object is gone/);
  });

  it('recognises a tiny image (shorter than the kilobyte kept for sniffing)', async () => {
    const memory = new MemoryStore();
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    await memory.put({ bucket: 'source', key: 'tiny.png' }, png, {});
    expect(await inspectOriginal(contextWith(memory), { bucket: 'source', key: 'tiny.png' })).toMatchObject({ bytes: png.byteLength, type: { format: 'png' } });
  });
});

describe('readOriginal (Resize reads the original whole)', () => {
  it('refuses an original grown past the limit since its inventory row, asking the store to stop at the limit', async () => {
    const store = new MemoryStore();
    const asked: Array<number | undefined> = [];
    const get = store.get.bind(store);
    store.get = (ref, options) => (asked.push(options?.maxBytes), get(ref, options));
    const grown = Buffer.alloc(5_000, 1);
    grown.set(JPEG_HEAD);
    await store.put({ bucket: 'photos', key: 'grown.jpg' }, grown, {});
    const limits = { ...config.limits, maxInputBytes: 4_000 };
    const context = { ...contextWith(store), config: { ...config, limits } };
    // The inventory said 3,000 bytes; the object is 5,000 now.
    await expect(readOriginal(context, { bucket: 'photos', key: 'grown.jpg', size: 3_000 })).rejects.toThrow(new PhotoError('too-large', 'too large: 5000 bytes, limit is 4000'));
    expect(asked).toEqual([4_000]);
  });
});
