import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { describeStack, stackNameOf } from '../../src/aws/stack';

const cfnMock = mockClient(CloudFormationClient);
const cfn = new CloudFormationClient({ region: 'eu-west-1' });
const outputs = {
  MigrateStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:photo-scaler-migrate-prod',
  SourceBucketName: 'photos',
  LibraryBucketName: 'photo-scaler-library-prod',
  CatalogTableName: 'photo-scaler-catalog-prod',
  InventoryBucketName: 'photos-inventory',
  InventoryPrefix: 'inventory',
  LibraryWebsiteUrl: 'http://photo-scaler-library-prod.s3-website-eu-west-1.amazonaws.com',
};
const asOutputs = (values: Record<string, string>) => Object.entries(values).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue }));

beforeEach(() => cfnMock.reset());

describe('describeStack', () => {
  it("reads what the CLI needs from the stack's outputs", async () => {
    cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'photo-scaler-prod', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: asOutputs(outputs) }] });
    expect(stackNameOf('prod')).toBe('photo-scaler-prod');
    expect(await describeStack(cfn, 'photo-scaler-prod')).toEqual({
      stackName: 'photo-scaler-prod',
      stateMachineArn: outputs.MigrateStateMachineArn,
      sourceBucket: 'photos',
      libraryBucket: 'photo-scaler-library-prod',
      catalogTable: 'photo-scaler-catalog-prod',
      inventoryBucket: 'photos-inventory',
      inventoryPrefix: 'inventory',
      websiteUrl: outputs.LibraryWebsiteUrl,
      onDemandApiUrl: undefined,
    });
    expect(cfnMock.commandCalls(DescribeStacksCommand)[0]!.args[0].input).toEqual({ StackName: 'photo-scaler-prod' });
  });

  it('says to deploy when the stack is missing or older than the CLI', async () => {
    cfnMock.on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id photo-scaler-dev does not exist'), { name: 'ValidationError', $metadata: { httpStatusCode: 400 } }));
    await expect(describeStack(cfn, 'photo-scaler-dev')).rejects.toThrow(/stack photo-scaler-dev does not exist in this region: deploy it first/);
    const { InventoryBucketName: _, InventoryPrefix: __, ...older } = outputs;
    cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'photo-scaler-dev', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: asOutputs(older) }] });
    await expect(describeStack(cfn, 'photo-scaler-dev')).rejects.toThrow('stack photo-scaler-dev has no output InventoryBucketName, InventoryPrefix: deployed from an older photo-scaler? Deploy again');
  });

  it('leaves retrying to the client: throttling that outlived its attempts is sent once, and named', async () => {
    cfnMock.on(DescribeStacksCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400, attempts: 5 } }));
    await expect(describeStack(cfn, 'photo-scaler-prod')).rejects.toThrow('DescribeStacks photo-scaler-prod: Throttling after 5 attempts: Rate exceeded');
    expect(cfnMock.commandCalls(DescribeStacksCommand)).toHaveLength(1);
  });
});
