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
import { makeFindUnchangedHandler } from '../handlers/find-unchanged';
import type { BatchEvent, TriagedItem } from '../core/find-unchanged';
import { makeRecordFailureHandler } from '../handlers/record-failure';
import { makeResizeHandler } from '../handlers/resize';
import { type FetchEvent, makeFetchHandler, systemLookup } from '../handlers/fetch';
import { DEFAULT_FETCH_OPTIONS, type FetchedItem, type FetchOptions } from '../core/fetch/fetch';
import { derivedPrefixOf } from '../core/source';
import { InvalidationLog } from './cdn';
import { startEmulators } from './emulators';
import { FaultInjector, type FaultRates, NO_FAULTS } from './faults';
import { ExecutionAborted, type TaskInvocation } from './asl';
import { Slots } from '../core/slots';
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

export type LocalTasks = Record<'dedupe' | 'resize' | 'recordFailure', (event: ItemEvent) => Promise<ItemOutcome>> & {
  findUnchanged: (event: BatchEvent) => Promise<TriagedItem[]>;
  /** A sources run's Fetch (issue 20), into the emulated source bucket. */
  fetch: (event: FetchEvent) => Promise<FetchedItem>;
};

export interface LocalStack {
  dataDir: string;
  context: StepContext;
  store: S3ObjectStore;
  /** The raw clients, for listings and scans (the core needs none). */
  s3: S3Client;
  dynamo: DynamoDBClient;
  tasks: LocalTasks;
  /**
   * The Fetch step's options, read at each invocation: `run --sources` sets the allowlist (`--allow-host`);
   * empty, nothing is fetched (every row FAILED host-refused).
   */
  fetchOptions: FetchOptions;
  /** The ItemReader's and ResultWriter's store: Step Functions' own client, retrying longer. */
  stepFunctionsStore: S3ObjectStore;
  /** The store `run` uploads the photos with (the user's own upload, with its own retries). */
  uploadStore: S3ObjectStore;
  faults: FaultInjector;
  /** Retries the AWS SDK made on calls to the emulators (SlowDown, 500s, throttling absorbed there). */
  sdkRetries(): number;
  /** Lambda containers started so far. */
  containers(): number;
  /** The data dir's file system, when the local S3 found it full (writes then fail whole). */
  diskFull(): string | undefined;
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
  /** How many Dedupe invocations may run at once in this process (DEDUPE_CONCURRENCY unless told). */
  dedupeConcurrency?: number;
  /** Scales the AWS SDK's waits between retries, as `timeScale` scales the state machine's (tests). */
  sdkTimeScale?: number;
  /** The Fetch step's options (timeouts, tries, the allowlist) over DEFAULT_FETCH_OPTIONS (tests shorten them). */
  fetch?: Partial<FetchOptions>;
}

/**
 * Dedupe invocations at once on the local stack: two — one hashing while the other's read is on its
 * way. Measured (20 photos of ../shared/photos, runs of each setting alternating in one process): the
 * first Resize starts at ~60 ms of the execution instead of ~230 ms (every Dedupe at once ended
 * together); execution 1.44 -> 1.38 s (median of 8 each; 1 slot: 1.36, 3: 1.46).
 */
export const DEDUPE_CONCURRENCY = 2;

/** What Step Functions itself uses to read the inventory and write the results: its own client, retrying longer. */
const STEP_FUNCTIONS_ATTEMPTS = 10;

