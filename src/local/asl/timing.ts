/** Waiting, scaled: `timeScale` multiplies every wait (0 = none), so tests run the real backoff instantly. */

export function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

export function scaledSleep(ms: number, timeScale: number): Promise<void> {
  return sleep(ms * timeScale);
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
