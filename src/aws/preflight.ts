/**
 * What a deploy would trip over, checked before CloudFormation is asked (scripts/serverless-preflight.cjs
 * runs these): names AWS would refuse, at package time (offline); the region and the account's Lambda
 * concurrency, at deploy time. Pure: the plugin gathers the facts, these functions judge them.
 */
import { parseAllowHost } from '../core/fetch/url-check';

/** GetBucketLocation's answer as a region: an empty constraint is us-east-1, `EU` the old name of eu-west-1 (S3 API Reference, GetBucketLocation). */
export function regionOfLocation(constraint: string | null | undefined): string {
  return !constraint ? 'us-east-1' : constraint === 'EU' ? 'eu-west-1' : constraint;
}

/**
 * S3 User Guide, "General purpose bucket naming rules": 3 to 63 characters; lowercase letters,
 * numbers, dots and hyphens; beginning and ending with a letter or number; no two adjacent dots; not
 * an IP address; not the reserved prefixes and suffixes.
 */
export function bucketNameProblems(name: string): string[] {
  const problems: string[] = [];
  if (name.length < 3 || name.length > 63) problems.push(`is ${name.length} characters; S3 bucket names have 3 to 63`);
  if (!/^[a-z0-9.-]*$/.test(name)) problems.push('may hold only lowercase letters, numbers, dots and hyphens');
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) problems.push('must begin and end with a letter or number');
  if (name.includes('..')) problems.push('must not hold two adjacent dots');
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) problems.push('must not look like an IP address');
  for (const prefix of ['xn--', 'sthree-', 'amzn-s3-demo-']) if (name.startsWith(prefix)) problems.push(`must not begin with ${prefix}`);
  for (const suffix of ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3']) if (name.endsWith(suffix)) problems.push(`must not end with ${suffix}`);
  return problems;
}

/** Lambda function names: 1 to 64 characters of letters, numbers, hyphens and underscores (Lambda API Reference, CreateFunction). */
export function functionNameProblems(name: string): string[] {
  const problems: string[] = [];
  if (name.length > 64) problems.push(`is ${name.length} characters; Lambda function names have at most 64 (use a shorter --stage)`);
  if (!/^[A-Za-z0-9_-]+$/.test(name)) problems.push('may hold only letters, numbers, hyphens and underscores');
  return problems;
}

export interface PackageFacts {
  stage: string;
  sourceBucket: string;
  inventoryBucket: string;
  /** '' when the source bucket is not SSE-KMS encrypted. */
  sourceKmsKeyArn: string;
  /** '' when on-demand URLs need no signature. */
  signingSecretParameter: string;
  /** `cdn` or `website` (serverless.yml param delivery). */
  delivery: string;
  /** A CloudFront price class. */
  cdnPriceClass: string;
  /** The fetch function's allowlist (sources runs, issue 20): comma-separated `host[:port]` entries; '' = none. */
  fetchAllowHosts?: string;
  /** Full names of every function of the service. */
  functionNames: string[];
  reservedConcurrency: Record<string, unknown>;
}

const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;
/** SSM parameter names: a path from '/', of letters, numbers and . - _ / (Systems Manager User Guide, "Parameter Store" naming). */
const SSM_PATH = /^\/[A-Za-z0-9_.\-/]{1,1010}$/;

