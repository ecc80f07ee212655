/** What the AWS commands (start, status, redrive, inventory, verify --aws) share: region, stage, clients. */
import type { Command } from 'commander';
import { makeCloudFormationClient, makeDynamoClient, makeS3Client, makeSfnClient, makeStsClient } from '../aws/clients';
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

export function deployedStack(flags: AwsFlags): Promise<DeployedStack> {
  // Only CloudFormation: the caller has its own clients for the rest.
  return describeStack(makeCloudFormationClient(flags.region ? { region: flags.region } : {}), stackNameOf(flags.stage));
}

export function parseS3Url(url: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!match) throw new Error(`not an s3://bucket/key URL: ${url}`);
  return { bucket: match[1]!, key: match[2]! };
}
