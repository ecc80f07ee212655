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

/** Records a result file holds at most: memory holds one file's worth per status while the Map Run goes on. */
export const RECORDS_PER_FILE = 100;

/**
 * The ResultWriter, streaming: child records are written as the Map Run goes, `<status>_<n>.json`
 * once a status has RECORDS_PER_FILE of them (each file in item order), the rest and manifest.json
 * at the end — so a run's memory does not grow with its number of items. The manifest lists every
 * file of a status, as Step Functions' does. Parameters are checked, and any failure (a refused
 * write) thrown as States.ResultWriterFailed, at `finish()`, after the children have run.
 */
export class ResultSink {
  private readonly buffers: Record<Status, Array<{ index: number; record: object }>> = { FAILED: [], PENDING: [], SUCCEEDED: [] };
  private readonly files: Record<Status, Array<{ Key: string; Size: number }>> = { FAILED: [], PENDING: [], SUCCEEDED: [] };
  private readonly counts: Record<Status, number> = { FAILED: 0, PENDING: 0, SUCCEEDED: 0 };
  private readonly target: { bucket: string; base: string } | StatesError;
  private failure?: StatesError;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    writer: ResultWriter,
    effective: unknown,
    context: ContextObject,
    private readonly store: ObjectStore,
    private readonly mapRun: { arn: string; id: string },
    private readonly perFile = RECORDS_PER_FILE,
  ) {
    this.target = targetOf(writer, effective, context, mapRun.id);
  }

  /** Child records of each status so far. */
  count(status: Status): number {
    return this.counts[status];
  }

  /** One child's record; `index` is its batch's place in the items (files keep that order). */
  add(status: Status, index: number, record: object): void {
    this.counts[status]++;
    if (this.target instanceof StatesError || this.failure) return;
    const buffer = this.buffers[status];
    buffer.push({ index, record });
    if (buffer.length >= this.perFile) this.flush(status);
  }

  async finish(): Promise<ResultWriterDetails> {
    if (this.target instanceof StatesError) throw this.target;
    for (const status of STATUSES) if (this.buffers[status].length > 0) this.flush(status);
    await this.writing;
    if (this.failure) throw this.failure;
    const manifestKey = `${this.target.base}/manifest.json`;
    await this.put(manifestKey, json({ DestinationBucket: this.target.bucket, MapRunArn: this.mapRun.arn, ResultFiles: this.files }));
    if (this.failure) throw this.failure;
    return { Bucket: this.target.bucket, Key: manifestKey };
  }

  private flush(status: Status): void {
    const target = this.target as { bucket: string; base: string };
    const records = this.buffers[status].splice(0).sort((a, b) => a.index - b.index).map((entry) => sortedKeys(entry.record));
    const entry = { Key: `${target.base}/${status}_${this.files[status].length}.json`, Size: 0 };
    this.files[status].push(entry);
    const body = json(records);
    entry.Size = body.byteLength;
    this.writing = this.writing.then(() => this.put(entry.Key, body));
  }

  private async put(key: string, body: Uint8Array): Promise<void> {
    if (this.failure) return;
    const { bucket } = this.target as { bucket: string };
    try {
      await this.store.put({ bucket, key }, body, { contentType: 'application/json' });
    } catch (error) {
      this.failure ??= new StatesError(States.ResultWriterFailed, `cannot write s3://${bucket}/${key}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

const STATUSES: readonly Status[] = ['FAILED', 'PENDING', 'SUCCEEDED'];

function targetOf(writer: ResultWriter, effective: unknown, context: ContextObject, mapRunId: string): { bucket: string; base: string } | StatesError {
  const fail = (why: string) => new StatesError(States.ResultWriterFailed, why);
  if (writer.Resource !== S3_PUT_OBJECT) return fail(`ResultWriter Resource ${writer.Resource} is not supported locally (only ${S3_PUT_OBJECT})`);
  let parameters: { Bucket?: unknown; Prefix?: unknown };
  try {
    parameters = (applyTemplate(writer.Parameters ?? {}, effective, context) ?? {}) as { Bucket?: unknown; Prefix?: unknown };
  } catch (error) {
    if (error instanceof StatesError) return error;
    throw error;
  }
  const { Bucket, Prefix } = parameters;
  if (typeof Bucket !== 'string' || !Bucket) return fail(`ResultWriter Parameters need a Bucket string (got ${JSON.stringify(Bucket)})`);
  if (Prefix !== undefined && typeof Prefix !== 'string') return fail(`ResultWriter Prefix must be a string (got ${JSON.stringify(Prefix)})`);
  return { bucket: Bucket, base: Prefix ? `${Prefix.replace(/\/+$/, '')}/${mapRunId}` : mapRunId };
}
