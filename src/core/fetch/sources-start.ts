/**
 * `photo-scaler start --sources s3://<bucket>/sources/<name>.csv` (issue 20): every row of the CSV is
 * checked (streamed: src/core/fetch/sources-csv.ts) before the sources state machine starts on it; a
 * bad row refuses the whole file, naming each bad line, and nothing starts. The execution's name is
 * derived from the CSV (its key and ETag): starting the same file twice starts one run.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../errors';
import type { ObjectRef, ObjectStore } from '../ports';
import type { RunStarter, StartedExecution } from '../run-start';
import { checkSourceRows } from './sources-csv';

/** Where the sources state machine's ItemReader may read sources CSVs: this prefix of the inventory bucket (serverless.yml). */
export const SOURCES_PREFIX = 'sources/';

export interface CheckedSources {
  rows: number;
  /** Rows that give a size: their bytes, summed. */
  declaredBytes: number;
  etag?: string;
}

/** Reads the whole CSV as a stream; throws ConfigError naming its bad rows (URLs redacted). */
export async function checkSources(store: ObjectStore, ref: ObjectRef): Promise<CheckedSources> {
  const at = `s3://${ref.bucket}/${ref.key}`;
  let stream;
  try {
    stream = await store.openRead(ref);
  } catch (error) {
    if ((error as Error).name === 'NotFoundError') throw new ConfigError(`${at} does not exist`);
    throw error;
  }
  let declaredBytes = 0;
  const rows = await checkSourceRows(stream.body, at, 'nothing started', (row) => (declaredBytes += row.size ?? 0));
  return { rows, declaredBytes, etag: stream.etag };
}

/** `sources-<16 hex>` of the CSV's location and ETag: the same file, the same run. */
export function sourcesExecutionName(ref: ObjectRef, etag = ''): string {
  return `sources-${createHash('sha256').update(`${ref.bucket}/${ref.key}#${etag}`).digest('hex').slice(0, 16)}`;
}

export interface StartSourcesResult extends StartedExecution {
  name: string;
  sources: ObjectRef;
  checked: CheckedSources;
}

export async function startSourcesRun(store: ObjectStore, starter: RunStarter, ref: ObjectRef, options: { name?: string } = {}): Promise<StartSourcesResult> {
  const checked = await checkSources(store, ref);
  const name = options.name ?? sourcesExecutionName(ref, checked.etag);
  const started = await starter.start(name, { sources: { bucket: ref.bucket, key: ref.key } });
  return { ...started, name, sources: ref, checked };
}
