/**
 * S3 (s3rver) and DynamoDB (dynalite) emulators in this process, on 127.0.0.1 ephemeral ports, with
 * their data under the data dir (kept across restarts) or in memory. The buckets and the catalog
 * table are created when missing.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { type CreateTableCommandInput, CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import dynalite from 'dynalite';
import { catalogTableSchema } from '../aws/catalog-schema';
import { makeDynamoClient, makeS3Client } from '../aws/clients';
import { decodeUrlPath } from '../core/cdn';
import { type FaultInjector, gateServer } from './faults';
import { InProcessHandler } from './in-process';
import { ListObjectsV2Answer } from './list-objects';
import { ObjectAnswer } from './object-answer';
import { type DiskFullListener, ObjectFileStore } from './object-files';

export interface Emulators {
  s3Endpoint: string;
  dynamoEndpoint: string;
  /** Requests answered by object-answer.ts rather than s3rver (a test counts them). */
  objectAnswers(): number;
  /** Clients pointed at the emulators (destroyed by close()). */
  s3: S3Client;
  dynamo: DynamoDBClient;
  /**
   * A new pair of clients pointed at the emulators, with their own retry budget — as each Lambda
   * container has its own (destroyed by close()).
   */
  newClients(options?: { maxAttempts?: number }): { s3: S3Client; dynamo: DynamoDBClient };
  /** Stops both emulators and closes their stores; idempotent. */
  close(): Promise<void>;
}

interface CommonOptions {
  buckets: string[];
  tableName: string;
  /** s3rver's request log off (default true). */
  silent?: boolean;
  /** Injects S3 and DynamoDB errors into the emulators' answers. */
  faults?: FaultInjector;
  /** Told when the local S3 meets a full disk (the write fails whole; nothing partial is left). */
  onDiskFull?: DiskFullListener;
  /** The SDK clients' wait before each retry, scaled (tests); the SDK's own backoff when absent. */
  retryDelayMs?: (attempt: number) => number;
}

/** Either a data dir (`<dataDir>/s3`, `<dataDir>/dynamodb`, kept across restarts) or in memory. */
export type EmulatorOptions = CommonOptions & ({ dataDir: string; inMemory?: false } | { inMemory: true; dataDir?: undefined });

/** Any keys do: the emulators accept every signature. */
export const EMULATOR_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const EMULATOR_REGION = 'us-east-1';
const TABLE_ACTIVE_TIMEOUT_MS = 30_000;

