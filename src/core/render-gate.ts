/**
 * Making new on-demand sizes under a crowd, in one process:
 *   coalesce  identical concurrent requests (same library, same logical key) share ONE render and its
 *             answer — the image, the same 4xx, or the same thrown error — instead of each decoding the photo
 *   bound     renders of distinct sizes take one of `limit` slots (the others wait in order), so memory
 *             stays bounded whatever the crowd of distinct sizes
 *
 * Where this applies: `serve` (the CDN view and the on-demand API share one gate), and each Lambda
 * container. A Lambda container handles one request at a time, so on AWS coalescing is per container
 * only: concurrent identical misses that reach the resolver land in different containers. In front of
 * the resolver, CloudFront collapses simultaneous requests for the same cache key into one origin request
 * (CloudFront Developer Guide, "Request and response behavior for custom origins" → "Simultaneous
 * requests for the same object (request collapsing)"); after the first render the pointer makes every
 * later request a plain read. Website mode's API has no such CDN in front: a crowd there renders in as
 * many containers (bounded by `onDemandConcurrency`), all writing the same content-addressed asset.
 */
import { availableParallelism } from 'node:os';
import { Slots } from './slots';

/** Environment variable that sets the bound (default: the number of CPUs). */
export const RENDER_CONCURRENCY_ENV = 'PHOTO_SCALER_RENDER_CONCURRENCY';

export interface RenderGateStats {
  /** Renders started (each coalesced crowd counts once). */
  started: number;
  /** Requests that joined a render already under way instead of starting one. */
  joined: number;
  /** Renders holding a slot now, and the most there ever were at once. */
  running: number;
  maxRunning: number;
}

export class RenderGate {
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private readonly slots: Slots;
  private readonly counts: RenderGateStats = { started: 0, joined: 0, running: 0, maxRunning: 0 };

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`render concurrency must be a positive integer, got ${limit}`);
    this.slots = new Slots(limit);
  }

  /** `work` for `key`, once at a time per key (joiners get the same settled promise), within the bound. */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const shared = this.inFlight.get(key);
    if (shared) {
      this.counts.joined++;
      return shared as Promise<T>;
    }
    this.counts.started++;
    const promise = this.bounded(work).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, promise);
    return promise;
  }

  stats(): RenderGateStats {
    return { ...this.counts };
  }

  private async bounded<T>(work: () => Promise<T>): Promise<T> {
    // A finishing render hands its slot straight to the next in line.
    const release = await this.slots.take();
    this.counts.running++;
    this.counts.maxRunning = Math.max(this.counts.maxRunning, this.counts.running);
    try {
      return await work();
    } finally {
      this.counts.running--;
      release();
    }
  }
}

/** The bound from the environment, else the number of CPUs (sharp/libvips keep a core busy per render). */
export function renderConcurrency(env: NodeJS.ProcessEnv = process.env): number {
  const given = env[RENDER_CONCURRENCY_ENV];
  if (given === undefined || given === '') return Math.max(1, availableParallelism());
  const limit = Number(given);
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`${RENDER_CONCURRENCY_ENV} must be a positive integer, got "${given}"`);
  return limit;
}

/** The process's gate, used when the context names none (each Lambda container; `serve` makes its own). */
export const processRenderGate = new RenderGate(renderConcurrency());
