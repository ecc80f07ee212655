/** Waiting, scaled: `timeScale` multiplies every wait (0 = none), so tests run the real backoff instantly. */

/** Waits `ms`; ends early once `signal` aborts (the caller then finds the execution stopped). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export function scaledSleep(ms: number, timeScale: number, signal?: AbortSignal): Promise<void> {
  return sleep(ms * timeScale, signal);
}

/** Rejects with `onTimeout()` when `promise` has not settled within `ms`. */
/** `promise`, or `onTimeout()` once `ms` have passed since `from` resolved (at once by default). */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error, from: Promise<void> = Promise.resolve()): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let settled = false;
  const timeout = new Promise<never>((_, reject) => {
    void from.then(() => {
      if (!settled) timer = setTimeout(() => reject(onTimeout()), ms);
    });
  });
  return Promise.race([promise, timeout]).finally(() => {
    settled = true;
    clearTimeout(timer);
  });
}
