import { ConditionalCheckFailedException, DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoCatalog } from '../../src/aws/dynamo-catalog';
import { TransientError } from '../../src/core/errors';
import type { CatalogRow } from '../../src/core/ports';

const doc = mockClient(DynamoDBDocumentClient);
const catalog = new DynamoCatalog(new DynamoDBClient({ region: 'us-east-1', maxAttempts: 1 }), 'catalog', { sleep: async () => {}, now: () => 1_000_000 });

const row = (sourceKey: string, preset: string): CatalogRow => ({
  sourceKey, preset, logicalKey: `${preset}/${sourceKey}`, assetKey: `assets/${preset}`, sha256: 'a'.repeat(64), sourceSha256: 'b'.repeat(64),
  width: 1, height: 1, bytes: 1, contentType: 'image/jpeg', sourceBucket: 's', sourceEtag: 'e', spec: 'x', runId: 'r', updatedAt: 't',
});

beforeEach(() => doc.reset());

describe('DynamoCatalog', () => {
  it('writes a photo’s rows in one BatchWriteItem, deleting its failure row in the same request', async () => {
    doc.on(BatchWriteCommand).resolves({});
    await catalog.putRows(['original', 'thumb', 'small', 'medium', 'large'].map((preset) => row('k.jpg', preset)));
    expect(doc.commandCalls(BatchWriteCommand)).toHaveLength(1);
    const requests = doc.commandCalls(BatchWriteCommand)[0]!.args[0].input.RequestItems!.catalog!;
    expect(requests.filter((r) => r.PutRequest)).toHaveLength(5);
    expect(requests.filter((r) => r.DeleteRequest)).toEqual([{ DeleteRequest: { Key: { sourceKey: 'k.jpg', preset: '#failure' } } }]);
  });

  it('drops content claims in the same batch', async () => {
    doc.on(BatchWriteCommand).resolves({});
    await catalog.putRows([row('k.jpg', 'original')], { releaseClaims: ['c'.repeat(64)] });
    const requests = doc.commandCalls(BatchWriteCommand)[0]!.args[0].input.RequestItems!.catalog!;
    expect(requests.map((r) => r.DeleteRequest?.Key).filter(Boolean)).toEqual([
      { sourceKey: 'k.jpg', preset: '#failure' },
      { sourceKey: `#claim/${'c'.repeat(64)}`, preset: '#claim' },
    ]);
  });

  it('splits into batches of 25 and sends unprocessed items again', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => row(`k${i}.jpg`, 'thumb'));
    let first = true;
    doc.on(BatchWriteCommand).callsFake((input) => {
      const items = input.RequestItems.catalog;
      if (first) {
        first = false;
        return { UnprocessedItems: { catalog: items.slice(0, 3) } };
      }
      return {};
    });
    await catalog.putRows(rows);
    const sizes = doc.commandCalls(BatchWriteCommand).map((call) => call.args[0].input.RequestItems!.catalog!.length);
    expect(sizes).toEqual([25, 3, 25, 10]);
  });

  it('gives up on items that stay unprocessed with TransientError', async () => {
    doc.on(BatchWriteCommand).callsFake((input) => ({ UnprocessedItems: input.RequestItems }));
    await expect(catalog.putRows([row('k.jpg', 'thumb')])).rejects.toThrow(TransientError);
    expect(doc.commandCalls(BatchWriteCommand)).toHaveLength(8);
  });

  it('reads a key’s rows with a paginated, consistent Query, leaving out failure and claim rows', async () => {
    doc.on(QueryCommand)
      .resolvesOnce({ Items: [row('k.jpg', 'original'), { sourceKey: 'k.jpg', preset: '#failure' }], LastEvaluatedKey: { sourceKey: 'k.jpg', preset: 'original' } })
      .resolvesOnce({ Items: [row('k.jpg', 'thumb')] });
    const rows = await catalog.rowsForKey('k.jpg');
    expect(rows.map((r) => r.preset)).toEqual(['original', 'thumb']);
    expect(doc.commandCalls(QueryCommand)[1]!.args[0].input).toMatchObject({ TableName: 'catalog', ConsistentRead: true, ExclusiveStartKey: { sourceKey: 'k.jpg', preset: 'original' } });
  });

  it('answers "which keys use this hash" from the bySha256 index', async () => {
    doc.on(QueryCommand).resolves({ Items: [{ sourceKey: 'a.jpg', preset: 'original', sha256: 'f' }] });
    expect(await catalog.keysForHash('f')).toEqual([{ sourceKey: 'a.jpg', preset: 'original' }]);
    expect(doc.commandCalls(QueryCommand)[0]!.args[0].input).toMatchObject({ IndexName: 'bySha256', ExpressionAttributeValues: { ':sha': 'f' } });
  });

  it('claims content with a conditional write; a live claim of another owner answers false', async () => {
    doc.on(PutCommand).resolvesOnce({}).rejectsOnce(new ConditionalCheckFailedException({ message: 'held', $metadata: {} }));
    expect(await catalog.claimContent('c'.repeat(64), 'a.jpg', 60_000)).toBe(true);
    expect(await catalog.claimContent('c'.repeat(64), 'b.jpg', 60_000)).toBe(false);
    const input = doc.commandCalls(PutCommand)[0]!.args[0].input;
    expect(input.Item).toEqual({ sourceKey: `#claim/${'c'.repeat(64)}`, preset: '#claim', owner: 'a.jpg', leaseUntil: 1_060_000, expiresAt: 1_060 + 86_400 });
    expect(input.ConditionExpression).toBe('attribute_not_exists(sourceKey) OR leaseUntil < :now OR #owner = :owner');
    expect(input.Item).not.toHaveProperty('sha256');
  });

  it('turns throttling into TransientError', async () => {
    doc.on(QueryCommand).rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: { httpStatusCode: 400 } }));
    await expect(catalog.rowsForKey('k.jpg')).rejects.toThrow(TransientError);
  });
});
