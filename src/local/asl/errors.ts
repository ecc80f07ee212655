/** A Step Functions error: `Error` is what Retry/Catch match on, `Cause` the detail. */
export class StatesError extends Error {
  constructor(
    readonly error: string,
    override readonly cause: string,
  ) {
    super(`${error}: ${cause}`);
    this.name = 'StatesError';
  }
}

/** How Step Functions reports an error thrown by a Lambda function: Error = errorType, Cause = the JSON Lambda returns. */
export function fromTaskError(thrown: unknown): StatesError {
  if (thrown instanceof StatesError) return thrown;
  const error = thrown instanceof Error ? thrown : new Error(String(thrown));
  const errorType = error.name || 'Error';
  const cause = JSON.stringify({ errorType, errorMessage: error.message, trace: (error.stack ?? '').split('\n') });
  return new StatesError(errorType, cause);
}