/** Everything wrong with a package's parameters, each naming the parameter and how to mend it. */
export function packageProblems(facts: PackageFacts): string[] {
  const problems: string[] = [];
  const bucket = (param: string, name: string) => {
    for (const problem of bucketNameProblems(name)) problems.push(`param ${param} "${name}" ${problem}`);
  };
  bucket('sourceBucket', facts.sourceBucket);
  bucket('inventoryBucket', facts.inventoryBucket);
  if (facts.sourceBucket === facts.inventoryBucket) problems.push('param inventoryBucket must not be the source bucket: live sync would take the reports for photos');
  for (const name of facts.functionNames) for (const problem of functionNameProblems(name)) problems.push(`function name "${name}" ${problem}`);
  if (facts.sourceKmsKeyArn && !KMS_KEY_ARN.test(facts.sourceKmsKeyArn)) {
    problems.push(`param sourceKmsKeyArn "${facts.sourceKmsKeyArn}" must be a key ARN (arn:aws:kms:<region>:<account>:key/<key id>); an alias cannot be granted kms:Decrypt`);
  }
  if (facts.signingSecretParameter && !SSM_PATH.test(facts.signingSecretParameter)) {
    problems.push(`param signingSecretParameter "${facts.signingSecretParameter}" must be an SSM parameter path starting with "/" (e.g. /photo-scaler/${facts.stage}/signing-secret)`);
  }
  if (!['cdn', 'website'].includes(facts.delivery)) problems.push(`param delivery "${facts.delivery}" must be cdn (private bucket behind CloudFront) or website (also the public S3 website)`);
  // CloudFront API Reference, DistributionConfig: PriceClass.
  if (!['PriceClass_100', 'PriceClass_200', 'PriceClass_All'].includes(facts.cdnPriceClass)) problems.push(`param cdnPriceClass "${facts.cdnPriceClass}" must be PriceClass_100, PriceClass_200 or PriceClass_All`);
  for (const entry of (facts.fetchAllowHosts ?? '').split(/[\s,]+/).filter(Boolean)) {
    try {
      parseAllowHost(entry);
    } catch (error) {
      problems.push(`param fetchAllowHosts: ${(error as Error).message}`);
    }
  }
  for (const [fn, value] of Object.entries(facts.reservedConcurrency)) {
    if (!(Number.isInteger(Number(value)) && Number(value) >= 1)) problems.push(`reserved concurrency of ${fn} must be a whole number of at least 1 (got ${JSON.stringify(value)})`);
  }
  return problems;
}

export interface DeployFacts {
  region: string;
  sourceBucket: string;
  /** GetBucketLocation of the source bucket, as a region. */
  sourceRegion: string;
  /** Lambda GetAccountSettings: AccountLimit.ConcurrentExecutions. */
  accountConcurrency: number;
  /** This stack's reserved concurrency by function. */
  reserved: Record<string, number>;
  /** Photos the state machine processes at once (MaxConcurrency x the batch's). */
  batchConcurrency: number;
}

/**
 * Lambda keeps 100 of the account's concurrency unreserved (Lambda Developer Guide, "Configuring
 * reserved concurrency": "You can reserve up to the Unreserved account concurrency value minus
 * 100"), and S3 events reach only a function in the bucket's region.
 */
export function deployProblems(facts: DeployFacts): { problems: string[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  if (facts.sourceRegion !== facts.region) {
    problems.push(
      `the source bucket ${facts.sourceBucket} is in ${facts.sourceRegion}, the deploy goes to ${facts.region}: S3 event notifications and S3 Inventory work only within one region. Deploy with --region ${facts.sourceRegion}`,
    );
  }
  const reserved = Object.values(facts.reserved).reduce((sum, n) => sum + n, 0);
  const left = facts.accountConcurrency - reserved;
  if (left < 100) {
    problems.push(
      `the account allows ${facts.accountConcurrency} concurrent Lambda executions in ${facts.region}; this stack reserves ${reserved} (${Object.entries(facts.reserved).map(([fn, n]) => `${fn} ${n}`).join(', ')}) and Lambda keeps 100 unreserved. ` +
        'Ask for more in Service Quotas (Lambda, "Concurrent executions"; new accounts start low), or deploy with smaller --param="syncConcurrency=…" / --param="onDemandConcurrency=…"',
    );
  } else if (left - 100 < facts.batchConcurrency) {
    warnings.push(`only ${left - 100} concurrent executions are left for the batch, which runs up to ${facts.batchConcurrency} at once: it will be throttled (and retried), not fail`);
  }
  return { problems, warnings };
}
