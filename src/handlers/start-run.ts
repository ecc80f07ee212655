/**
 * Auto-start (S3 ObjectCreated of `manifest.checksum` in the inventory bucket): checks the complete
 * report and starts the migrate state machine on it under a name derived from the report, so a
 * duplicate event finds the run already started. A report that fails its checks is refused (logged
 * and returned), not retried: retrying cannot mend it.
 */
import { makeSfnClient, sharedS3Client } from '../aws/clients';
import { S3ObjectStore } from '../aws/s3-store';
import { SfnRunStarter } from '../aws/sfn';
import { ConfigError } from '../core/errors';
import type { ManifestRef } from '../core/inventory/manifest';
import type { ObjectStore } from '../core/ports';
import { type RunStarter, type StartRunResult, startRun } from '../core/run-start';
import { objectEvents, type S3Event } from '../core/s3-events';
import { required } from './context';
import { makeLogger, type Telemetry } from './observe';

export interface StartRunEnvironment {
  store: ObjectStore;
  starter: RunStarter;
  sourceBucket: string;
}

export type StartRunOutcome = Omit<StartRunResult, 'report'> | { manifest: ManifestRef; refused: string };

export const makeStartRunHandler =
  (environment: () => StartRunEnvironment, telemetry: Telemetry = {}) =>
  async (event: S3Event): Promise<StartRunOutcome[]> => {
    const { store, starter, sourceBucket } = environment();
    const outcomes: StartRunOutcome[] = [];
    for (const object of objectEvents(event)) {
      if (object.kind !== 'created' || !object.key.endsWith('/manifest.checksum')) continue;
      const manifest = { bucket: object.bucket, key: object.key.replace(/manifest\.checksum$/, 'manifest.json') };
      try {
        const { report: _, ...started } = await startRun(store, starter, manifest, { expectedSourceBucket: sourceBucket, requireChecksum: true });
        makeLogger('startRun', telemetry, { manifest }).info(started.alreadyStarted ? 'run already started for this report' : 'run started', { executionArn: started.executionArn, name: started.name });
        outcomes.push(started);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        makeLogger('startRun', telemetry, { manifest }).error('inventory report refused', { reason: error.message });
        outcomes.push({ manifest, refused: error.message });
      }
    }
    return outcomes;
  };

let cached: StartRunEnvironment | undefined;
export function lambdaStartRunEnvironment(env: NodeJS.ProcessEnv = process.env): StartRunEnvironment {
  return (cached ??= {
    store: new S3ObjectStore(sharedS3Client()),
    starter: new SfnRunStarter(makeSfnClient(), required(env, 'STATE_MACHINE_ARN')),
    sourceBucket: required(env, 'SOURCE_BUCKET'),
  });
}

export const handler = makeStartRunHandler(lambdaStartRunEnvironment);
