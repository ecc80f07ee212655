import { describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import { estimate, type EstimateInput, formatsToPrice } from '../../src/core/estimate';
import { validateConfig } from '../../src/core/presets';
import { PRICES } from '../../src/core/prices';

const timings = { source: 'test', renderMsPerMegapixel: 10, sha256MBps: 1000, cropBytesPerMegapixel: 20_000 };
const input: EstimateInput = { photos: 1000, avgMegapixels: 10, avgMB: 2, memoryMB: 1769, concurrency: 10, batchSize: 10, duplicateShare: 0, presets: 4, dedupeMemoryMB: 512 };
const line = (result: ReturnType<typeof estimate>, item: string) => result.lines.find((l) => l.item.startsWith(item))!;

describe('estimate', () => {
  it('times one photo from the measured timings and the network assumptions', () => {
    // Dedupe: 40 ms fixed + 2 MB at 90 MB/s (22.2 ms) + 2 MB of sha-256 at 1000 MB/s (2 ms)
    // Resize: 120 ms fixed + 22.2 + 2 + 10 MP x 10 ms/MP
    expect(estimate(input, timings).perPhoto).toEqual({ dedupeMs: 64, resizeMs: 244 });
  });

  it('prices each line from its counts', () => {
    const result = estimate(input, timings);
    expect(line(result, 'Lambda compute').usd).toBeCloseTo((32.111 + 421.92) * PRICES.lambdaArmGbSecond, 2);
    expect(line(result, 'Lambda requests').usd).toBe(0); // 2,000 x $0.20/M rounds to $0.00
    expect(line(result, 'S3 PUT').usd).toBe(0.05); // 10,000 PUTs (5 assets + 5 pointers per photo)
    expect(line(result, 'S3 PUT').how).toMatch(/^10,000 PUTs/);
    // 1,000 Dedupe GETs + 1,000 Resize GETs: no pointer HEADs (Resize reads the key's rows instead).
    expect(line(result, 'S3 GET').how).toMatch(/^2,000 requests/);
    expect(line(result, 'DynamoDB reads').how).toMatch(/^9,000 RRU/); // (3 + 5) a photo + 1 a Resize (after its write)
    expect(line(result, 'DynamoDB writes').how).toMatch(/^8,000 WRU/);
    expect(result.totalUsd).toBeCloseTo(result.lines.reduce((sum, l) => sum + l.usd, 0), 2);
    expect(result.storagePerMonthUsd).toBe(0.05); // 2.2 GB x $0.023
    expect(result.wallClockHours).toBe(0.01); // (1000 x 64.2 + 1000 x 244.2) ms / 10 = 8.6 min
  });

  it('scales: a million photos costs a thousand times more, duplicates skip Resize, half a vCPU doubles render time', () => {
    const small = estimate(input, timings);
    const large = estimate({ ...input, photos: 1_000_000 }, timings);
    expect(line(large, 'S3 PUT').usd).toBeCloseTo(line(small, 'S3 PUT').usd * 1000, 1);
    const dup = estimate({ ...input, photos: 1_000_000, duplicateShare: 0.5 }, timings);
    expect(line(dup, 'S3 PUT').how).toMatch(/^7,500,000 PUTs/);
    // 1M Dedupe + 500,000 Resize + 100,000 FindUnchanged (one a batch of 10).
    expect(line(dup, 'Lambda requests').how).toMatch(/^1,600,000 invocations/);
    const half = estimate({ ...input, memoryMB: 884.5 }, timings);
    expect(half.perPhoto.resizeMs - small.perPhoto.resizeMs).toBe(100);
    expect(() => estimate({ ...input, photos: 0 }, timings)).toThrow(/photos/);
  });
});

describe('servingCost: a million CDN cache misses, at the resolver deployed and at Lambda@Edge', () => {
  it('prices each mechanism from its requests, compute and S3 reads', async () => {
    const { servingCost } = await import('../../src/core/estimate');
    const serving = servingCost({ avgKB: 60, resolveMemoryMB: 1769 });
    // 40 ms + 60 KB at 90 MB/s = 40.67 ms x 1769 MB.
    expect(serving.resolver.lines.find((l) => l.item === 'Lambda compute (arm64)')!.usd).toBeCloseTo(((1e6 * 40.667 * 1769) / 1024 / 1000) * PRICES.lambdaArmGbSecond, 1);
    expect(serving.resolver.lines.find((l) => l.item === 'S3 HEAD + GET')!.usd).toBe(0.8);
    expect(serving.lambdaAtEdge.lines.find((l) => l.item === 'Lambda@Edge requests')!.usd).toBe(0.6);
    for (const m of [serving.resolver, serving.lambdaAtEdge]) expect(m.usdPerMillionMisses).toBeCloseTo(m.lines.reduce((sum, l) => sum + l.usd, 0), 2);
    // CloudFront: $1/M requests + $0.10/M function invocations + 60 GB x $0.085.
    expect(serving.cdnUsdPerMillionRequests).toBe(6.2);
  });

  it('charges streaming only past the first 6 MB of a response (an original of 20 MB streams 14 MB more)', async () => {
    const { servingCost } = await import('../../src/core/estimate');
    expect(servingCost({ avgKB: 60, resolveMemoryMB: 1769 }).resolver.lines.find((l) => l.item.startsWith('Lambda streaming'))!.usd).toBe(0);
    expect(servingCost({ avgKB: 20_000, resolveMemoryMB: 1769 }).resolver.lines.find((l) => l.item.startsWith('Lambda streaming'))!.usd).toBe(112); // 14,000 GB x $0.008
  });
});

describe('estimate with extra formats (variants)', () => {
  const webp = { format: 'webp' as const, presets: 4, pixelShare: 1 };
  const avif = { format: 'avif' as const, presets: 4, pixelShare: 1 };

  it('each format on every preset adds an asset + a pointer and a row per preset, the bench ratios of bytes and render time', () => {
    const plain = estimate(input, timings);
    const withWebp = estimate({ ...input, formats: [webp] }, timings);
    // 5 + 4 assets and pointers per photo: 18,000 PUTs; 9 rows + 3 = 12,000 WRU.
    expect(line(withWebp, 'S3 PUT').how).toMatch(/^18,000 PUTs/);
    expect(line(withWebp, 'DynamoDB writes').how).toMatch(/^12,000 WRU/);
    // Render 10 MP x 10 ms/MP = 100 ms; WebP adds 1.15x of it.
    expect(withWebp.perPhoto.resizeMs - plain.perPhoto.resizeMs).toBe(115);
    // Crops: 10 MP x 20 kB = 200 kB a photo, WebP 0.68x of that more: 1000 x 136 kB = 0.136 GB.
    expect(withWebp.formats).toMatchObject({ perFormat: [{ format: 'webp', presets: 4, putsPerPhoto: 8, catalogRowsPerPhoto: 4, addedResizeMs: 115, addedStorageGb: 0.14 }], addedPuts: 8000, addedCatalogRows: 4000 });
    expect(withWebp.formats!.addedUsd).toBeCloseTo(withWebp.totalUsd - plain.totalUsd, 2);
    expect(withWebp.formats!.addedUsd).toBeGreaterThan(0);
    expect(plain.formats).toBeUndefined();
    expect(Object.keys(withWebp).at(-1)).toBe('formats');
  });

  it('grows with each format: AVIF costs more Lambda time than WebP, both cost more than none', () => {
    const many = { ...input, photos: 1_000_000 };
    const plain = estimate(many, timings);
    const w = estimate({ ...many, formats: [webp] }, timings);
    const a = estimate({ ...many, formats: [avif] }, timings);
    const both = estimate({ ...many, formats: [webp, avif] }, timings);
    expect(a.perPhoto.resizeMs - plain.perPhoto.resizeMs).toBe(310);
    expect([plain.totalUsd < w.totalUsd, w.totalUsd < a.totalUsd, a.totalUsd < both.totalUsd]).toEqual([true, true, true]);
    expect([plain.storagePerMonthUsd < w.storagePerMonthUsd, w.storagePerMonthUsd < both.storagePerMonthUsd, plain.wallClockHours < w.wallClockHours, w.wallClockHours < a.wallClockHours]).toEqual([true, true, true, true]);
    expect(line(both, 'S3 PUT').how).toMatch(/^26,000,000 PUTs/);
  });

  it('a format on some presets costs their share of the crop pixels; formatsToPrice reads the config and --formats', () => {
    const presets = validateConfig({ ...config, presets: { ...config.presets, thumb: { ...config.presets.thumb!, formats: ['webp'] }, small: { ...config.presets.small!, formats: ['webp', 'avif'] } } });
    const all = 80 * 80 + 300 * 200 + 600 * 400 + 1024 * 1024;
    expect(formatsToPrice(presets)).toEqual([
      { format: 'webp', presets: 2, pixelShare: Math.round(((80 * 80 + 300 * 200) / all) * 1000) / 1000 },
      { format: 'avif', presets: 1, pixelShare: Math.round(((300 * 200) / all) * 1000) / 1000 },
    ]);
    expect(formatsToPrice(presets, ['avif'])).toEqual([expect.objectContaining({ format: 'webp', presets: 2 }), { format: 'avif', presets: 4, pixelShare: 1 }]);
    expect(formatsToPrice(validateConfig(config))).toEqual([]);
    const some = estimate({ ...input, formats: formatsToPrice(presets) }, timings);
    const every = estimate({ ...input, formats: formatsToPrice(validateConfig(config), ['webp', 'avif']) }, timings);
    expect(some.perPhoto.resizeMs).toBeLessThan(every.perPhoto.resizeMs);
    expect(line(some, 'S3 PUT').how).toMatch(/^16,000 PUTs/);
  });
});
