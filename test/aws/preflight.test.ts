/** What a deploy would trip over, judged before CloudFormation is asked (src/aws/preflight.ts). */
import { describe, expect, it } from 'vitest';
import { bucketNameProblems, deployProblems, functionNameProblems, packageProblems, regionOfLocation } from '../../src/aws/preflight';

const facts = {
  stage: 'prod',
  sourceBucket: 'my-photos',
  inventoryBucket: 'my-photos-inventory',
  sourceKmsKeyArn: '',
  signingSecretParameter: '',
  delivery: 'cdn',
  cdnPriceClass: 'PriceClass_100',
  functionNames: ['photo-scaler-prod-dedupe', 'photo-scaler-prod-sourceNotifications'],
  reservedConcurrency: { sync: 20, onDemand: 50 },
};

describe('bucket names (S3 User Guide, "General purpose bucket naming rules")', () => {
  it('takes what S3 takes', () => {
    for (const name of ['abc', 'my-photos', 'photos.2026', 'a'.repeat(63)]) expect(bucketNameProblems(name), name).toEqual([]);
  });

  it('refuses what S3 refuses, each with its rule', () => {
    expect(bucketNameProblems('ab')).toEqual(['is 2 characters; S3 bucket names have 3 to 63']);
    expect(bucketNameProblems('a'.repeat(64))).toEqual(['is 64 characters; S3 bucket names have 3 to 63']);
    expect(bucketNameProblems('My_Photos')).toContain('may hold only lowercase letters, numbers, dots and hyphens');
    expect(bucketNameProblems('-photos')).toEqual(['must begin and end with a letter or number']);
    expect(bucketNameProblems('my..photos')).toEqual(['must not hold two adjacent dots']);
    expect(bucketNameProblems('192.168.5.4')).toEqual(['must not look like an IP address']);
    expect(bucketNameProblems('xn--photos')).toEqual(['must not begin with xn--']);
    expect(bucketNameProblems('photos-s3alias')).toEqual(['must not end with -s3alias']);
  });
});

describe('function names (Lambda API Reference, CreateFunction: FunctionName up to 64 characters)', () => {
  it('refuses a name over 64 characters and says to shorten the stage', () => {
    expect(functionNameProblems('photo-scaler-prod-sourceNotifications')).toEqual([]);
    expect(functionNameProblems(`photo-scaler-${'s'.repeat(32)}-sourceNotifications`)[0]).toMatch(/is 65 characters; Lambda function names have at most 64 \(use a shorter --stage\)/);
  });
});

describe('packageProblems', () => {
  it('passes the defaults', () => {
    expect(packageProblems(facts)).toEqual([]);
  });

  it('checks the fetch allowlist (sources runs) entry by entry', () => {
    expect(packageProblems({ ...facts, fetchAllowHosts: 'acct.blob.core.windows.net, *.example.com,images.example.org:8443' })).toEqual([]);
    expect(packageProblems({ ...facts, fetchAllowHosts: 'ok.example.com,https://bad.example.com/x' })).toEqual([
      'param fetchAllowHosts: not an allowed host: "https://bad.example.com/x" (host, host:port, *.domain, [ipv6]:port or s3://bucket)',
    ]);
  });

  it('names each bad parameter and how to mend it, all at once', () => {
    const problems = packageProblems({
      ...facts,
      inventoryBucket: 'my-photos',
      sourceKmsKeyArn: 'alias/photos',
      signingSecretParameter: 'photo-scaler/secret',
      reservedConcurrency: { sync: 0, onDemand: 'many' },
    });
    expect(problems).toEqual([
      'param inventoryBucket must not be the source bucket: live sync would take the reports for photos',
      'param sourceKmsKeyArn "alias/photos" must be a key ARN (arn:aws:kms:<region>:<account>:key/<key id>); an alias cannot be granted kms:Decrypt',
      'param signingSecretParameter "photo-scaler/secret" must be an SSM parameter path starting with "/" (e.g. /photo-scaler/prod/signing-secret)',
      'reserved concurrency of sync must be a whole number of at least 1 (got 0)',
      'reserved concurrency of onDemand must be a whole number of at least 1 (got "many")',
    ]);
  });

  it('takes the two delivery modes and CloudFront\'s price classes only', () => {
    expect(packageProblems({ ...facts, delivery: 'website', cdnPriceClass: 'PriceClass_All' })).toEqual([]);
    expect(packageProblems({ ...facts, delivery: 'public', cdnPriceClass: 'cheap' })).toEqual([
      'param delivery "public" must be cdn (private bucket behind CloudFront) or website (also the public S3 website)',
      'param cdnPriceClass "cheap" must be PriceClass_100, PriceClass_200 or PriceClass_All',
    ]);
  });

  it('takes a key ARN of any partition and a parameter path', () => {
    expect(
      packageProblems({ ...facts, sourceKmsKeyArn: 'arn:aws-cn:kms:cn-north-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab', signingSecretParameter: '/photo-scaler/prod/signing-secret' }),
    ).toEqual([]);
  });
});

describe('deployProblems', () => {
  const deploy = { region: 'eu-west-1', sourceBucket: 'my-photos', sourceRegion: 'eu-west-1', accountConcurrency: 1000, reserved: { sync: 20, onDemand: 50 }, batchConcurrency: 160 };

  it('passes a source bucket in the deploy region on an account with room', () => {
    expect(deployProblems(deploy)).toEqual({ problems: [], warnings: [] });
  });

  it('refuses a source bucket in another region (S3 events reach only a function in the bucket\'s region)', () => {
    expect(deployProblems({ ...deploy, sourceRegion: regionOfLocation('EU'), region: 'us-east-1' }).problems).toEqual([
      'the source bucket my-photos is in eu-west-1, the deploy goes to us-east-1: S3 event notifications and S3 Inventory work only within one region. Deploy with --region eu-west-1',
    ]);
  });

  it('refuses reservations that leave fewer than 100 unreserved (Lambda Developer Guide, "Configuring reserved concurrency"), warns when the batch is squeezed', () => {
    const tight = deployProblems({ ...deploy, accountConcurrency: 10 });
    expect(tight.problems).toHaveLength(1);
    expect(tight.problems[0]).toMatch(/allows 10 concurrent Lambda executions in eu-west-1; this stack reserves 70 \(sync 20, onDemand 50\) and Lambda keeps 100 unreserved\. Ask for more in Service Quotas/);
    expect(deployProblems({ ...deploy, accountConcurrency: 200 })).toEqual({
      problems: [],
      warnings: ['only 30 concurrent executions are left for the batch, which runs up to 160 at once: it will be throttled (and retried), not fail'],
    });
  });
});
