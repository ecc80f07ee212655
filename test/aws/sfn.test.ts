import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  ExecutionNotRedrivable,
  ListMapRunsCommand,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
} from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { consoleUrl, describeRun, executionArnOf, redriveExecution, SfnRunStarter, stateMachineArnOf } from '../../src/aws/sfn';

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

const machine = 'arn:aws:states:eu-west-1:123456789012:stateMachine:photo-scaler-migrate-prod';
const input = { manifest: { bucket: 'photos-inventory', key: 'inventory/photos/photo-scaler/2026-11-24T01-00Z/manifest.json' } };

describe('executionArnOf and consoleUrl', () => {
  it('derive the execution ARN and its console page from the state machine ARN', () => {
    const execution = executionArnOf(machine, 'inventory-abc');
    expect(execution).toBe('arn:aws:states:eu-west-1:123456789012:execution:photo-scaler-migrate-prod:inventory-abc');
    expect(consoleUrl(execution)).toBe(`https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${execution}`);
    expect(() => executionArnOf('arn:aws:lambda:eu-west-1:1:function:x', 'n')).toThrow(/not a state machine ARN/);
  });

  it('finds a state machine named without its ARN in the caller account', async () => {
    const sts = mockClient(STSClient);
    sts.on(GetCallerIdentityCommand).resolves({ Account: '210987654321', Arn: 'arn:aws:iam::210987654321:user/ops' });
    expect(await stateMachineArnOf(new STSClient({ region: 'eu-west-1' }), 'eu-west-1', 'photo-scaler-migrate-prod')).toBe(
      'arn:aws:states:eu-west-1:210987654321:stateMachine:photo-scaler-migrate-prod',
    );
    sts.restore();
  });
});

describe('SfnRunStarter', () => {
  it('starts the execution with the input the ASL expects, under the given name', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: executionArnOf(machine, 'inventory-abc'), startDate: new Date() });
    const started = await new SfnRunStarter(client, machine).start('inventory-abc', input);
    expect(started).toEqual({ executionArn: executionArnOf(machine, 'inventory-abc'), alreadyStarted: false });
    const sent = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(sent).toMatchObject({ stateMachineArn: machine, name: 'inventory-abc' });
    expect(JSON.parse(sent.input!)).toEqual(input);
  });

  it('takes ExecutionAlreadyExists as success: the report has its run', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));
    expect(await new SfnRunStarter(client, machine).start('inventory-abc', input)).toEqual({ executionArn: executionArnOf(machine, 'inventory-abc'), alreadyStarted: true });
  });

  it('leaves retrying to the client: throttling that outlived its attempts is sent once, and named', async () => {
    // The client's retry middleware sets $metadata.attempts; test/aws/clients.test.ts pins the attempts themselves.
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400, attempts: 5 } }));
    await expect(new SfnRunStarter(client, machine).start('n', input)).rejects.toThrow(/^StartExecution n: ThrottlingException after 5 attempts: Rate exceeded$/);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });

  it('says which state machine is missing', async () => {
    sfn.on(StartExecutionCommand).rejects(new StateMachineDoesNotExist({ message: 'State Machine Does Not Exist', $metadata: {} }));
    await expect(new SfnRunStarter(client, machine).start('n', input)).rejects.toThrow(`no such state machine: ${machine} (deployed? right region?)`);
  });

  it('does not retry an error no retry can cure', async () => {
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('bad input'), { name: 'InvalidExecutionInput', $metadata: { httpStatusCode: 400 } }));
    await expect(new SfnRunStarter(client, machine).start('n', input)).rejects.toThrow('bad input');
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });
});

