import { ExecutionNotRedrivable, RedriveExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { redriveExecution } from '../../src/aws/sfn';

const sfn = mockClient(SFNClient);
const client = new SFNClient({ region: 'us-east-1' });
const arn = 'arn:aws:states:us-east-1:123456789012:execution:photo-scaler-migrate-prod:run-1';

beforeEach(() => sfn.reset());

describe('redriveExecution', () => {
  it('calls RedriveExecution with the execution ARN', async () => {
    const when = new Date('2026-11-24T10:00:00Z');
    sfn.on(RedriveExecutionCommand).resolves({ redriveDate: when });
    expect(await redriveExecution(client, arn)).toEqual(when);
    expect(sfn.commandCalls(RedriveExecutionCommand)[0]!.args[0].input).toEqual({ executionArn: arn });
  });

  it('explains the rules when Step Functions refuses', async () => {
    sfn.on(RedriveExecutionCommand).rejects(new ExecutionNotRedrivable({ message: 'Execution is SUCCEEDED', $metadata: {} }));
    await expect(redriveExecution(client, arn)).rejects.toThrow(/only a Standard execution that FAILED, was ABORTED or TIMED_OUT, whose last stop is less than 14 days ago/);
  });
});
