/**
 * Runs jobs with at most `limit` in flight (0 = no limit), starting them in order. `failFast`: after
 * the first failure no new job starts, the running ones finish, and that failure is thrown.
 */
export async function runPool<T>(jobs: ReadonlyArray<() => Promise<T>>, limit: number, failFast = true): Promise<Array<PromiseSettledResult<T>>> {
  const results: Array<PromiseSettledResult<T>> = new Array(jobs.length);
  let next = 0;
  let failure: { reason: unknown } | undefined;
  const worker = async () => {
    while (next < jobs.length && !(failFast && failure)) {
      const index = next++;
      try {
        results[index] = { status: 'fulfilled', value: await jobs[index]!() };
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
        failure ??= { reason };
      }
    }
  };
  const width = limit > 0 ? Math.min(limit, jobs.length) : jobs.length;
  await Promise.all(Array.from({ length: width }, worker));
  if (failFast && failure) throw failure.reason;
  return results;
}
