import type { CdnCache } from './cdn';
import type { Catalog, ObjectStore } from './ports';
import type { PhotoScalerConfig, ResolvedPreset } from './presets';

/** Everything a step needs, injected: AWS adapters in Lambda, emulator-backed adapters locally, fakes in tests. */
export interface StepContext {
  store: ObjectStore;
  catalog: Catalog;
  libraryBucket: string;
  config: PhotoScalerConfig;
  /** `validateConfig(config)`, resolved once per process. */
  presets: ResolvedPreset[];
  now?: () => Date;
  /** The CDN in front of the library: live sync invalidates the logical URLs it changes (none when absent). */
  cdn?: CdnCache;
  /**
   * Called by Resize once a photo's renditions are made, before they are stored. The local stack hands
   * the CPU slot the photo held to the next photo there: storing needs none, and holding it through
   * the writes left a core idle (npm run bench, `pipelineOverCore`). Absent on AWS: one photo per Lambda.
   */
  afterRender?: () => void;
}

export function nowIso(context: StepContext): string {
  return (context.now?.() ?? new Date()).toISOString();
}
