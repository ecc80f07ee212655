/** Step Functions calls the CLI makes on AWS. */
import { RedriveExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';

/**
 * RedriveExecution: restarts a failed run from where it failed (for a Distributed Map: only its
 * failed or unfinished child executions). Refusals come back with the rules spelled out.
 */
export async function redriveExecution(sfn: SFNClient, executionArn: string): Promise<Date | undefined> {
  try {
    const response = await sfn.send(new RedriveExecutionCommand({ executionArn }));
    return response.redriveDate;
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'ExecutionNotRedrivable') {
      throw new Error(
        `${executionArn} cannot be redriven: only a Standard execution that FAILED, was ABORTED or TIMED_OUT, ` +
          'whose last stop is less than 14 days ago, and that has not reached 1,000 redrives can be. A run that ' +
          'SUCCEEDED with photos recorded as failed has nothing to redrive: start a new run on those photos ' +
          `(photo-scaler redrive does that locally). (${(error as Error).message})`,
      );
    }
    if (name === 'ExecutionDoesNotExist') throw new Error(`no such execution: ${executionArn}`);
    throw error;
  }
}