export async function openLocalStack(dataDir: string = DEFAULT_DATA_DIR, options: LocalStackOptions = {}): Promise<LocalStack> {
  const config = options.config ?? defaultConfig;
  const presets = validateConfig(config);
  const faults = new FaultInjector(options.faults ?? NO_FAULTS);
  let diskFull: string | undefined;
  const emulators = await startEmulators({
    faults: faults.active ? faults : undefined,
    dataDir,
    buckets: [LOCAL_NAMES.sourceBucket, LOCAL_NAMES.libraryBucket, LOCAL_NAMES.inventoryBucket],
    tableName: LOCAL_NAMES.catalogTable,
    onDiskFull: (path) => (diskFull ??= path),
    // The SDK's own backoff (100 ms base, 500 ms for throttling, full jitter, 20 s at most), scaled.
    retryDelayMs: options.sdkTimeScale === undefined ? undefined : (attempt) => Math.round(options.sdkTimeScale! * Math.random() * Math.min(20_000, 500 * 2 ** attempt)),
  });
  let sdkRetries = 0;
  const counted = <T extends { s3: S3Client; dynamo: DynamoDBClient }>(pair: T): T => {
    for (const client of [pair.s3, pair.dynamo]) countSdkRetries(client, (retries) => (sdkRetries += retries));
    return pair;
  };
  counted(emulators);
  const store = new S3ObjectStore(emulators.s3);
  const cdn = new InvalidationLog(cdnInvalidationLog(dataDir));
  const contextOn = (clients: { s3: S3Client; dynamo: DynamoDBClient }): StepContext => ({
    store: new S3ObjectStore(clients.s3),
    catalog: new DynamoCatalog(clients.dynamo, LOCAL_NAMES.catalogTable),
    libraryBucket: LOCAL_NAMES.libraryBucket,
    config,
    presets,
    cdn,
  });
  const context: StepContext = contextOn(emulators);
  const logs = await openLogFile(join(dataDir, LOG_FILE));
  const telemetry: Telemetry = { sink: logs.write };
  // Each Lambda container has its own SDK clients, so its own retry budget, as on AWS: one shared
  // pair would let a burst of faults spend every invocation's retries at once.
  const containers = new ContainerPool(() => {
    const clients = counted(emulators.newClients());
    const base = contextOn(clients);
    // The Lambdas see a store whose writes can crash them mid-item (when crashes are injected).
    const lambdaContext: StepContext = faults.rates.crash > 0 ? { ...base, store: faults.crashableStore(base.store) } : base;
    // The invocation this container runs (one at a time, as a Lambda container does): Resize's CPU slot.
    const current: { afterRender?: () => void } = {};
    return {
      current,
      findUnchanged: makeFindUnchangedHandler(() => lambdaContext, telemetry),
      dedupe: makeDedupeHandler(() => lambdaContext, telemetry),
      resize: makeResizeHandler(() => (current.afterRender ? { ...lambdaContext, afterRender: current.afterRender } : lambdaContext), telemetry),
      recordFailure: makeRecordFailureHandler(() => lambdaContext, telemetry),
    };
  });
  const recordFailure = faults.crashing((event: ItemEvent) => containers.invoke((handlers) => handlers.recordFailure(event)));
  /**
   * A step that waits for one of `slots` before it runs. Each invocation still has a container of its
   * own (as on AWS, where they all run at once); its TimeoutSeconds counts from when it gets its slot
   * (TaskHandler.queued), not from the wait, which Lambda does not have. `run` may give the slot back
   * before it ends (`giveBack`); it is given back when it ends at the latest.
   */
  type Handlers = Parameters<Parameters<typeof containers.invoke>[0]>[0];
  const inSlot = (slots: Slots, run: (handlers: Handlers, giveBack: () => void, event: ItemEvent) => Promise<ItemOutcome>) =>
    Object.assign(
      faults.crashing((event: ItemEvent, invocation?: TaskInvocation) =>
        containers.invoke(async (handlers) => {
          const release = await slots.take();
          if (invocation?.signal?.aborted) {
            release();
            throw new ExecutionAborted('stopped while waiting for a slot');
          }
          invocation?.started();
          let held = true;
          const giveBack = () => {
            if (held) release();
            held = false;
          };
          try {
            return await run(handlers, giveBack, event);
          } finally {
            giveBack();
          }
        }),
      ),
      { queued: true },
    );
  // Resize decodes a photo: at most this many at once on this machine. The slot is given back as
  // soon as the photo is rendered (StepContext.afterRender): its writes need no CPU slot.
  const resize = inSlot(new Slots(options.resizeConcurrency ?? Math.max(1, cpus().length)), async (handlers, giveBack, event) => {
    handlers.current.afterRender = giveBack;
    try {
      return await handlers.resize(event);
    } finally {
      handlers.current.afterRender = undefined;
    }
  });
  // Dedupe runs on this one thread (on AWS each has its own CPU): a whole batch of them at once would
  // share it and all end together, late, while no render can start — the renders wait for the first
  // Dedupe to end. A few at a time end one after another and keep the renders fed.
  const dedupe = inSlot(new Slots(options.dedupeConcurrency ?? DEDUPE_CONCURRENCY), (handlers, _giveBack, event) => handlers.dedupe(event));
  const findUnchanged = faults.crashing((event: BatchEvent) => containers.invoke((handlers) => handlers.findUnchanged(event)));
  // Fetch, as the fetch Lambda: its own clients (the source bucket is all it writes), the options of
  // the run (`--allow-host`) read at each invocation.
  const fetchOptions: FetchOptions = { ...DEFAULT_FETCH_OPTIONS, allowlist: [], lookup: systemLookup, ...options.fetch };
  const fetchStore = new S3ObjectStore(counted(emulators.newClients()).s3);
  const fetch = makeFetchHandler(
    () => ({
      store: fetchStore,
      uploads: fetchStore,
      sourceBucket: LOCAL_NAMES.sourceBucket,
      maxInputBytes: config.limits.maxInputBytes,
      presetNames: presets.map((preset) => preset.name),
      derivedPrefixBytes: derivedPrefixOf({ presets, config }),
      options: fetchOptions,
    }),
    telemetry,
  );
  const tasks: LocalTasks = { findUnchanged, dedupe, resize, recordFailure, fetch: (event) => fetch(event) };
  const stepFunctions = counted(emulators.newClients({ maxAttempts: STEP_FUNCTIONS_ATTEMPTS }));
  return {
    dataDir,
    context,
    store,
    s3: emulators.s3,
    dynamo: emulators.dynamo,
    tasks,
    fetchOptions,
    stepFunctionsStore: new S3ObjectStore(stepFunctions.s3),
    uploadStore: new S3ObjectStore(counted(emulators.newClients({ maxAttempts: STEP_FUNCTIONS_ATTEMPTS })).s3),
    faults,
    sdkRetries: () => sdkRetries,
    containers: () => containers.size,
    diskFull: () => diskFull,
    s3Endpoint: emulators.s3Endpoint,
    logFile: logs.path,
    telemetry,
    close: async () => {
      await emulators.close();
      await logs.close();
    },
  };
}

/** Warm Lambda containers: an invocation takes an idle one, or starts a new one. */
class ContainerPool<T> {
  private readonly idle: T[] = [];
  size = 0;

  constructor(private readonly start: () => T) {}

  async invoke<R>(work: (container: T) => Promise<R>): Promise<R> {
    const container = this.idle.pop() ?? this.create();
    try {
      return await work(container);
    } finally {
      this.idle.push(container);
    }
  }

  private create(): T {
    this.size++;
    return this.start();
  }
}

/** Where the local CDN cache port records invalidations for `serve`'s CDN view (src/local/cdn.ts) to apply. */
export function cdnInvalidationLog(dataDir: string): string {
  return join(dataDir, 'cdn', 'invalidations.ndjson');
}

export function dataPath(dataDir: string, ...parts: string[]): string {
  return join(dataDir, ...parts);
}
