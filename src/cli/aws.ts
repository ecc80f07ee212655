/** What the AWS commands (start, status, redrive, inventory, verify --aws) share: region, stage, clients. */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Command } from 'commander';
import { makeCloudFormationClient, makeDynamoClient, makeS3Client, makeSfnClient, makeStsClient } from '../aws/clients';
import { assertSourceInRegion } from '../aws/region';
import { type DeployedStack, describeStack, stackNameOf } from '../aws/stack';

export interface AwsFlags {
  region?: string;
  stage: string;
}

export function withAwsOptions(command: Command): Command {
  return command
    .option('--stage <stage>', 'the deployed stage: its stack photo-scaler-<stage> names the state machine and buckets', 'dev')
    .option('--region <region>', 'AWS region (default $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1, as serverless.yml)');
}

/** The region an ARN names (`arn:aws:states:<region>:…`), unless --region says otherwise. */
export function regionOf(flags: { region?: string }, arn?: string): string | undefined {
  return flags.region ?? (arn?.startsWith('arn:') ? arn.split(':')[3] || undefined : undefined);
}

export function awsClients(region: string | undefined) {
  const options = region ? { region } : {};
  return { s3: makeS3Client(options), dynamo: makeDynamoClient(options), sfn: makeSfnClient(options), cfn: makeCloudFormationClient(options), sts: makeStsClient(options) };
}

export async function deployedStack(flags: AwsFlags): Promise<DeployedStack> {
  // Only CloudFormation: the caller has its own clients for the rest.
  const cfn = makeCloudFormationClient(flags.region ? { region: flags.region } : {});
  try {
    return await describeStack(cfn, stackNameOf(flags.stage));
  } catch (error) {
    const region = await cfn.config.region();
    if (/does not exist/.test((error as Error).message)) {
      throw new Error(`stack ${stackNameOf(flags.stage)} not found in ${region} (--region, else $AWS_REGION, else us-east-1): deploy it there, or pass the --stage/--region it was deployed with`, { cause: error });
    }
    throw error;
  }
}

/**
 * The deployed stack, after checking that the source bucket is in the stack's region (S3 event
 * notifications and S3 Inventory work only within one; src/aws/region.ts): a mismatch is named.
 */
export async function deployedStackInRegion(flags: AwsFlags, s3: S3Client): Promise<DeployedStack> {
  const stack = await deployedStack(flags);
  await assertSourceInRegion(s3, stack.sourceBucket, await s3.config.region());
  return stack;
}

export function parseS3Url(url: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!match) throw new Error(`not an s3://bucket/key URL: ${url}`);
  return { bucket: match[1]!, key: match[2]! };
}