export async function startEmulators(options: EmulatorOptions): Promise<Emulators> {
  const cleanups: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    // Last started, first stopped; every step runs even when one fails.
    const errors: unknown[] = [];
    for (const step of cleanups.splice(0).reverse()) await step().catch((error: unknown) => errors.push(error));
    if (errors.length > 0) throw errors[0];
  };
  try {
    // s3rver always needs a directory: "in memory" is a temp dir removed on close().
    const s3Dir = options.inMemory ? await mkdtemp(join(tmpdir(), 'photo-scaler-s3-')) : join(options.dataDir, 's3');
    if (options.inMemory) cleanups.push(() => rm(s3Dir, { recursive: true, force: true }));
    else await mkdir(s3Dir, { recursive: true });
    const dynamoDir = options.inMemory ? undefined : join(options.dataDir, 'dynamodb');
    if (dynamoDir) {
      await mkdir(dynamoDir, { recursive: true });
      await assertLevelDbFree(dynamoDir);
    }

    const s3rver = new S3rver({
      port: 0,
      address: '127.0.0.1',
      directory: s3Dir,
      silent: options.silent ?? true,
      // Created at run() when missing (an existing bucket and its objects are kept).
      configureBuckets: options.buckets.map((name) => ({ name })),
    });
    // Objects atomic, any key S3 takes (src/local/object-files.ts) instead of s3rver's own files.
    const fullDisk = new FullDiskGate(options.onDiskFull);
    const store = new ObjectFileStore(s3Dir, (path) => fullDisk.met(path));
    s3rver.store = (s3rver as unknown as { context: { store: unknown } }).context.store = store;
    const { port: s3Port } = await s3rver.run();
    cleanups.push(() => closeServer(s3rver.httpServer));
    for (const bucket of options.buckets) await store.convertLegacy(bucket);

    closeFinishedIterators();
    // dynalite without `path` keeps its LevelDB in memory.
    const dynamoServer = dynalite({ ...(dynamoDir ? { path: dynamoDir } : {}), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await listen(dynamoServer);
    cleanups.push(() => closeServer(dynamoServer));
    const dynamoPort = (dynamoServer.address() as AddressInfo).port;

    const faults = options.faults;
    const listings = new ListObjectsV2Answer(store);
    const objects = new ObjectAnswer(store);
    gateServer(
      s3rver.httpServer,
      async (request, response) =>
        refuseLongKey(request, response) ||
        fullDisk.refuse(request, response) ||
        faults?.s3Gate(request, response) ||
        (await refuseExistingObject(s3rver, request, response)) ||
        (await listings.answer(request, response)) ||
        (await objects.answer(request, response)),
    );
    if (faults) gateServer(dynamoServer, (request, response) => faults.dynamoGate(request, response));

    const s3Endpoint = `http://127.0.0.1:${s3Port}`;
    const dynamoEndpoint = `http://127.0.0.1:${dynamoPort}`;
    const made: Array<{ destroy(): void }> = [];
    // In process by default (src/local/in-process.ts); PHOTO_SCALER_EMULATOR_TRANSPORT=http keeps sockets.
    const inProcess = process.env.PHOTO_SCALER_EMULATOR_TRANSPORT !== 'http';
    const s3Handler = inProcess ? new InProcessHandler(s3rver.httpServer) : undefined;
    const dynamoHandler = inProcess ? new InProcessHandler(dynamoServer) : undefined;
    const newClients = (extra: { maxAttempts?: number } = {}) => {
      const pair = {
        s3: makeS3Client({ endpoint: s3Endpoint, region: EMULATOR_REGION, credentials: EMULATOR_CREDENTIALS, retryDelayMs: options.retryDelayMs, requestHandler: s3Handler, ...extra }),
        dynamo: makeDynamoClient({ endpoint: dynamoEndpoint, region: EMULATOR_REGION, credentials: EMULATOR_CREDENTIALS, retryDelayMs: options.retryDelayMs, requestHandler: dynamoHandler, ...extra }),
      };
      made.push(pair.s3, pair.dynamo);
      return pair;
    };
    const { s3, dynamo } = newClients();
    cleanups.push(async () => {
      for (const client of made.splice(0)) client.destroy();
    });

    await createTable(dynamo, options.tableName);
    let closing: Promise<void> | undefined;
    return { s3Endpoint, dynamoEndpoint, objectAnswers: () => objects.answered, s3, dynamo, newClients, close: () => (closing ??= cleanup()) };
  } catch (error) {
    await cleanup().catch(() => {});
    throw error;
  }
}

interface LevelDb {
  open(): Promise<void>;
  close(): Promise<void>;
}

/**
 * dynalite opens its LevelDB lazily and, when that fails (the data dir is held by another emulator,
 * in this process or another), throws "Database is closed" from a callback on the first request,
 * which kills the process. Opening the store once beforehand turns that into a clear error here.
 * `level` is dynalite's own dependency, so it is resolved from dynalite's location.
 */
async function assertLevelDbFree(path: string): Promise<void> {
  const fromHere = createRequire(import.meta.url);
  const { Level } = createRequire(fromHere.resolve('dynalite'))('level') as { Level: new (path: string) => LevelDb };
  const db = new Level(path);
  try {
    await db.open();
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code === 'LEVEL_LOCKED' ? 'in use by another emulator (another photo-scaler process?)' : (cause?.message ?? String(error));
    throw new Error(`cannot open the DynamoDB emulator's data in ${path}: ${reason}`, { cause: error });
  }
  await db.close();
}

interface LevelIterator {
  next(): Promise<unknown>;
  close(): Promise<void>;
  return?: () => Promise<void>;
}

const ITERATORS_CLOSED = Symbol.for('photo-scaler.iterators-closed');

/**
 * dynalite reads LevelDB through iterators it never closes: it reads one to its end (`next()` gives
 * undefined: abstract-level leaves the iterator open until close()) or stops early and calls
 * `iterator.return()`, which abstract-level iterators do not have. Each Query and Scan thus left an
 * open LevelDB iterator (and its native read buffers and pinned tables) behind: memory grew with
 * every photo of a run (~30 KB a query). Patched here on dynalite's own copy of `level`: an iterator
 * closes itself at its end, and `return()` closes it.
 */
function closeFinishedIterators(): void {
  const fromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
  type Patchable = { prototype: Record<string | symbol, unknown> };
  const { Level } = fromDynalite('level') as { Level: Patchable };
  const { MemoryLevel } = fromDynalite('memory-level') as { MemoryLevel: Patchable };
  for (const proto of [Level.prototype, MemoryLevel.prototype]) closeIteratorsOf(proto);
}

function closeIteratorsOf(proto: Record<string | symbol, unknown>): void {
  if (Object.hasOwn(proto, ITERATORS_CLOSED)) return;
  proto[ITERATORS_CLOSED] = true;
  for (const method of ['iterator', 'keys', 'values']) {
    const original = proto[method] as (...args: unknown[]) => LevelIterator;
    proto[method] = function (this: unknown, ...args: unknown[]): LevelIterator {
      const iterator = original.apply(this, args);
      const next = iterator.next.bind(iterator);
      iterator.next = async () => {
        const item = await next();
        if (item === undefined) await iterator.close();
        return item;
      };
      iterator.return = () => iterator.close();
      return iterator;
    };
  }
}

function listen(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Stops accepting, drops kept-alive connections (else close() waits for them) and waits. */
function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // dynalite's close() also closes its LevelDB (releasing the LOCK of its data dir).
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

/**
 * S3 honours `If-None-Match: *` on PutObject (412 when the key exists); s3rver ignores it. This gate
 * makes the emulator behave like S3, so conditional writes are exercised locally too.
 */
async function refuseExistingObject(s3rver: S3rver, request: IncomingMessage, response: ServerResponse): Promise<boolean> {
  if (request.method !== 'PUT' || request.headers['if-none-match'] !== '*') return false;
  const url = new URL(request.url ?? '/', 'http://local');
  if (url.searchParams.has('uploadId') || url.searchParams.has('partNumber')) return false;
  const [bucket = '', ...rest] = url.pathname.slice(1).split('/');
  const key = decodeURIComponent(rest.join('/'));
  if (!key || !(await s3rver.store.existsObject(decodeURIComponent(bucket), key))) return false;
  request.resume();
  request.once('end', () => {
    response.writeHead(412, { 'Content-Type': 'application/xml' });
    response.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-None-Match</Condition></Error>');
  });
  return true;
}

/**
 * Once a write met a full disk, writes are refused at once for a second (then the disk is tried
 * again: space may have been freed) with 507 Insufficient Storage (RFC 4918), a 5xx the SDK does not
 * retry (only 500, 502, 503 and 504 are transient to it: @smithy/core's service-error-classification),
 * so a full disk stops a run in moments instead of after every client's backoff. S3 itself never fills
 * up: this answer exists only locally.
 */
class FullDiskGate {
  private until = 0;
  constructor(private readonly listener: DiskFullListener = () => {}) {}

  met(path: string): void {
    this.until = Date.now() + 1000;
    this.listener(path);
  }

  refuse(request: IncomingMessage, response: ServerResponse): boolean {
    if ((request.method !== 'PUT' && request.method !== 'POST') || Date.now() >= this.until) return false;
    request.resume();
    request.once('end', () => {
      response.writeHead(507, { 'Content-Type': 'application/xml' });
      response.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>InsufficientStorage</Code><Message>The disk holding the local S3 is full</Message></Error>');
    });
    return true;
  }
}

/** S3 keys are at most 1,024 bytes of UTF-8 (S3 User Guide, "Naming Amazon S3 objects"); S3 answers a longer one 400 KeyTooLongError. */
export const MAX_KEY_BYTES = 1024;

function refuseLongKey(request: IncomingMessage, response: ServerResponse): boolean {
  const url = new URL(request.url ?? '/', 'http://local');
  const [, ...rest] = url.pathname.slice(1).split('/');
  const key = decodeUrlPath(rest.join('/'));
  if (key === undefined) return false;
  if (Buffer.byteLength(key, 'utf8') <= MAX_KEY_BYTES) return false;
  request.resume();
  request.once('end', () => {
    response.writeHead(400, { 'Content-Type': 'application/xml' });
    response.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>KeyTooLongError</Code><Message>Your key is too long</Message><Size>${Buffer.byteLength(key, 'utf8')}</Size><MaxSizeAllowed>${MAX_KEY_BYTES}</MaxSizeAllowed></Error>`);
  });
  return true;
}

/** The catalog table as catalogTableSchema declares it (mutable copies of its readonly arrays). */
export function catalogTableInput(tableName: string): CreateTableCommandInput {
  const schema = catalogTableSchema;
  return {
    TableName: tableName,
    BillingMode: schema.BillingMode,
    AttributeDefinitions: schema.AttributeDefinitions.map((definition) => ({ ...definition })),
    KeySchema: schema.KeySchema.map((element) => ({ ...element })),
    GlobalSecondaryIndexes: schema.GlobalSecondaryIndexes.map((index) => ({
      IndexName: index.IndexName,
      KeySchema: index.KeySchema.map((element) => ({ ...element })),
      Projection: { ProjectionType: index.Projection.ProjectionType, NonKeyAttributes: [...index.Projection.NonKeyAttributes] },
    })),
  };
}

async function createTable(dynamo: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await dynamo.send(new CreateTableCommand(catalogTableInput(tableName)));
  } catch (error) {
    if ((error as { name?: string }).name !== 'ResourceInUseException') throw error;
  }
  // ACTIVE table and ACTIVE indexes (immediate with createTableMs: 0, but a real wait elsewhere).
  const deadline = Date.now() + TABLE_ACTIVE_TIMEOUT_MS;
  for (;;) {
    const { Table: table } = await dynamo.send(new DescribeTableCommand({ TableName: tableName }));
    const indexes = table?.GlobalSecondaryIndexes ?? [];
    if (table?.TableStatus === 'ACTIVE' && indexes.every((index) => index.IndexStatus === 'ACTIVE')) return;
    if (Date.now() > deadline) throw new Error(`table ${tableName} not ACTIVE after ${TABLE_ACTIVE_TIMEOUT_MS} ms (${table?.TableStatus})`);
    await delay(50);
  }
}
