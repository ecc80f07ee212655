/** The Catalog port on DynamoDB (and on dynalite locally: same code, other endpoint). */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  type BatchWriteCommandInput,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  type QueryCommandInput,
  paginateQuery,
} from '@aws-sdk/lib-dynamodb';
import { readFailureRow } from '../core/catalog-rows';
import { TransientError } from '../core/errors';
import { CLAIM, FAILURE, isImageRow } from '../core/layout';
import type { Catalog, CatalogRow, FailureRow, HashUse, PutRowsOptions } from '../core/ports';
import { BY_SHA256_INDEX, CATALOG_PARTITION_KEY, CATALOG_SORT_KEY } from './catalog-schema';
import { guard } from './transient';

/** BatchWriteItem's limit of requests per call. */
export const BATCH_LIMIT = 25;
/**
 * BatchGetItem's limit of keys per call: "as many as 100 items" (more is a ValidationException), and
 * no key twice in one call (DynamoDB API Reference, "BatchGetItem").
 */
export const BATCH_GET_LIMIT = 100;


type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

/** Attribute names go through placeholders: some (`owner`, `key`…) are DynamoDB reserved words. */
const NAMES = { '#pk': CATALOG_PARTITION_KEY, '#sk': CATALOG_SORT_KEY } as const;

export interface DynamoCatalogOptions {
  /** Attempts for a batch whose items come back unprocessed (throttled) before TransientError. */
  batchAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
}

export class DynamoCatalog implements Catalog {
  private readonly doc: DynamoDBDocumentClient;
  private readonly batchAttempts: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly random: () => number;

