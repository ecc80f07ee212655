/** The Catalog port on DynamoDB (and on dynalite locally: same code, other endpoint). */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { TransientError } from '../core/errors';
import { type Catalog, type CatalogRow, FAILURE, type FailureRow, type HashUse } from '../core/ports';
import { BY_SHA256_INDEX } from './catalog-schema';
import { guard } from './transient';

const BATCH_LIMIT = 25;
const CLAIM = '#claim';

type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

export interface DynamoCatalogOptions {
  /** Attempts for a batch whose items come back unprocessed (throttled). */
  batchAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export class DynamoCatalog implements Catalog {
  private readonly doc: DynamoDBDocumentClient;
  private readonly batchAttempts: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(client: DynamoDBClient, private readonly table: string, options: DynamoCatalogOptions = {}) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    this.batchAttempts = options.batchAttempts ?? 8;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
  }

  async rowsForKey(sourceKey: string): Promise<CatalogRow[]> {
    const items = await this.query({ KeyConditionExpression: 'sourceKey = :key', ExpressionAttributeValues: { ':key': sourceKey }, ConsistentRead: true });
    return items.filter((item) => !String(item.preset).startsWith("#")) as unknown as CatalogRow[];
  }

  async keysForHash(sha256: string): Promise<HashUse[]> {
    const items = await this.query({ IndexName: BY_SHA256_INDEX, KeyConditionExpression: 'sha256 = :sha', ExpressionAttributeValues: { ':sha': sha256 } });
    return items.map((item) => ({ sourceKey: String(item.sourceKey), preset: String(item.preset) }));
  }

  async putRows(rows: CatalogRow[], options: { releaseClaims?: string[] } = {}): Promise<void> {
    const unique = new Map(rows.map((row) => [`${row.sourceKey}\u0000${row.preset}`, row]));
    const requests: WriteRequest[] = [...unique.values()].map((row) => ({ PutRequest: { Item: { ...row } } }));
    for (const sourceKey of new Set(rows.map((row) => row.sourceKey))) {
      requests.push({ DeleteRequest: { Key: { sourceKey, preset: FAILURE } } });
    }
    // Unconditional (a batch cannot carry conditions): if our lease had expired and another worker
    // took the claim over, dropping it only lets a third render the same bytes again, harmlessly.
    for (const sha256 of new Set(options.releaseClaims ?? [])) {
      requests.push({ DeleteRequest: { Key: { sourceKey: claimKey(sha256), preset: CLAIM } } });
    }
    for (let start = 0; start < requests.length; start += BATCH_LIMIT) {
      await this.batchWrite(requests.slice(start, start + BATCH_LIMIT));
    }
  }

  async recordFailure(row: FailureRow): Promise<void> {
    await guard(`PutItem failure ${row.sourceKey}`, () => this.doc.send(new PutCommand({ TableName: this.table, Item: { ...row, preset: FAILURE } })));
  }

  async failureFor(sourceKey: string): Promise<FailureRow | undefined> {
    const response = await guard(`GetItem failure ${sourceKey}`, () =>
      this.doc.send(new GetCommand({ TableName: this.table, Key: { sourceKey, preset: FAILURE }, ConsistentRead: true })),
    );
    return response.Item as FailureRow | undefined;
  }

  async claimContent(sha256: string, owner: string, leaseMs: number): Promise<boolean> {
    const now = this.now();
    try {
      await guard(`claim ${sha256}`, () =>
        this.doc.send(
          new PutCommand({
            TableName: this.table,
            // No `sha256` attribute: claims stay out of the bySha256 index.
            Item: { sourceKey: claimKey(sha256), preset: CLAIM, owner, leaseUntil: now + leaseMs, expiresAt: Math.ceil((now + leaseMs) / 1000) + 86_400 },
            ConditionExpression: 'attribute_not_exists(sourceKey) OR leaseUntil < :now OR #owner = :owner',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: { ':now': now, ':owner': owner },
          }),
        ),
      );
      return true;
    } catch (error) {
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  private async query(input: Omit<QueryCommandInput, 'TableName'>): Promise<Array<Record<string, unknown>>> {
    const items: Array<Record<string, unknown>> = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await guard(`Query ${this.table}`, () => this.doc.send(new QueryCommand({ TableName: this.table, ...input, ExclusiveStartKey: start })));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /** One BatchWriteItem; items DynamoDB leaves unprocessed (throttling) are sent again with backoff. */
  private async batchWrite(requests: WriteRequest[]): Promise<void> {
    let pending = requests;
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > this.batchAttempts) {
        throw new TransientError(`BatchWriteItem ${this.table}: ${pending.length} items still unprocessed after ${this.batchAttempts} attempts`);
      }
      if (attempt > 1) await this.sleep(Math.random() * Math.min(2000, 50 * 2 ** attempt));
      const response = await guard(`BatchWriteItem ${this.table}`, () => this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } })));
      pending = response.UnprocessedItems?.[this.table] ?? [];
    }
  }
}

function claimKey(sha256: string): string {
  return `${CLAIM}/${sha256}`;
}
