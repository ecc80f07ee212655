import { describe, expect, it } from 'vitest';
import { estimate, type EstimateInput } from '../../src/core/estimate';
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
    expect(line(result, 'S3 GET').how).toMatch(/^7,000 requests/);
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
    expect(line(dup, 'Lambda requests').how).toMatch(/^1,500,000 invocations/);
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
