/**
 * The Distributed Map's ItemReader, `arn:aws:states:::s3:getObject` from the ObjectStore:
 * - InputType MANIFEST: an S3 Inventory report (manifest.json, manifest.checksum beside it when
 *   present, every listed csv.gz) — one item per row, `{Bucket, Key, Size, …}` as strings, all of it
 *   checked before the first item runs (src/core/inventory/). Streamed: the items are an iterable the
 *   Distributed Map reads twice, once through to count and check them, then to run them, so a report
 *   of millions of rows is never held in memory;
 * - InputType JSON: an object holding a JSON array;
 * - InputType CSV: one item per row, keyed by the header (FIRST_ROW, or GIVEN CSVHeaders).
 * ReaderConfig.MaxItems / MaxItemsPath cap the items. Any failure is States.ItemReaderFailed.
 */
import { parseCsv } from '../../core/inventory/data-files';
import type { InventoryRow } from '../../core/inventory/data-files';
import { readManifest, streamInventoryReport } from '../../core/inventory/read';
import type { ObjectStore } from '../../core/ports';
import { States, StatesError } from './errors';
import { readPath } from './jsonpath';
import { applyTemplate } from './payload';
import type { ContextObject, ItemReader } from './types';

export const S3_GET_OBJECT = 'arn:aws:states:::s3:getObject';
export const READER_INPUT_TYPES: readonly string[] = ['MANIFEST', 'JSON', 'CSV'];

/** What the ItemReader hands out: `read()` reads the items (again) from the start, MaxItems applied. */
export interface ReaderItems {
  read(): AsyncIterable<unknown>;
}

export async function readItems(reader: ItemReader, effective: unknown, context: ContextObject, store: ObjectStore): Promise<ReaderItems> {
  const fail = (why: string) => new StatesError(States.ItemReaderFailed, why);
  if (reader.Resource !== S3_GET_OBJECT) throw fail(`ItemReader Resource ${reader.Resource} is not supported locally (only ${S3_GET_OBJECT})`);
  const { Bucket, Key } = (applyTemplate(reader.Parameters ?? {}, effective, context) ?? {}) as { Bucket?: unknown; Key?: unknown };
  if (typeof Bucket !== 'string' || !Bucket || typeof Key !== 'string' || !Key) throw fail(`ItemReader Parameters need Bucket and Key strings (got ${JSON.stringify({ Bucket, Key })})`);
  const config = reader.ReaderConfig ?? {};
  const maxItems = config.MaxItemsPath !== undefined ? readPath(effective, config.MaxItemsPath, context) : config.MaxItems;
  if (maxItems !== undefined && (typeof maxItems !== 'number' || !Number.isInteger(maxItems) || maxItems < 0)) throw fail(`MaxItems must be a non-negative integer (got ${JSON.stringify(maxItems)})`);
  const wrap = (error: unknown) => (error instanceof StatesError ? error : fail(`s3://${Bucket}/${Key}: ${error instanceof Error ? error.message : String(error)}`));
  let items: unknown[] | (() => AsyncIterable<unknown>);
  try {
    items = await readByType(config, store, Bucket, Key);
  } catch (error) {
    throw wrap(error);
  }
  // MaxItems 0 means no limit.
  const limit = maxItems || Number.POSITIVE_INFINITY;
  if (Array.isArray(items)) {
    const capped = maxItems ? items.slice(0, maxItems) : items;
    return { read: () => toAsync(capped) };
  }
  const rows = items;
  return {
    async *read() {
      if (limit === 0) return;
      let count = 0;
      try {
        for await (const row of rows()) {
          yield row;
          if (++count >= limit) return;
        }
      } catch (error) {
        throw wrap(error);
      }
    },
  };
}

async function* toAsync<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

async function readByType(config: NonNullable<ItemReader['ReaderConfig']>, store: ObjectStore, bucket: string, key: string): Promise<unknown[] | (() => AsyncIterable<unknown>)> {
  const text = async () => Buffer.from((await store.get({ bucket, key })).body).toString('utf8');
  switch (config.InputType) {
    case 'MANIFEST': {
      const ref = { bucket, key };
      const parsed = await readManifest(store, ref);
      return async function* rows(): AsyncGenerator<InventoryRow> {
        for await (const group of streamInventoryReport(store, ref, parsed)) yield* group;
      };
    }
    case 'JSON': {
      const value = JSON.parse(await text()) as unknown;
      if (!Array.isArray(value)) throw new Error(`the object holds ${value === null ? 'null' : typeof value}, not a JSON array`);
      return value;
    }
    case 'CSV':
      return csvItems(await text(), key, config);
    default:
      throw new StatesError(States.ItemReaderFailed, `ReaderConfig.InputType ${JSON.stringify(config.InputType)} is not supported locally (${READER_INPUT_TYPES.join(', ')})`);
  }
}

function csvItems(text: string, name: string, config: NonNullable<ItemReader['ReaderConfig']>): Array<Record<string, string>> {
  const rows = parseCsv(text, name);
  const header = config.CSVHeaderLocation === 'GIVEN' ? (config.CSVHeaders ?? []) : (rows.shift() ?? []);
  if (header.length === 0) throw new Error('the CSV has no header');
  return rows.map((fields, index) => {
    if (fields.length !== header.length) throw new Error(`row ${index + 1} has ${fields.length} fields, the header ${header.length}`);
    return Object.fromEntries(header.map((column, i) => [column, fields[i]!]));
  });
}
