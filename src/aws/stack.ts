/**
 * What `sls deploy` created, read back from the CloudFormation stack's outputs (serverless.yml,
 * resources.Outputs), so the CLI needs no ARN or bucket name the user would have to copy by hand.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { withContext } from './transient';

/** Serverless Framework v3 names the stack `<service>-<stage>`. */
export const stackNameOf = (stage: string) => `photo-scaler-${stage}`;

export interface DeployedStack {
  stackName: string;
  stateMachineArn: string;
  sourceBucket: string;
  libraryBucket: string;
  catalogTable: string;
  inventoryBucket: string;
  inventoryPrefix: string;
  websiteUrl?: string;
  onDemandApiUrl?: string;
  /** The sources state machine (issue 20); absent on a stack deployed before it existed. */
  sourcesStateMachineArn?: string;
}

const REQUIRED = {
  stateMachineArn: 'MigrateStateMachineArn',
  sourceBucket: 'SourceBucketName',
  libraryBucket: 'LibraryBucketName',
  catalogTable: 'CatalogTableName',
  inventoryBucket: 'InventoryBucketName',
  inventoryPrefix: 'InventoryPrefix',
} as const;

export async function describeStack(cfn: CloudFormationClient, stackName: string): Promise<DeployedStack> {
  let stacks;
  try {
    ({ Stacks: stacks } = await withContext(`DescribeStacks ${stackName}`, () => cfn.send(new DescribeStacksCommand({ StackName: stackName }))));
  } catch (error) {
    if (/does not exist/.test((error as Error).message ?? '')) {
      throw new Error(`stack ${stackName} does not exist in this region: deploy it first (npm run deploy -- --stage <stage>), or pass --stage/--region`, { cause: error });
    }
    throw error;
  }
  const outputs = new Map((stacks?.[0]?.Outputs ?? []).map((output) => [output.OutputKey, output.OutputValue]));
  const missing = Object.values(REQUIRED).filter((key) => !outputs.get(key));
  if (missing.length > 0) throw new Error(`stack ${stackName} has no output ${missing.join(', ')}: deployed from an older photo-scaler? Deploy again`);
  const value = (key: string) => outputs.get(key)!;
  return {
    stackName,
    stateMachineArn: value(REQUIRED.stateMachineArn),
    sourceBucket: value(REQUIRED.sourceBucket),
    libraryBucket: value(REQUIRED.libraryBucket),
    catalogTable: value(REQUIRED.catalogTable),
    inventoryBucket: value(REQUIRED.inventoryBucket),
    inventoryPrefix: value(REQUIRED.inventoryPrefix),
    websiteUrl: outputs.get('LibraryWebsiteUrl'),
    onDemandApiUrl: outputs.get('OnDemandApiUrl'),
    ...(outputs.get('MigrateSourcesStateMachineArn') ? { sourcesStateMachineArn: outputs.get('MigrateSourcesStateMachineArn') } : {}),
  };
}
