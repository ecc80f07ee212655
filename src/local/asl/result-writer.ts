/**
 * The Distributed Map's ResultWriter, `arn:aws:states:::s3:putObject` into the ObjectStore, in the
 * layout Step Functions writes: `<Prefix>/<map run id>/manifest.json` listing the
 * `SUCCEEDED_0.json` / `FAILED_0.json` / `PENDING_0.json` files (only those with records), each a JSON
 * array of child execution records. Any failure is States.ResultWriterFailed.
 */
import type { ObjectStore } from '../../core/ports';
import { States, StatesError } from './errors';
import { applyTemplate } from './payload';
import type { ContextObject, ResultWriter } from './types';

export const S3_PUT_OBJECT = 'arn:aws:states:::s3:putObject';

/** One child execution as the result files list it (keys in AWS's alphabetical order when serialized). */
export interface ChildRecord {
  Cause?: string;
  Error?: string;
  ExecutionArn: string;
  Input: string;
  InputDetails: { Included: true };
  Name: string;
  Output?: string;
  OutputDetails?: { Included: true };
  RedriveCount: 0;
  RedriveStatus: 'NOT_REDRIVABLE';
  StartDate: string;
  StateMachineArn: string;
  Status: 'SUCCEEDED' | 'FAILED';
  StopDate: string;
}

/** A child that never started because the Map Run failed first. */
export interface PendingRecord {
  Input: string;
  InputDetails: { Included: true };
  Status: 'PENDING';
}

export interface MapRunResults {
  succeeded: ChildRecord[];
  failed: ChildRecord[];
  pending: PendingRecord[];
}

export interface ResultWriterDetails {
  Bucket: string;
  Key: string;
}

type Status = 'FAILED' | 'PENDING' | 'SUCCEEDED';

const sortedKeys = (record: object) => Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');

export async function writeResults(
  writer: ResultWriter,
  effective: unknown,
  context: ContextObject,
  store: ObjectStore,
  mapRun: { arn: string; id: string },
  results: MapRunResults,
): Promise<ResultWriterDetails> {
  const fail = (why: string) => new StatesError(States.ResultWriterFailed, why);
  if (writer.Resource !== S3_PUT_OBJECT) throw fail(`ResultWriter Resource ${writer.Resource} is not supported locally (only ${S3_PUT_OBJECT})`);
  const { Bucket, Prefix } = (applyTemplate(writer.Parameters ?? {}, effective, context) ?? {}) as { Bucket?: unknown; Prefix?: unknown };
  if (typeof Bucket !== 'string' || !Bucket) throw fail(`ResultWriter Parameters need a Bucket string (got ${JSON.stringify(Bucket)})`);
  if (Prefix !== undefined && typeof Prefix !== 'string') throw fail(`ResultWriter Prefix must be a string (got ${JSON.stringify(Prefix)})`);
  const base = Prefix ? `${Prefix.replace(/\/+$/, '')}/${mapRun.id}` : mapRun.id;
  const groups: Record<Status, object[]> = { FAILED: results.failed, PENDING: results.pending, SUCCEEDED: results.succeeded };
  const files: Record<Status, Array<{ Key: string; Size: number }>> = { FAILED: [], PENDING: [], SUCCEEDED: [] };
  const put = async (key: string, body: Uint8Array) => {
    try {
      await store.put({ bucket: Bucket, key }, body, { contentType: 'application/json' });
    } catch (error) {
      throw fail(`cannot write s3://${Bucket}/${key}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  for (const status of Object.keys(groups) as Status[]) {
    const records = groups[status];
    if (records.length === 0) continue;
    const key = `${base}/${status}_0.json`;
    const body = json(records.map(sortedKeys));
    await put(key, body);
    files[status].push({ Key: key, Size: body.byteLength });
  }
  const manifestKey = `${base}/manifest.json`;
  await put(manifestKey, json({ DestinationBucket: Bucket, MapRunArn: mapRun.arn, ResultFiles: files }));
  return { Bucket, Key: manifestKey };
}
