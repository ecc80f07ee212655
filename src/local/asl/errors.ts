/** Step Functions errors: what Retry/Catch match on, and how a handler's exception becomes one. */

/** The predefined error names the local executor raises. */
export const States = {
  ALL: 'States.ALL',
  TaskFailed: 'States.TaskFailed',
  Runtime: 'States.Runtime',
  Timeout: 'States.Timeout',
  DataLimitExceeded: 'States.DataLimitExceeded',
  NoChoiceMatched: 'States.NoChoiceMatched',
  ResultPathMatchFailure: 'States.ResultPathMatchFailure',
  ParameterPathFailure: 'States.ParameterPathFailure',
  ItemReaderFailed: 'States.ItemReaderFailed',
  ResultWriterFailed: 'States.ResultWriterFailed',
  ExceedToleratedFailureThreshold: 'States.ExceedToleratedFailureThreshold',
} as const;

/** A Step Functions error: `error` is what Retry/Catch match on, `cause` the detail. */
export class StatesError extends Error {
  constructor(
    readonly error: string,
    override readonly cause: string,
  ) {
    super(`${error}: ${cause}`);
    this.name = 'StatesError';
  }
}

/**
 * The execution was stopped (StopExecution; locally Ctrl-C or a full disk): not a state's error, so
 * no Retry or Catch sees it, and the execution ends ABORTED.
 */
export class ExecutionAborted extends Error {
  override name = 'ExecutionAborted';
}

/** A definition the executor refuses before running anything (CreateStateMachine's InvalidDefinition). */
export class InvalidDefinition extends Error {
  override name = 'InvalidDefinition';
}

/**
 * How Step Functions reports an exception of a Lambda function: Error = its name (`errorType`),
 * Cause = the JSON the Node.js runtime returns, `{"errorType","errorMessage","trace"}`.
 */
export function fromTaskError(thrown: unknown): StatesError {
  if (thrown instanceof StatesError) return thrown;
  const error = thrown instanceof Error ? thrown : new Error(typeof thrown === 'string' ? thrown : safeJson(thrown));
  const errorType = error.name || 'Error';
  const trace = (error.stack ?? `${errorType}: ${error.message}`).split('\n');
  return new StatesError(errorType, JSON.stringify({ errorType, errorMessage: error.message, trace }));
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
