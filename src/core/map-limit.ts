/**
 * The one bounded-concurrency loop: `fn` over `items`, at most `limit` at once, started in order (a
 * finishing call hands its slot to the next item). Items may be an array, any iterable, or an async
 * iterable (a listing): the next one is taken only when a slot is free, so a long listing is never
 * read ahead of the work.
 *
 * Failures, by `settle`:
 * - `false` (default), stop on the first: no further item starts, the running ones finish, then the
 *   first failure is thrown;
 * - `true`, collect: every item runs and the results are PromiseSettledResults.
 * `stopped`, asked before each item starts: once it is true no further item starts (an abort).
 *
 * Results are in the order of the items; as items start in order, an early stop leaves the results of
 * the items started, a prefix. A failing source (the iterable itself throwing) is thrown in both modes.
 */
export interface MapLimitOptions {
  /** Collect failures as rejected results instead of stopping at the first. */
  settle?: boolean;
  /** True once no further item may start. */
  stopped?: () => boolean;
}

export function mapLimit<T, R>(items: Iterable<T> | AsyncIterable<T>, limit: number, fn: (item: T, index: number) => Promise<R>, options?: MapLimitOptions & { settle?: false }): Promise<R[]>;
export function mapLimit<T, R>(items: Iterable<T> | AsyncIterable<T>, limit: number, fn: (item: T, index: number) => Promise<R>, options: MapLimitOptions & { settle: true }): Promise<Array<PromiseSettledResult<R>>>;
export async function mapLimit<T, R>(
  items: Iterable<T> | AsyncIterable<T>,
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  options: MapLimitOptions = {},
): Promise<R[] | Array<PromiseSettledResult<R>>> {
  if (!(limit >= 1) || (Number.isFinite(limit) && !Number.isInteger(limit))) throw new RangeError(`mapLimit: limit must be a whole number of at least 1 or Infinity (got ${limit})`);
  const settle = options.settle === true;
  const known = Array.isArray(items) ? items.length : undefined;
  if (!Number.isFinite(limit) && known === undefined) throw new RangeError('mapLimit: an unlimited pool needs an array');
  const iterator: Iterator<T> | AsyncIterator<T> = Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : (items as Iterable<T>)[Symbol.iterator]();
  const results: Array<R | PromiseSettledResult<R>> = [];
  let failure: { reason: unknown } | undefined;
  let sourceFailure: { reason: unknown } | undefined;
  let exhausted = false;
  let started = 0;
  // One pull at a time: an async iterator is not asked for its next item before the last one came.
  let pulling: Promise<unknown> = Promise.resolve();
  const halted = () => exhausted || sourceFailure !== undefined || (!settle && failure !== undefined) || options.stopped?.() === true;
  const take = (): Promise<{ item: T; index: number } | undefined> => {
    const next = pulling.then(async () => {
      if (halted()) return undefined;
      try {
        const step = await iterator.next();
        if (step.done) {
          exhausted = true;
          return undefined;
        }
        return { item: step.value, index: started++ };
      } catch (reason) {
        sourceFailure ??= { reason };
        return undefined;
      }
    });
    pulling = next;
    return next;
  };
  const worker = async () => {
    for (let next = await take(); next; next = await take()) {
      try {
        const value = await fn(next.item, next.index);
        results[next.index] = settle ? { status: 'fulfilled', value } : value;
      } catch (reason) {
        if (settle) results[next.index] = { status: 'rejected', reason };
        else failure ??= { reason };
      }
    }
  };
  const width = Math.min(limit, known ?? limit);
  await Promise.all(Array.from({ length: width }, worker));
  // Stopped early: the source (a listing) is closed rather than left suspended.
  if (!exhausted && !sourceFailure) await (iterator as AsyncIterator<T>).return?.();
  if (sourceFailure) throw sourceFailure.reason;
  if (failure) throw failure.reason;
  return results as R[] | Array<PromiseSettledResult<R>>;
}
