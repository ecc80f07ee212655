/**
 * The local executor's ARNs, built here only: the executor runs its executions under them (`$$.Execution.Id`,
 * `$$.StateMachine.Id`) and the local RunStarter reports them, so the two always agree. Their shape is
 * Step Functions' own (`arn:<partition>:states:<region>:<account>:stateMachine:<name>`,
 * `…:execution:<state machine name>:<execution name>`), in a region and account no AWS ARN has.
 */
export const LOCAL_ARN_PREFIX = 'arn:aws:states:local:000000000000';
/** The migrate state machine, when run locally. */
export const LOCAL_STATE_MACHINE_NAME = 'photo-scaler-migrate-local';

export function localStateMachineArn(machineName = LOCAL_STATE_MACHINE_NAME): string {
  return `${LOCAL_ARN_PREFIX}:stateMachine:${machineName}`;
}

/** The ARN of one execution (a run) of the local state machine, by its name. */
export function localExecutionArn(execution: string, machineName = LOCAL_STATE_MACHINE_NAME): string {
  return `${LOCAL_ARN_PREFIX}:execution:${machineName}:${execution}`;
}
