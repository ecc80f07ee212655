/** Live sync's CDN refresh on AWS: CloudFront CreateInvalidation of the logical URLs it changed. */
import { CloudFrontClient, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CloudFrontCache, PATHS_PER_INVALIDATION } from '../../src/aws/cloudfront-cache';
import { canonicalUri, encodeKeyPath, invalidationMatches, invalidationPaths } from '../../src/core/cdn';
import { repointed } from '../../src/core/sync';
import type { CatalogRow } from '../../src/core/ports';

const cloudfront = mockClient(CloudFrontClient);
beforeEach(() => cloudfront.reset());

describe('invalidation paths (CloudFront Developer Guide, "What you need to know when invalidating paths")', () => {
  it('name the one canonical spelling: percent-decoded, then escaped but for letters, digits, -._~ and what a path segment holds as is; * escaped', () => {
    expect(invalidationPaths(['trips/beach day+1 100%.jpg', 'small/trips/beach day+1 100%.jpg', 'dynamic/300x200/städte/Zürich ✓.jpg', 'odd/a*b,c;d=e:f@g$h&i!(j)\'.jpg'])).toEqual([
      '/dynamic/300x200/st%C3%A4dte/Z%C3%BCrich%20%E2%9C%93.jpg',
      "/odd/a%2Ab,c;d=e:f@g$h&i!(j)'.jpg",
      '/small/trips/beach%20day+1%20100%25.jpg',
      '/trips/beach%20day+1%20100%25.jpg',
    ]);
    expect(encodeKeyPath('a b/c?d#e[f]{g}|h^i`j"k<l>m\\n~o')).toBe('a%20b/c%3Fd%23e%5Bf%5D%7Bg%7D%7Ch%5Ei%60j%22k%3Cl%3Em%5Cn~o');
    expect(invalidationPaths(['x.jpg', 'x.jpg'])).toEqual(['/x.jpg']);
  });

  it('are what the viewer-request function makes of every spelling of a URL', () => {
    const canonical = '/small/trips/beach%20day+1%20100%25.jpg';
    for (const spelling of [canonical, '/small/trips/beach%20day%2B1%20100%25.jpg', '//small/trips/beach%20day+1%20100%25.jpg', '/%73mall/trips/beach day+1 100%25.jpg', '///small/trips/beach%20day%2b1%20100%25.jpg']) {
      expect(canonicalUri(spelling), spelling).toBe(canonical);
    }
    expect(canonicalUri('/bad%E0%A4%A.jpg')).toBeNull();
    expect(canonicalUri('/small/%2E%2E/x.jpg')).toBe('/small/../x.jpg');
  });

  it('match a cache key exactly, or by prefix when they end with *', () => {
    expect(invalidationMatches('/small/x.jpg', '/small/x.jpg')).toBe(true);
    expect(invalidationMatches('/small/x.jpg', '/small/x.jpg2')).toBe(false);
    expect(invalidationMatches('/small/*', '/small/x.jpg')).toBe(true);
  });

  it('only for logical keys that answered something else before: new keys cost no invalidation', () => {
    const row = (logicalKey: string, assetKey: string) => ({ logicalKey, assetKey }) as CatalogRow;
    const before = [row('k.jpg', 'assets/a'), row('small/k.jpg', 'assets/b'), row('dynamic/300x200/k.jpg', 'assets/c')];
    const after = [row('k.jpg', 'assets/a2'), row('small/k.jpg', 'assets/b'), row('medium/k.jpg', 'assets/d')];
    expect(repointed(before, after)).toEqual(['k.jpg', 'dynamic/300x200/k.jpg']);
  });
});

describe('CloudFrontCache', () => {
  it('sends one CreateInvalidation per 1,000 paths, each with a fresh CallerReference', async () => {
    cloudfront.on(CreateInvalidationCommand).resolves({ Invalidation: { Id: 'I1', Status: 'InProgress', CreateTime: new Date(), InvalidationBatch: undefined } });
    const cache = new CloudFrontCache(new CloudFrontClient({ region: 'eu-west-1' }), 'E123');
    await cache.invalidate(['trips/a b.jpg', 'small/trips/a b.jpg']);
    expect(cloudfront.commandCalls(CreateInvalidationCommand).map((c) => c.args[0].input)).toEqual([
      { DistributionId: 'E123', InvalidationBatch: { CallerReference: expect.stringMatching(/^photo-scaler-[0-9a-f-]{36}$/), Paths: { Quantity: 2, Items: ['/small/trips/a%20b.jpg', '/trips/a%20b.jpg'] } } },
    ]);
    cloudfront.resetHistory();
    await cache.invalidate(Array.from({ length: PATHS_PER_INVALIDATION + 5 }, (_, i) => `k/${i}.jpg`));
    const calls = cloudfront.commandCalls(CreateInvalidationCommand).map((c) => c.args[0].input.InvalidationBatch!);
    expect(calls.map((batch) => batch.Paths!.Quantity)).toEqual([PATHS_PER_INVALIDATION, 5]);
    expect(new Set(calls.map((batch) => batch.CallerReference)).size).toBe(2);
  });

  it('lets CloudFront\'s refusal through to the caller (live sync logs it and goes on)', async () => {
    cloudfront.on(CreateInvalidationCommand).rejects(Object.assign(new Error('Your request contains too many invalidations.'), { name: 'TooManyInvalidationsInProgress', $metadata: { httpStatusCode: 400 } }));
    await expect(new CloudFrontCache(new CloudFrontClient({ region: 'eu-west-1', maxAttempts: 1 }), 'E123').invalidate(['a.jpg'])).rejects.toThrow(/too many invalidations/);
  });
});
