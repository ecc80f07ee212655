/**
 * Reads what a run's ResultWriter wrote (manifest.json + SUCCEEDED_n / FAILED_n / PENDING_n files,
 * the same on AWS and locally) and sums it up per photo.
 */
import type { ItemOutcome, ItemStatus, Written } from './item';
import { addWritten, NOTHING_WRITTEN } from './item';
import type { ObjectStore } from './ports';
import { decodeInventoryKey } from './inventory';

/** `photo-scaler run --json` prints exactly these fields first (users' scripts depend on them). */
export interface RunSummary {
  items: number;
  succeeded: number;
  failed: number;
  duplicates: number;
  assets: number;
  pointers: number;
  catalogRows: number;
  failures: Array<{ key: string; error: string }>;
  /** Extensions (never renames): */
  unchanged: number;
  resized: number;
}

export interface ResultWriterDetails {
  Bucket: string;
  Key: string;
}

interface ResultManifest {
  ResultFiles?: Partial<Record<'SUCCEEDED' | 'FAILED' | 'PENDING', Array<{ Key: string }>>>;
}

interface ChildResult {
  Input?: string;
  Output?: string;
  Error?: string;
  Cause?: string;
}

export async function readRunOutcomes(store: ObjectStore, details: ResultWriterDetails): Promise<ItemOutcome[]> {
  const manifest = await readJson<ResultManifest>(store, details.Bucket, details.Key);
  const outcomes: ItemOutcome[] = [];
  for (const file of manifest.ResultFiles?.SUCCEEDED ?? []) {
    for (const child of await readJson<ChildResult[]>(store, details.Bucket, file.Key)) {
      outcomes.push(...(JSON.parse(child.Output ?? '[]') as ItemOutcome[]));
    }
  }
  for (const [status, files] of [['FAILED', manifest.ResultFiles?.FAILED], ['PENDING', manifest.ResultFiles?.PENDING]] as const) {
    for (const file of files ?? []) {
      for (const child of await readJson<ChildResult[]>(store, details.Bucket, file.Key)) {
        const reason = status === 'PENDING' ? 'not processed: the run stopped first' : `${child.Error ?? 'Error'}: ${child.Cause ?? ''}`;
        outcomes.push(...batchItems(child).map((key): ItemOutcome => ({ key, status: 'failed', errorType: child.Error ?? status, error: reason, written: NOTHING_WRITTEN })));
      }
    }
  }
  return outcomes;
}

export function summarize(outcomes: readonly ItemOutcome[]): RunSummary {
  const count = (status: ItemStatus) => outcomes.filter((outcome) => outcome.status === status).length;
  const written: Written = outcomes.reduce((sum, outcome) => addWritten(sum, outcome.written ?? NOTHING_WRITTEN), NOTHING_WRITTEN);
  const failures = outcomes.filter((outcome) => outcome.status === 'failed').map((outcome) => ({ key: outcome.key, error: outcome.error ?? outcome.errorType ?? 'failed' }));
  return {
    items: outcomes.length,
    succeeded: outcomes.length - failures.length,
    failed: failures.length,
    duplicates: count('duplicate'),
    assets: written.assets,
    pointers: written.pointers,
    catalogRows: written.catalogRows,
    failures,
    unchanged: count('unchanged'),
    resized: count('resized'),
  };
}

function batchItems(child: ChildResult): string[] {
  try {
    const input = JSON.parse(child.Input ?? '{}') as { Items?: Array<{ key?: string }> };
    return (input.Items ?? []).map((item) => {
      try {
        return decodeInventoryKey(item.key ?? '');
      } catch {
        return item.key ?? '';
      }
    });
  } catch {
    return [];
  }
}

async function readJson<T>(store: ObjectStore, bucket: string, key: string): Promise<T> {
  const object = await store.get({ bucket, key });
  return JSON.parse(Buffer.from(object.body).toString('utf8')) as T;
}
