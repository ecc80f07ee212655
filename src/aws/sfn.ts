/** Step Functions calls of the CLI and the starter Lambda: start a run, describe its progress, redrive it. */
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  DescribeMapRunCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  ExecutionNotRedrivable,
  type MapRunItemCounts,
  type MapRunListItem,
  paginateListMapRuns,
  RedriveExecutionCommand,
  type SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
} from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import type { ManifestRef } from '../core/inventory/manifest';
import type { ResultWriterDetails } from '../core/run-results';
import type { RunInput, RunStarter, StartedExecution } from '../core/run-start';
import type { ExecutionStatus, ItemCounts, RunStatus } from '../core/run-status';
import { withContext } from './transient';

/** `arn:<partition>:states:<region>:<account>:stateMachine:<name>` → the ARN of its execution `name`. */
export function executionArnOf(stateMachineArn: string, name: string): string {
  const parts = stateMachineArn.split(':');
  if (parts.length !== 7 || parts[2] !== 'states' || parts[5] !== 'stateMachine') throw new Error(`not a state machine ARN: ${stateMachineArn}`);
  return [...parts.slice(0, 5), 'execution', parts[6], name].join(':');
}

/** A bare state machine name → its ARN in the caller's account (GetCallerIdentity) and `region`. */
export async function stateMachineArnOf(sts: STSClient, region: string, name: string): Promise<string> {
  const identity = await withContext('GetCallerIdentity', () => sts.send(new GetCallerIdentityCommand({})));
  const partition = identity.Arn?.split(':')[1] ?? 'aws';
  return `arn:${partition}:states:${region}:${identity.Account}:stateMachine:${name}`;
}