describe('describeRun', () => {
  const execution = executionArnOf(machine, 'inventory-abc');
  const mapRunArn = (n: number) => `arn:aws:states:eu-west-1:123456789012:mapRun:photo-scaler-migrate-prod/inventory-abc:${n}`;
  const counts = (succeeded: number, failed: number, total: number) => ({ pending: total - succeeded - failed, running: 0, succeeded, failed, timedOut: 0, aborted: 0, total, resultsWritten: succeeded + failed });

  it('reads the execution, every page of Map Runs, and the counts of the newest', async () => {
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: execution,
      stateMachineArn: machine,
      name: 'inventory-abc',
      status: 'SUCCEEDED',
      startDate: new Date('2026-11-24T01:00:00Z'),
      stopDate: new Date('2026-11-24T02:00:00Z'),
      input: JSON.stringify(input),
      output: JSON.stringify({ ResultWriterDetails: { Bucket: 'lib', Key: 'runs/x/manifest.json' } }),
    });
    sfn.on(ListMapRunsCommand, { executionArn: execution, nextToken: undefined })
      .resolves({ mapRuns: [{ mapRunArn: mapRunArn(2), executionArn: execution, stateMachineArn: machine, startDate: new Date('2026-11-24T01:30:00Z') }], nextToken: 'page-2' })
      .on(ListMapRunsCommand, { executionArn: execution, nextToken: 'page-2' })
      .resolves({ mapRuns: [{ mapRunArn: mapRunArn(1), executionArn: execution, stateMachineArn: machine, startDate: new Date('2026-11-24T01:00:00Z') }] });
    sfn.on(DescribeMapRunCommand).resolves({ mapRunArn: mapRunArn(2), status: 'SUCCEEDED', itemCounts: counts(98, 2, 100), executionCounts: counts(9, 1, 10) } as never);
    const status = await describeRun(client, execution);
    expect(sfn.commandCalls(ListMapRunsCommand)).toHaveLength(2);
    expect(sfn.commandCalls(DescribeMapRunCommand)[0]!.args[0].input).toEqual({ mapRunArn: mapRunArn(2) });
    expect(status).toMatchObject({
      name: 'inventory-abc',
      status: 'SUCCEEDED',
      startDate: '2026-11-24T01:00:00.000Z',
      manifest: input.manifest,
      resultWriter: { Bucket: 'lib', Key: 'runs/x/manifest.json' },
      mapRun: { arn: mapRunArn(2), status: 'SUCCEEDED', items: { succeeded: 98, failed: 2, total: 100, pending: 0 }, childExecutions: { succeeded: 9, failed: 1 } },
    });
  });

  it('names a sources run\'s CSV (issue 20: its input is {sources}, not {manifest})', async () => {
    const sources = { bucket: 'photo-scaler-source-prod-inventory', key: 'sources/azure.csv' };
    sfn.on(DescribeExecutionCommand).resolves({ executionArn: execution, stateMachineArn: machine, status: 'RUNNING', startDate: new Date(), input: JSON.stringify({ sources }) });
    sfn.on(ListMapRunsCommand).resolves({ mapRuns: [] });
    const status = await describeRun(client, execution);
    expect(status.sources).toEqual(sources);
    expect(status.manifest).toBeUndefined();
  });

  it('has no Map Run before the Map starts, and names an unknown execution', async () => {
    sfn.on(DescribeExecutionCommand).resolves({ executionArn: execution, stateMachineArn: machine, status: 'RUNNING', startDate: new Date() });
    sfn.on(ListMapRunsCommand).resolves({ mapRuns: [] });
    expect((await describeRun(client, execution)).mapRun).toBeUndefined();
    sfn.reset();
    sfn.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} }));
    await expect(describeRun(client, execution)).rejects.toThrow(`no such execution: ${execution}`);
  });
});

describe('redriveExecution refusals', () => {
  it("adds Step Functions' own reason for this execution", async () => {
    sfn.on(RedriveExecutionCommand).rejects(new ExecutionNotRedrivable({ message: 'not redrivable', $metadata: {} }));
    sfn.on(DescribeExecutionCommand).resolves({ executionArn: arn, stateMachineArn: machine, status: 'FAILED', startDate: new Date(), redriveStatus: 'NOT_REDRIVABLE', redriveStatusReason: 'Execution is older than 14 days' });
    await expect(redriveExecution(client, arn)).rejects.toThrow(/\(FAILED: Execution is older than 14 days\)$/);
  });
});