  /** `client`: a DynamoDBClient (wrapped here) or a DynamoDBDocumentClient used as it is. */
  constructor(client: DynamoDBClient | DynamoDBDocumentClient, private readonly table: string, options: DynamoCatalogOptions = {}) {
    this.doc =
      client instanceof DynamoDBDocumentClient
        ? client
        : DynamoDBDocumentClient.from(client as DynamoDBClient, { marshallOptions: { removeUndefinedValues: true } });
    this.batchAttempts = options.batchAttempts ?? 8;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  async rowsForKey(sourceKey: string): Promise<CatalogRow[]> {
    const items = await this.query(`Query ${this.table} ${sourceKey}`, {
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': NAMES['#pk'] },
      ExpressionAttributeValues: { ':pk': sourceKey },
      ConsistentRead: true,
    });
    // The key's failure row shares its partition (src/core/layout.ts, rowKind).
    return items.filter((item) => isImageRow(String(item[CATALOG_SORT_KEY]))) as unknown as CatalogRow[];
  }

  async rowsForKeys(sourceKeys: readonly string[], kinds: readonly string[]): Promise<Map<string, CatalogRow[]>> {
    const keys = [...new Set(sourceKeys)].flatMap((sourceKey) => [...new Set(kinds)].filter(isImageRow).map((preset) => ({ sourceKey, preset })));
    const found = new Map<string, CatalogRow[]>();
    for (let start = 0; start < keys.length; start += BATCH_GET_LIMIT) {
      for (const item of await this.batchGet(keys.slice(start, start + BATCH_GET_LIMIT))) {
        const row = item as unknown as CatalogRow;
        found.set(row.sourceKey, [...(found.get(row.sourceKey) ?? []), row]);
      }
    }
    return found;
  }

  async keysForHash(sha256: string): Promise<HashUse[]> {
    const items = await this.query(`Query ${this.table}/${BY_SHA256_INDEX} ${sha256}`, {
      IndexName: BY_SHA256_INDEX,
      KeyConditionExpression: '#sha = :sha',
      ProjectionExpression: '#pk, #sk',
      ExpressionAttributeNames: { '#sha': 'sha256', ...NAMES },
      ExpressionAttributeValues: { ':sha': sha256 },
    });
    return items.map((item) => ({ sourceKey: String(item[CATALOG_PARTITION_KEY]), preset: String(item[CATALOG_SORT_KEY]) }));
  }

  async putRows(rows: CatalogRow[], options: PutRowsOptions = {}): Promise<void> {
    // One request per item: BatchWriteItem refuses two requests on the same key.
    const unique = new Map(rows.map((row) => [`${row.sourceKey}\u0000${row.preset}`, row]));
    const requests: WriteRequest[] = [...unique.values()].map((row) => ({ PutRequest: { Item: { ...row } } }));
    for (const sourceKey of options.replaceFailure ? new Set(rows.map((row) => row.sourceKey)) : []) {
      requests.push({ DeleteRequest: { Key: { sourceKey, preset: FAILURE } } });
    }
    // Unconditional (a batch cannot carry conditions): if our lease had expired and another worker
    // took the claim over, dropping it only lets a third render the same bytes again, harmlessly.
    for (const sha256 of new Set(options.releaseClaims ?? [])) {
      requests.push({ DeleteRequest: { Key: { sourceKey: claimKey(sha256), preset: CLAIM } } });
    }
    await this.writeAll(requests);
  }

  async deleteRows(sourceKey: string, presets: readonly string[]): Promise<void> {
    const requests: WriteRequest[] = [...new Set(presets)].map((preset) => ({ DeleteRequest: { Key: { sourceKey, preset } } }));
    await this.writeAll(requests);
  }

  async recordFailure(row: FailureRow): Promise<void> {
    await guard(`PutItem ${this.table} ${row.sourceKey} ${FAILURE}`, () =>
      this.doc.send(new PutCommand({ TableName: this.table, Item: { ...row, preset: FAILURE } })),
    );
  }

  async failureFor(sourceKey: string): Promise<FailureRow | undefined> {
    const response = await guard(`GetItem ${this.table} ${sourceKey} ${FAILURE}`, () =>
      this.doc.send(new GetCommand({ TableName: this.table, Key: { sourceKey, preset: FAILURE }, ConsistentRead: true })),
    );
    return response.Item ? readFailureRow(response.Item) : undefined;
  }

  async claimContent(sha256: string, owner: string, leaseMs: number): Promise<boolean> {
    const now = this.now();
    const leaseUntil = now + leaseMs;
    try {
      await guard(`PutItem ${this.table} ${claimKey(sha256)}`, () =>
        this.doc.send(
          new PutCommand({
            TableName: this.table,
            // No `sha256` attribute: claims stay out of the bySha256 index. `expiresAt` lets the
            // table's TTL sweep claims that were never released (a day after their lease).
            Item: { sourceKey: claimKey(sha256), preset: CLAIM, owner, leaseUntil, expiresAt: Math.ceil(leaseUntil / 1000) + 86_400 },
            ConditionExpression: 'attribute_not_exists(sourceKey) OR leaseUntil < :now OR #owner = :owner',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: { ':now': now, ':owner': owner },
          }),
        ),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  /**
   * Drops `owner`'s claim on this content (not part of the port: putRows' `releaseClaims` does it in
   * the rows' batch). A claim that is gone or was taken over by another owner is left alone.
   */
  async releaseContent(sha256: string, owner: string): Promise<void> {
    try {
      await guard(`DeleteItem ${this.table} ${claimKey(sha256)}`, () =>
        this.doc.send(
          new DeleteCommand({
            TableName: this.table,
            Key: { sourceKey: claimKey(sha256), preset: CLAIM },
            ConditionExpression: '#owner = :owner',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: { ':owner': owner },
          }),
        ),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }

  /** Every page of a Query: the SDK's paginator follows LastEvaluatedKey; each page is guarded. */
  private async query(what: string, input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>): Promise<Array<Record<string, unknown>>> {
    const items: Array<Record<string, unknown>> = [];
    const pages = paginateQuery({ client: this.doc }, { TableName: this.table, ...input })[Symbol.asyncIterator]();
    for (;;) {
      const page = await guard(what, () => pages.next());
      if (page.done) return items;
      items.push(...(page.value.Items ?? []));
    }
  }

  /**
   * One BatchGetItem (strongly consistent, as rowsForKey's Query); keys it leaves unprocessed (a
   * partial result: throttling, 16 MB) are asked again (API Reference, "BatchGetItem").
   */
  private async batchGet(keys: Array<Record<string, string>>): Promise<Array<Record<string, unknown>>> {
    const items: Array<Record<string, unknown>> = [];
    await this.untilProcessed('BatchGetItem', 'keys', keys, async (pending) => {
      const response = await this.doc.send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending, ConsistentRead: true } } }));
      items.push(...(response.Responses?.[this.table] ?? []));
      return (response.UnprocessedKeys?.[this.table]?.Keys ?? []) as Array<Record<string, string>>;
    });
    return items;
  }

  /**
   * Every request, BATCH_LIMIT per BatchWriteItem — a lone put (an on-demand size's row) as a PutItem:
   * the same write (without a condition, PutItem "creates a new item, or replaces an old item with a new
   * item", DynamoDB API Reference, "PutItem"), with no UnprocessedItems to ask again ("BatchWriteItem"),
   * and a lighter request to serve (dynalite: ~0.3 ms of CPU a call less in a warm loop).
   */
  private async writeAll(requests: WriteRequest[]): Promise<void> {
    const lone = requests.length === 1 ? requests[0]!.PutRequest?.Item : undefined;
    if (lone) {
      await guard(`PutItem ${this.table} ${String(lone[CATALOG_PARTITION_KEY])} ${String(lone[CATALOG_SORT_KEY])}`, () => this.doc.send(new PutCommand({ TableName: this.table, Item: lone })));
      return;
    }
    for (let start = 0; start < requests.length; start += BATCH_LIMIT) {
      await this.batchWrite(requests.slice(start, start + BATCH_LIMIT));
    }
  }

  /** One BatchWriteItem; items DynamoDB leaves unprocessed (throttling) are sent again. */
  private async batchWrite(requests: WriteRequest[]): Promise<void> {
    await this.untilProcessed('BatchWriteItem', 'items', requests, async (pending) => {
      const response = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } }));
      return response.UnprocessedItems?.[this.table] ?? [];
    });
  }

  /**
   * A batch request sent again for what DynamoDB left unprocessed, with exponential backoff and full
   * jitter (0–100 ms, 0–200 ms, … capped at 2 s), until nothing is left; after `batchAttempts`, what
   * is still left is a TransientError. `send` answers the part left unprocessed.
   */
  private async untilProcessed<T>(operation: string, unit: string, all: T[], send: (pending: T[]) => Promise<T[]>): Promise<void> {
    let pending = all;
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > this.batchAttempts) {
        throw new TransientError(`${operation} ${this.table}: ${pending.length} of ${all.length} ${unit} still unprocessed after ${this.batchAttempts} attempts`);
      }
      if (attempt > 1) await this.sleep(this.random() * Math.min(2_000, 50 * 2 ** (attempt - 1)));
      const sent = pending;
      pending = await guard(`${operation} ${this.table}`, () => send(sent));
    }
  }
}

function claimKey(sha256: string): string {
  return `${CLAIM}/${sha256}`;
}

function isConditionFailed(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException;
}
