/**
 * The one semaphore: `limit` slots; `take()` resolves with a release function once one is free, in
 * order of asking, and a finishing holder hands its slot straight to the next in line. For work that
 * arrives over time (renders, invocations); a known list of items goes through mapLimit.
 */
export class Slots {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async take(): Promise<() => void> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    };
  }
}