/** The execution's page in the Step Functions console. */
export function consoleUrl(executionArn: string): string {
  const [, partition, , region] = executionArn.split(':');
  const host = partition === 'aws-cn' ? `${region}.console.amazonaws.cn` : partition === 'aws-us-gov' ? `console.amazonaws-us-gov.com` : `${region}.console.aws.amazon.com`;
  return `https://${host}/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

/**
 * StartExecution of the migrate state machine. A name that is taken (ExecutionAlreadyExists: the same
 * report was started before, or the same start is a retried Lambda) is success: that run is the one.
 */
export class SfnRunStarter implements RunStarter {
  constructor(
    private readonly sfn: SFNClient,
    readonly stateMachineArn: string,
  ) {}

  async start(name: string, input: RunInput): Promise<StartedExecution> {
    try {
      const response = await withContext(
        `StartExecution ${name}`,
        () => this.sfn.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name, input: JSON.stringify(input) })),
      );
      return { executionArn: response.executionArn ?? executionArnOf(this.stateMachineArn, name), alreadyStarted: false };
    } catch (error) {
      if (error instanceof ExecutionAlreadyExists) return { executionArn: executionArnOf(this.stateMachineArn, name), alreadyStarted: true };
      if (error instanceof StateMachineDoesNotExist) throw new Error(`no such state machine: ${this.stateMachineArn} (deployed? right region?)`, { cause: error });
      throw error;
    }
  }
}

/** DescribeExecution, then ListMapRuns (every page) and DescribeMapRun of each: where the run stands. */
export async function describeRun(sfn: SFNClient, executionArn: string): Promise<RunStatus> {
  let execution: DescribeExecutionCommandOutput;
  try {
    execution = await withContext(`DescribeExecution ${executionArn}`, () => sfn.send(new DescribeExecutionCommand({ executionArn })));
  } catch (error) {
    if (error instanceof ExecutionDoesNotExist) throw new Error(`no such execution: ${executionArn}`, { cause: error });
    throw error;
  }
  const status: RunStatus = {
    executionArn,
    name: execution.name ?? executionArn.split(':').pop()!,
    status: (execution.status ?? 'RUNNING') as ExecutionStatus,
    startDate: execution.startDate?.toISOString(),
    stopDate: execution.stopDate?.toISOString(),
    error: execution.error,
    cause: execution.cause,
    manifest: parseJson<{ manifest?: ManifestRef }>(execution.input)?.manifest,
    resultWriter: parseJson<{ ResultWriterDetails?: ResultWriterDetails }>(execution.output)?.ResultWriterDetails,
  };
  // A sources run (issue 20): its input names the CSV of sources instead of a report.
  const sources = parseJson<{ sources?: ManifestRef }>(execution.input)?.sources;
  if (sources) status.sources = sources;
  if (execution.redriveStatus) status.redrive = { status: execution.redriveStatus, reason: execution.redriveStatusReason, count: execution.redriveCount };

  const mapRuns: MapRunListItem[] = [];
  const pages = paginateListMapRuns({ client: sfn }, { executionArn })[Symbol.asyncIterator]();
  for (;;) {
    const page = await withContext(`ListMapRuns ${executionArn}`, () => pages.next());
    if (page.done) break;
    mapRuns.push(...(page.value.mapRuns ?? []));
  }
  // migrate.asl.yaml has one Distributed Map: one Map Run per execution (a redrive reuses it).
  const latest = mapRuns.sort((a, b) => (a.startDate?.getTime() ?? 0) - (b.startDate?.getTime() ?? 0)).pop();
  if (latest?.mapRunArn) {
    const mapRunArn = latest.mapRunArn;
    const mapRun = await withContext(`DescribeMapRun ${mapRunArn}`, () => sfn.send(new DescribeMapRunCommand({ mapRunArn })));
    status.mapRun = { arn: mapRunArn, status: mapRun.status ?? 'RUNNING', items: counts(mapRun.itemCounts), childExecutions: counts(mapRun.executionCounts) };
  }
  return status;
}

function counts(value: MapRunItemCounts | undefined): ItemCounts {
  return {
    pending: value?.pending ?? 0,
    running: value?.running ?? 0,
    succeeded: value?.succeeded ?? 0,
    failed: value?.failed ?? 0,
    timedOut: value?.timedOut ?? 0,
    aborted: value?.aborted ?? 0,
    total: value?.total ?? 0,
    resultsWritten: value?.resultsWritten ?? 0,
  };
}

function parseJson<T>(text: string | undefined): T | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

const REDRIVE_RULES =
  'only a Standard execution that FAILED, was ABORTED or TIMED_OUT, whose last stop is less than 14 days ago, and that has not ' +
  'reached 1,000 redrives can be. A run that SUCCEEDED with photos recorded as failed has nothing to redrive: start a new run ' +
  'on those photos (photo-scaler redrive does that locally)';

/**
 * RedriveExecution: restarts a failed run from where it failed (for a Distributed Map: only its
 * failed or unfinished child executions). Refusals come back with the rules spelled out, and with
 * Step Functions' own reason for this execution when it gives one.
 */
export async function redriveExecution(sfn: SFNClient, executionArn: string): Promise<Date | undefined> {
  try {
    const response = await withContext(`RedriveExecution ${executionArn}`, () => sfn.send(new RedriveExecutionCommand({ executionArn })));
    return response.redriveDate;
  } catch (error) {
    if (error instanceof ExecutionNotRedrivable) {
      const reason = await redriveReason(sfn, executionArn);
      throw new Error(`${executionArn} cannot be redriven: ${REDRIVE_RULES}. (${reason ?? (error as Error).message})`, { cause: error });
    }
    if (error instanceof ExecutionDoesNotExist) throw new Error(`no such execution: ${executionArn}`, { cause: error });
    throw error;
  }
}

async function redriveReason(sfn: SFNClient, executionArn: string): Promise<string | undefined> {
  try {
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    return execution.redriveStatusReason ? `${execution.status}: ${execution.redriveStatusReason}` : undefined;
  } catch {
    return undefined;
  }
}
