/**
 * The embedded default: S3 and DynamoDB emulators in this process, the real AWS adapters pointed at
 * them, and the same handlers the Lambdas run. Data persists under the data dir.
 */
import { cpus } from 'node:os';
import type { S3Client } from '@aws-sdk/client-s3';
import { join } from 'node:path';
import { countSdkRetries } from '../aws/clients';
import { DynamoCatalog } from '../aws/dynamo-catalog';
import { S3ObjectStore } from '../aws/s3-store';
import { config as defaultConfig } from '../config';
import type { StepContext } from '../core/context';
import type { ItemEvent, ItemOutcome } from '../core/item';
import { type PhotoScalerConfig, validateConfig } from '../core/presets';
import { makeDedupeHandler } from '../handlers/dedupe';
import { makeRecordFailureHandler } from '../handlers/record-failure';
import { makeResizeHandler } from '../handlers/resize';
import { InvalidationLog } from './cdn';
import { startEmulators } from './emulators';
import { FaultInjector, type FaultRates, NO_FAULTS } from './faults';
import { limitConcurrency } from './limit';
import { LOG_FILE, openLogFile } from './logs';
import type { Telemetry } from '../handlers/observe';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** Local names of what serverless.yml creates (and of the source bucket the user already has). */
export const LOCAL_NAMES = {
  sourceBucket: 'photo-scaler-source',
  libraryBucket: 'photo-scaler-library',
  inventoryBucket: 'photo-scaler-inventory',
  catalogTable: 'photo-scaler-catalog',
} as const;

export const DEFAULT_DATA_DIR = '.photo-scaler';

export type LocalTasks = Record<'dedupe' | 'resize' | 'recordFailure', (event: ItemEvent) => Promise<ItemOutcome>>;

export interface LocalStack {
  dataDir: string;
  context: StepContext;
  store: S3ObjectStore;
  /** The raw clients, for listings and scans (the core needs none). */
  s3: S3Client;
  dynamo: DynamoDBClient;
  tasks: LocalTasks;
  faults: FaultInjector;
  /** Retries the AWS SDK made on calls to the emulators (SlowDown, 500s, throttling absorbed there). */
  sdkRetries(): number;
  s3Endpoint: string;
  /** The handlers' structured logs and EMF metrics, one JSON object per line (what CloudWatch Logs would hold). */
  logFile: string;
  /** What the handlers log and measure into logFile (for handlers built outside the stack: sync, serve). */
  telemetry: Telemetry;
  close(): Promise<void>;
}

export interface LocalStackOptions {
  config?: PhotoScalerConfig;
  /** Fault injection (S3 SlowDown/500, DynamoDB throttling, crashing Lambdas); none by default. */
  faults?: FaultRates;
  /**
   * Like a Lambda function's reserved concurrency: how many Resize invocations may run at once in
   * this process (each decodes a photo; unbounded they would only fight for the same cores and RAM).
   */
  resizeConcurrency?: number;
}

export async function openLocalStack(dataDir: string = DEFAULT_DATA_DIR, options: LocalStackOptions = {}): Promise<LocalStack> {
  const config = options.config ?? defaultConfig;
  const presets = validateConfig(config);
  const faults = new FaultInjector(options.faults ?? NO_FAULTS);
  const emulators = await startEmulators({
    faults: faults.active ? faults : undefined,
    dataDir,
    buckets: [LOCAL_NAMES.sourceBucket, LOCAL_NAMES.libraryBucket, LOCAL_NAMES.inventoryBucket],
    tableName: LOCAL_NAMES.catalogTable,
  });
  let sdkRetries = 0;
  for (const client of [emulators.s3, emulators.dynamo]) countSdkRetries(client, (retries) => (sdkRetries += retries));
  const store = new S3ObjectStore(emulators.s3);
  const context: StepContext = {
    store,
    catalog: new DynamoCatalog(emulators.dynamo, LOCAL_NAMES.catalogTable),
    libraryBucket: LOCAL_NAMES.libraryBucket,
    config,
    presets,
    cdn: new InvalidationLog(cdnInvalidationLog(dataDir)),
  };
  // The Lambdas see a store whose writes can crash them mid-item (when crashes are injected).
  const lambdaContext: StepContext = faults.rates.crash > 0 ? { ...context, store: faults.crashableStore(store) } : context;
  const handlerContext = () => lambdaContext;
  const logs = await openLogFile(join(dataDir, LOG_FILE));
  const telemetry: Telemetry = { sink: logs.write };
  const tasks: LocalTasks = {
    dedupe: faults.crashing(makeDedupeHandler(handlerContext, telemetry)),
    resize: limitConcurrency(faults.crashing(makeResizeHandler(handlerContext, telemetry)), options.resizeConcurrency ?? Math.max(1, cpus().length)),
    recordFailure: faults.crashing(makeRecordFailureHandler(handlerContext, telemetry)),
  };
  return {
    dataDir,
    context,
    store,
    s3: emulators.s3,
    dynamo: emulators.dynamo,
    tasks,
    faults,
    sdkRetries: () => sdkRetries,
    s3Endpoint: emulators.s3Endpoint,
    logFile: logs.path,
    telemetry,
    close: async () => {
      await emulators.close();
      await logs.close();
    },
  };
}

/** Where the local CDN cache port records invalidations for `serve`'s CDN view (src/local/cdn.ts) to apply. */
export function cdnInvalidationLog(dataDir: string): string {
  return join(dataDir, 'cdn', 'invalidations.ndjson');
}

export function dataPath(dataDir: string, ...parts: string[]): string {
  return join(dataDir, ...parts);
}
