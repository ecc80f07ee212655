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
  const batches = new Batcher(batcher, effective, context);
  const out = items.flatMap((item) => batches.add(item) ?? []);
  const last = batches.flush();
  return last ? [...out, last] : out;
}

/** batchItems over items as they are read (the ItemReader's stream): one batch in memory at a time. */
export async function* streamBatches(items: AsyncIterable<unknown>, batcher: ItemBatcher | undefined, effective: unknown, context: ContextObject): AsyncGenerator<Batch> {
  const batches = new Batcher(batcher, effective, context);
  for await (const item of items) {
    const full = batches.add(item);
    if (full) yield full;
  }
  const last = batches.flush();
  if (last) yield last;
}

/** The grouping rule, one item at a time: add returns the batch an item closed (the one before it). */
class Batcher {
  private readonly maxItems: number;
  private readonly maxBytes: number;
  private readonly wrap: (group: unknown[]) => unknown;
  private readonly emptyBytes: number;
  private group: unknown[] = [];
  private bytes: number;

  constructor(private readonly batcher: ItemBatcher | undefined, effective: unknown, context: ContextObject) {
    const limit = (value: number | undefined, path: string | undefined, name: string, fallback: number): number => {
      const resolved = path !== undefined ? readPath(effective, path, context) : value;
      if (resolved === undefined) return fallback;
      if (typeof resolved !== 'number' || !Number.isInteger(resolved) || resolved < 0) throw new StatesError(States.Runtime, `${name} must be a non-negative integer (got ${JSON.stringify(resolved)})`);
      return resolved === 0 ? fallback : resolved;
    };
    this.maxItems = batcher ? limit(batcher.MaxItemsPerBatch, batcher.MaxItemsPerBatchPath, 'MaxItemsPerBatch', Number.POSITIVE_INFINITY) : 1;
    this.maxBytes = batcher ? limit(batcher.MaxInputBytesPerBatch, batcher.MaxInputBytesPerBatchPath, 'MaxInputBytesPerBatch', MAX_INPUT_BYTES) : Number.POSITIVE_INFINITY;
    const batchInput = batcher?.BatchInput !== undefined ? applyTemplate(batcher.BatchInput, effective, context) : undefined;
    this.wrap = (group: unknown[]) => (batchInput === undefined ? { Items: group } : { BatchInput: batchInput, Items: group });
    // Bytes of `{…,"Items":[a,b,c]}` = bytes of `{…,"Items":[]}` + each item + the commas between them.
    this.emptyBytes = batcher ? jsonBytes(this.wrap([])) : 0;
    this.bytes = this.emptyBytes;
  }

  add(item: unknown): Batch | undefined {
    // Without an ItemBatcher every item is a child input.
    if (!this.batcher) return { input: item, items: 1 };
    const itemBytes = jsonBytes(item);
    const grown = this.bytes + itemBytes + (this.group.length > 0 ? 1 : 0);
    if (this.group.length > 0 && (this.group.length + 1 > this.maxItems || grown > this.maxBytes)) {
      const full: Batch = { input: this.wrap(this.group), items: this.group.length };
      this.group = [item];
      this.bytes = this.emptyBytes + itemBytes;
      return full;
    }
    this.group.push(item);
    this.bytes = grown;
    return undefined;
  }

  flush(): Batch | undefined {
    if (this.group.length === 0) return undefined;
    const last: Batch = { input: this.wrap(this.group), items: this.group.length };
    this.group = [];
    this.bytes = this.emptyBytes;
    return last;
  }
}
