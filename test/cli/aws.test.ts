/** What the AWS commands check before they act: the stack is found in the region in use, the source bucket is in it too. */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetBucketLocationCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { assertSourceInRegion, regionOfLocation } from '../../src/aws/region';
import { deployedStackInRegion } from '../../src/cli/aws';

const cfnMock = mockClient(CloudFormationClient);
const s3Mock = mockClient(S3Client);
const outputs = {
  MigrateStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:photo-scaler-migrate-prod',
  SourceBucketName: 'photos',
  LibraryBucketName: 'library',
  CatalogTableName: 'catalog',
  InventoryBucketName: 'photos-inventory',
  InventoryPrefix: 'inventory',
};

beforeEach(() => {
  cfnMock.reset();
  s3Mock.reset();
  cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'photo-scaler-prod', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(), Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) }] });
});

describe('regions', () => {
  it('reads GetBucketLocation as S3 answers it: empty is us-east-1, EU is eu-west-1', () => {
    expect([regionOfLocation(undefined), regionOfLocation(''), regionOfLocation('EU'), regionOfLocation('ap-south-2')]).toEqual(['us-east-1', 'us-east-1', 'eu-west-1', 'ap-south-2']);
  });

  it('refuses a source bucket in another region than the stack, saying where to deploy', async () => {
    const s3 = new S3Client({ region: 'us-east-1' });
    s3Mock.on(GetBucketLocationCommand).resolves({ LocationConstraint: 'eu-west-1' });
    await expect(assertSourceInRegion(s3, 'photos', 'us-east-1')).rejects.toThrow(
      /the source bucket photos is in eu-west-1, the stack in us-east-1: S3 event notifications and S3 Inventory work only within one region\. Deploy the stack in eu-west-1 \(npm run deploy -- --region eu-west-1/,
    );
    await expect(assertSourceInRegion(s3, 'photos', 'eu-west-1')).resolves.toBeUndefined();
  });

  it('the commands find the stack, then check its source bucket\'s region against the region in use', async () => {
    s3Mock.on(GetBucketLocationCommand).resolves({ LocationConstraint: 'eu-west-1' });
    await expect(deployedStackInRegion({ stage: 'prod', region: 'eu-west-1' }, new S3Client({ region: 'eu-west-1' }))).resolves.toMatchObject({ sourceBucket: 'photos' });
    await expect(deployedStackInRegion({ stage: 'prod', region: 'us-west-2' }, new S3Client({ region: 'us-west-2' }))).rejects.toThrow(/photos is in eu-west-1, the stack in us-west-2/);
    expect(s3Mock.commandCalls(GetBucketLocationCommand)[0]!.args[0].input).toEqual({ Bucket: 'photos' });
  });

  it('names the region it looked in when the stack is not there', async () => {
    cfnMock.on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id photo-scaler-prod does not exist'), { name: 'ValidationError' }));
    await expect(deployedStackInRegion({ stage: 'prod', region: 'ap-south-2' }, new S3Client({ region: 'ap-south-2' }))).rejects.toThrow(/stack photo-scaler-prod not found in ap-south-2/);
  });
});
