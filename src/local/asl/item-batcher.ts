/**
 * The Distributed Map's ItemBatcher: consecutive items grouped into child inputs
 * `{BatchInput?, Items: [...]}` of at most MaxItemsPerBatch items and MaxInputBytesPerBatch bytes
 * (of the child input's JSON, 256 KiB by default). An item bigger than the byte limit on its own
 * still gets a batch of its own. Without an ItemBatcher every item is a child input.
 */
import { States, StatesError } from './errors';
import { readPath } from './jsonpath';
import { applyTemplate } from './payload';
import type { ContextObject, ItemBatcher } from './types';

export const MAX_INPUT_BYTES = 256 * 1024;

export interface Batch {
  /** The child execution's input. */
  input: unknown;
  /** How many items it carries (failures are counted in items). */
  items: number;
}

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value) ?? 'null', 'utf8');

export function batchItems(items: readonly unknown[], batcher: ItemBatcher | undefined, effective: unknown, context: ContextObject): Batch[] {
  if (!batcher) return items.map((item) => ({ input: item, items: 1 }));
  const limit = (value: number | undefined, path: string | undefined, name: string, fallback: number): number => {
    const resolved = path !== undefined ? readPath(effective, path, context) : value;
    if (resolved === undefined) return fallback;
    if (typeof resolved !== 'number' || !Number.isInteger(resolved) || resolved < 0) throw new StatesError(States.Runtime, `${name} must be a non-negative integer (got ${JSON.stringify(resolved)})`);
    return resolved === 0 ? fallback : resolved;
  };
  const maxItems = limit(batcher.MaxItemsPerBatch, batcher.MaxItemsPerBatchPath, 'MaxItemsPerBatch', Number.POSITIVE_INFINITY);
  const maxBytes = limit(batcher.MaxInputBytesPerBatch, batcher.MaxInputBytesPerBatchPath, 'MaxInputBytesPerBatch', MAX_INPUT_BYTES);
  const batchInput = batcher.BatchInput !== undefined ? applyTemplate(batcher.BatchInput, effective, context) : undefined;
  const wrap = (group: unknown[]) => (batchInput === undefined ? { Items: group } : { BatchInput: batchInput, Items: group });
  // Bytes of `{…,"Items":[a,b,c]}` = bytes of `{…,"Items":[]}` + each item + the commas between them.
  const emptyBytes = jsonBytes(wrap([]));
  const batches: Batch[] = [];
  let group: unknown[] = [];
  let bytes = emptyBytes;
  for (const item of items) {
    const itemBytes = jsonBytes(item);
    const grown = bytes + itemBytes + (group.length > 0 ? 1 : 0);
    if (group.length > 0 && (group.length + 1 > maxItems || grown > maxBytes)) {
      batches.push({ input: wrap(group), items: group.length });
      group = [item];
      bytes = emptyBytes + itemBytes;
    } else {
      group.push(item);
      bytes = grown;
    }
  }
  if (group.length > 0) batches.push({ input: wrap(group), items: group.length });
  return batches;
}
