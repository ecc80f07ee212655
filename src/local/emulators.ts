/**
 * S3 (s3rver) and DynamoDB (dynalite) emulators in this process, on 127.0.0.1 ephemeral ports, with
 * their data under the data dir. The buckets and the catalog table are created when missing.
 */
import { mkdir } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CreateTableCommand, type DynamoDBClient, ResourceInUseException, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import dynalite from 'dynalite';
import { catalogTableSchema } from '../aws/catalog-schema';
import { makeDynamoClient, makeS3Client } from '../aws/clients';
import { type FaultInjector, gateServer } from './faults';

export interface Emulators {
  s3Endpoint: string;
  dynamoEndpoint: string;
  s3: S3Client;
  dynamo: DynamoDBClient;
  close(): Promise<void>;
}

export interface EmulatorOptions {
  dataDir: string;
  buckets: string[];
  tableName: string;
  /** Injects S3 and DynamoDB errors into the emulators' answers. */
  faults?: FaultInjector;
}

const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export async function startEmulators(options: EmulatorOptions): Promise<Emulators> {
  const s3Dir = join(options.dataDir, 's3');
  const dynamoDir = join(options.dataDir, 'dynamodb');
  await mkdir(s3Dir, { recursive: true });
  await mkdir(dynamoDir, { recursive: true });

  const s3rver = new S3rver({ port: 0, address: '127.0.0.1', directory: s3Dir, silent: true });
  const { port: s3Port } = await s3rver.run();
  const dynamoServer = dynalite({ path: dynamoDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  try {
    await new Promise<void>((resolve, reject) => {
      dynamoServer.once('error', reject);
      dynamoServer.listen(0, '127.0.0.1', resolve);
    });
  } catch (error) {
    await s3rver.close();
    throw error;
  }
  const dynamoPort = (dynamoServer.address() as AddressInfo).port;
  const faults = options.faults;
  gateServer(s3rver.httpServer, async (request, response) => faults?.s3Gate(request, response) || (await refuseExistingObject(s3rver, request, response)));
  if (faults) gateServer(dynamoServer, (request, response) => faults.dynamoGate(request, response));

  const s3Endpoint = `http://127.0.0.1:${s3Port}`;
  const dynamoEndpoint = `http://127.0.0.1:${dynamoPort}`;
  const s3 = makeS3Client({ endpoint: s3Endpoint, credentials: CREDENTIALS });
  const dynamo = makeDynamoClient({ endpoint: dynamoEndpoint, credentials: CREDENTIALS });
  const close = async () => {
    s3.destroy();
    dynamo.destroy();
    await s3rver.close();
    await new Promise<void>((resolve) => {
      dynamoServer.close(() => resolve());
      dynamoServer.closeAllConnections();
    });
  };
  try {
    for (const bucket of options.buckets) await createBucket(s3, bucket);
    await createTable(dynamo, options.tableName);
  } catch (error) {
    await close();
    throw error;
  }
  return { s3Endpoint, dynamoEndpoint, s3, dynamo, close };
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

async function createBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
  }
}

async function createTable(dynamo: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await dynamo.send(new CreateTableCommand({ TableName: tableName, ...structuredClone(catalogTableSchema) } as never));
  } catch (error) {
    if (!(error instanceof ResourceInUseException) && (error as { name?: string }).name !== 'ResourceInUseException') throw error;
  }
  await waitUntilTableExists({ client: dynamo, maxWaitTime: 30, minDelay: 1, maxDelay: 1 }, { TableName: tableName });
}
