import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  DynamoDBServiceException,
  InternalServerError,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
} from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoCatalog } from '../../src/aws/dynamo-catalog';
import { TransientError } from '../../src/core/errors';
import type { CatalogRow, FailureRow } from '../../src/core/ports';

const doc = mockClient(DynamoDBDocumentClient);
const sleeps: number[] = [];
const catalog = new DynamoCatalog(new DynamoDBClient({ region: 'us-east-1', maxAttempts: 1 }), 'catalog', {
  sleep: async (ms) => {
    sleeps.push(ms);
  },
  now: () => 1_000_000,
  random: () => 1,
});
const sha = 'c'.repeat(64);

const row = (sourceKey: string, preset: string): CatalogRow => ({
  sourceKey, preset, logicalKey: `${preset}/${sourceKey}`, assetKey: `assets/${preset}`, sha256: 'a'.repeat(64), sourceSha256: 'b'.repeat(64),
  width: 1, height: 1, bytes: 1, contentType: 'image/jpeg', sourceBucket: 's', sourceEtag: 'e', spec: 'x', runId: 'r', updatedAt: 't',
});
const failure: FailureRow = {
  sourceKey: 'k.jpg', preset: '#failure', sourceBucket: 's', sourceEtag: 'e', errorType: 'PhotoError', error: 'cannot decode', reason: 'corrupt', runId: 'r', updatedAt: 't',
};
const batches = () => doc.commandCalls(BatchWriteCommand).map((call) => call.args[0].input.RequestItems!.catalog!);

beforeEach(() => {
  doc.reset();
  sleeps.length = 0;
});

describe('DynamoCatalog.putRows', () => {
  it('writes a photo’s rows (its batch outcome) in one BatchWriteItem, deleting its failure row in the same request', async () => {
    doc.on(BatchWriteCommand).resolves({});
    const rows = ['original', 'thumb', 'small', 'medium', 'large'].map((preset) => row('k.jpg', preset));
    await catalog.putRows(rows, { replaceFailure: true });
    expect(doc.commandCalls(BatchWriteCommand)).toHaveLength(1);
    expect(doc.commandCalls(BatchWriteCommand)[0]!.args[0].input).toEqual({
      RequestItems: {
        catalog: [...rows.map((item) => ({ PutRequest: { Item: item } })), { DeleteRequest: { Key: { sourceKey: 'k.jpg', preset: '#failure' } } }],
      },
    });
  });

  it('leaves the failure row alone when the rows are not the photo\'s batch outcome (an on-demand size): its one row is a PutItem', async () => {
    doc.on(PutCommand).resolves({});
    await catalog.putRows([row('k.jpg', 'dynamic/100x100')]);
    expect(batches()).toEqual([]);
    expect(doc.commandCalls(PutCommand).map((call) => call.args[0].input)).toEqual([{ TableName: 'catalog', Item: row('k.jpg', 'dynamic/100x100') }]);
  });

  it('writes one row with a deletion (a batch outcome) in one BatchWriteItem, never a lone PutItem', async () => {
    doc.on(BatchWriteCommand).resolves({});
    await catalog.putRows([row('k.jpg', 'original')], { replaceFailure: true });
    expect(doc.commandCalls(PutCommand)).toEqual([]);
    expect(batches()[0]!.map((r) => Object.keys(r)[0])).toEqual(['PutRequest', 'DeleteRequest']);
  });

  it('drops content claims in the same batch', async () => {
    doc.on(BatchWriteCommand).resolves({});
    await catalog.putRows([row('k.jpg', 'original')], { replaceFailure: true, releaseClaims: [sha, sha] });
    expect(batches()[0]!.map((r) => r.DeleteRequest?.Key).filter(Boolean)).toEqual([
      { sourceKey: 'k.jpg', preset: '#failure' },
      { sourceKey: `#claim/${sha}`, preset: '#claim' },
    ]);
  });

  it('sends one request per item (BatchWriteItem refuses duplicate keys): the last row wins', async () => {
    doc.on(BatchWriteCommand).resolves({});
    await catalog.putRows([row('k.jpg', 'thumb'), { ...row('k.jpg', 'thumb'), runId: 'later' }, row('k.jpg', 'small')], { replaceFailure: true });
    const puts = batches()[0]!.filter((r) => r.PutRequest).map((r) => r.PutRequest!.Item);
    expect(puts.map((item) => [item?.preset, item?.runId])).toEqual([['thumb', 'later'], ['small', 'r']]);
    expect(batches()[0]!.filter((r) => r.DeleteRequest)).toHaveLength(1);
  });

  it('sends nothing for no rows', async () => {
    await catalog.putRows([]);
    expect(doc.commandCalls(BatchWriteCommand)).toHaveLength(0);
  });

  it('splits into batches of 25 (rows, then one failure delete per distinct key) and sends unprocessed items again', async () => {
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
    await catalog.putRows(rows, { replaceFailure: true });
    expect(batches().map((batch) => batch.length)).toEqual([25, 3, 25, 10]);
    expect(batches()[1]).toEqual(batches()[0]!.slice(0, 3));
    const all = [batches()[0]!, batches()[2]!, batches()[3]!].flat();
    expect(all.filter((r) => r.PutRequest)).toHaveLength(30);
    expect(all.filter((r) => r.DeleteRequest).map((r) => r.DeleteRequest!.Key!.sourceKey)).toEqual(rows.map((r) => r.sourceKey));
    expect(sleeps).toEqual([100]);
  });

  it('backs off exponentially (capped) and gives up on items that stay unprocessed with TransientError', async () => {
    doc.on(BatchWriteCommand).callsFake((input) => ({ UnprocessedItems: input.RequestItems }));
    await expect(catalog.putRows([row('k.jpg', 'thumb')], { replaceFailure: true })).rejects.toThrow(new TransientError('BatchWriteItem catalog: 2 of 2 items still unprocessed after 8 attempts'));
    expect(doc.commandCalls(BatchWriteCommand)).toHaveLength(8);
    expect(sleeps).toEqual([100, 200, 400, 800, 1600, 2000, 2000]);
  });

  it('turns a throttled BatchWriteItem or PutItem into TransientError', async () => {
    const throttled = new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: { httpStatusCode: 400 } });
    doc.on(BatchWriteCommand).rejects(throttled);
    doc.on(PutCommand).rejects(throttled);
    await expect(catalog.putRows([row('k.jpg', 'thumb'), row('k.jpg', 'small')])).rejects.toThrow('BatchWriteItem catalog: ProvisionedThroughputExceededException: slow down');
    await expect(catalog.putRows([row('k.jpg', 'thumb')])).rejects.toThrow('PutItem catalog k.jpg thumb: ProvisionedThroughputExceededException: slow down');
  });
});

describe('DynamoCatalog.rowsForKeys', () => {
  const gets = () => doc.commandCalls(BatchGetCommand).map((call) => call.args[0].input.RequestItems!.catalog!);

  it('asks each (key, kind) once, at most 100 keys per strongly consistent BatchGetItem, and asks unprocessed keys again', async () => {
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}.jpg`);
    const kinds = ['original', 'thumb', 'small', 'medium', 'large', 'large'];
    let first = true;
    doc.on(BatchGetCommand).callsFake((input) => {
      const asked = input.RequestItems.catalog.Keys as Array<{ sourceKey: string; preset: string }>;
      // The first answer is partial (DynamoDB API Reference, "BatchGetItem": UnprocessedKeys).
      const answered = first ? asked.slice(0, 90) : asked;
      const unprocessed = first ? { catalog: { ...input.RequestItems.catalog, Keys: asked.slice(90) } } : {};
      first = false;
      return { Responses: { catalog: answered.filter((key) => key.sourceKey !== 'k3.jpg').map((key) => row(key.sourceKey, key.preset)) }, UnprocessedKeys: unprocessed };
    });
    const found = await catalog.rowsForKeys([...keys, 'k0.jpg'], kinds);
    expect(gets().map((request) => request.Keys!.length)).toEqual([100, 10]);
    expect(gets().every((request) => request.ConsistentRead === true)).toBe(true);
    expect(gets()[1]!.Keys).toEqual(gets()[0]!.Keys!.slice(90));
    expect(sleeps).toEqual([100]);
    expect(found.size).toBe(19);
    expect(found.has('k3.jpg')).toBe(false);
    expect(found.get('k7.jpg')!.map((r) => r.preset).sort()).toEqual(['large', 'medium', 'original', 'small', 'thumb']);
  });

  it('never asks for failure or claim rows, and gives up on keys that stay unprocessed with TransientError', async () => {
    doc.on(BatchGetCommand).callsFake((input) => ({ Responses: { catalog: [] }, UnprocessedKeys: input.RequestItems }));
    await expect(catalog.rowsForKeys(['k.jpg'], ['original', '#failure', '#claim'])).rejects.toThrow(new TransientError('BatchGetItem catalog: 1 of 1 keys still unprocessed after 8 attempts'));
    expect(gets()[0]!.Keys).toEqual([{ sourceKey: 'k.jpg', preset: 'original' }]);
  });
});

describe('DynamoCatalog.deleteRows', () => {
  it('deletes the named rows of a key (each preset once), 25 per BatchWriteItem', async () => {
    doc.on(BatchWriteCommand).resolves({});
    const presets = Array.from({ length: 30 }, (_, i) => `p${i}`);
    await catalog.deleteRows('set/a b.jpg', [...presets, 'p0', '#failure']);
    const sent = batches();
    expect(sent.map((batch) => batch.length)).toEqual([25, 6]);
    expect(sent.flat()[0]).toEqual({ DeleteRequest: { Key: { sourceKey: 'set/a b.jpg', preset: 'p0' } } });
    expect(sent.flat().at(-1)).toEqual({ DeleteRequest: { Key: { sourceKey: 'set/a b.jpg', preset: '#failure' } } });
  });
});

describe('DynamoCatalog reads', () => {
  /** Answers Query with these pages in turn, keeping each input as it was sent (the SDK's paginator reuses one input object). */
  function queryPages(...pages: Array<Record<string, unknown>>): Array<Record<string, any>> {
    const inputs: Array<Record<string, any>> = [];
    doc.on(QueryCommand).callsFake((input) => {
      inputs.push(structuredClone(input));
      return pages.shift();
    });
    return inputs;
  }

  it('reads a key’s rows with a paginated, consistent Query, leaving out failure rows', async () => {
    const inputs = queryPages(
      { Items: [row('k.jpg', 'original'), { sourceKey: 'k.jpg', preset: '#failure' }], LastEvaluatedKey: { sourceKey: 'k.jpg', preset: 'original' } },
      { Items: [row('k.jpg', 'thumb')] },
    );
    const rows = await catalog.rowsForKey('k.jpg');
    expect(rows).toEqual([row('k.jpg', 'original'), row('k.jpg', 'thumb')]);
    expect(inputs).toHaveLength(2);
    expect(inputs[0]).toEqual({
      TableName: 'catalog',
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': 'sourceKey' },
      ExpressionAttributeValues: { ':pk': 'k.jpg' },
      ConsistentRead: true,
      ExclusiveStartKey: undefined,
    });
    expect(inputs[1]).toMatchObject({ ExclusiveStartKey: { sourceKey: 'k.jpg', preset: 'original' } });
  });

  it('answers "which keys use this hash" from the bySha256 index, across pages', async () => {
    const inputs = queryPages(
      { Items: [{ sourceKey: 'a.jpg', preset: 'original' }], LastEvaluatedKey: { sha256: 'f', sourceKey: 'a.jpg', preset: 'original' } },
      { Items: [{ sourceKey: 'b.jpg', preset: 'thumb' }] },
    );
    expect(await catalog.keysForHash('f')).toEqual([
      { sourceKey: 'a.jpg', preset: 'original' },
      { sourceKey: 'b.jpg', preset: 'thumb' },
    ]);
    expect(inputs).toHaveLength(2);
    expect(inputs[0]).toEqual({
      TableName: 'catalog',
      IndexName: 'bySha256',
      KeyConditionExpression: '#sha = :sha',
      ProjectionExpression: '#pk, #sk',
      ExpressionAttributeNames: { '#sha': 'sha256', '#pk': 'sourceKey', '#sk': 'preset' },
      ExpressionAttributeValues: { ':sha': 'f' },
      ExclusiveStartKey: undefined,
    });
    expect(inputs[0]).not.toHaveProperty('ConsistentRead'); // a GSI cannot read consistently
    expect(inputs[1]!.ExclusiveStartKey).toEqual({ sha256: 'f', sourceKey: 'a.jpg', preset: 'original' });
  });

  it('turns throttling into TransientError naming the table and key', async () => {
    doc.on(QueryCommand).rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: { httpStatusCode: 400 } }));
    await expect(catalog.rowsForKey('k.jpg')).rejects.toThrow(TransientError);
    await expect(catalog.rowsForKey('k.jpg')).rejects.toThrow('Query catalog k.jpg: ProvisionedThroughputExceededException: slow down');
  });

  it('turns a throttled second page into TransientError', async () => {
    doc.on(QueryCommand)
      .resolvesOnce({ Items: [], LastEvaluatedKey: { sha256: 'f', sourceKey: 'a', preset: 'p' } })
      .rejectsOnce(new RequestLimitExceeded({ message: 'account limit', $metadata: { httpStatusCode: 400 } }));
    await expect(catalog.keysForHash('f')).rejects.toThrow('Query catalog/bySha256 f: RequestLimitExceeded: account limit');
  });
});

describe('DynamoCatalog failures', () => {
  it('records a failure with PutItem', async () => {
    doc.on(PutCommand).resolves({});
    await catalog.recordFailure(failure);
    expect(doc.commandCalls(PutCommand)[0]!.args[0].input).toEqual({ TableName: 'catalog', Item: failure });
  });

  it('reads a failure with a consistent GetItem', async () => {
    doc.on(GetCommand).resolvesOnce({ Item: failure }).resolvesOnce({});
    expect(await catalog.failureFor('k.jpg')).toEqual(failure);
    expect(await catalog.failureFor('k.jpg')).toBeUndefined();
    expect(doc.commandCalls(GetCommand)[0]!.args[0].input).toEqual({ TableName: 'catalog', Key: { sourceKey: 'k.jpg', preset: '#failure' }, ConsistentRead: true });
  });

  it('stores the reason with the row, and reads a row written before reasons existed with one derived from its error name', async () => {
    doc.on(PutCommand).resolves({});
    await catalog.recordFailure(failure);
    expect(doc.commandCalls(PutCommand)[0]!.args[0].input.Item).toMatchObject({ reason: 'corrupt' });
    const { reason: _, ...old } = failure;
    doc.on(GetCommand)
      .resolvesOnce({ Item: old })
      .resolvesOnce({ Item: { ...old, errorType: 'States.Timeout', error: 'the task dedupe did not finish within 25 s' } })
      .resolvesOnce({ Item: { ...old, errorType: 'Lambda.Unknown', error: 'out of memory' } });
    expect(await catalog.failureFor('k.jpg')).toEqual({ ...old, reason: 'unclassified' });
    expect((await catalog.failureFor('k.jpg'))?.reason).toBe('timeout');
    expect((await catalog.failureFor('k.jpg'))?.reason).toBe('internal');
  });

  it('turns 5xx and ThrottlingException into TransientError; a ValidationException passes unchanged', async () => {
    doc.on(GetCommand).rejectsOnce(new InternalServerError({ message: 'boom', $metadata: { httpStatusCode: 500 } }));
    await expect(catalog.failureFor('k.jpg')).rejects.toThrow('GetItem catalog k.jpg #failure: InternalServerError: boom');
    doc.on(PutCommand)
      .rejectsOnce(new DynamoDBServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'rate', $metadata: { httpStatusCode: 400 } }))
      .rejectsOnce(new DynamoDBServiceException({ name: 'ValidationException', $fault: 'client', message: 'bad', $metadata: { httpStatusCode: 400 } }));
    await expect(catalog.recordFailure(failure)).rejects.toThrow(TransientError);
    const error = await catalog.recordFailure(failure).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ name: 'ValidationException', message: 'bad' });
  });
});

describe('DynamoCatalog claims', () => {
  it('claims content with a conditional write; a live claim of another owner answers false', async () => {
    doc.on(PutCommand).resolvesOnce({}).rejectsOnce(new ConditionalCheckFailedException({ message: 'held', $metadata: { httpStatusCode: 400 } }));
    expect(await catalog.claimContent(sha, 'a.jpg', 60_000)).toBe(true);
    expect(await catalog.claimContent(sha, 'b.jpg', 60_000)).toBe(false);
    const input = doc.commandCalls(PutCommand)[0]!.args[0].input;
    expect(input).toEqual({
      TableName: 'catalog',
      Item: { sourceKey: `#claim/${sha}`, preset: '#claim', owner: 'a.jpg', leaseUntil: 1_060_000, expiresAt: 1_060 + 86_400 },
      ConditionExpression: 'attribute_not_exists(sourceKey) OR leaseUntil < :now OR #owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':now': 1_000_000, ':owner': 'a.jpg' },
    });
    expect(input.Item).not.toHaveProperty('sha256');
  });

  it('turns a throttled claim into TransientError, not false', async () => {
    doc.on(PutCommand).rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: { httpStatusCode: 400 } }));
    await expect(catalog.claimContent(sha, 'a.jpg', 60_000)).rejects.toThrow(`PutItem catalog #claim/${sha}: ProvisionedThroughputExceededException`);
  });

  it('releases a claim with a conditional DeleteItem; a claim held by another owner is left alone', async () => {
    doc.on(DeleteCommand).resolvesOnce({}).rejectsOnce(new ConditionalCheckFailedException({ message: 'not yours', $metadata: { httpStatusCode: 400 } }));
    await catalog.releaseContent(sha, 'a.jpg');
    await catalog.releaseContent(sha, 'a.jpg');
    expect(doc.commandCalls(DeleteCommand)[0]!.args[0].input).toEqual({
      TableName: 'catalog',
      Key: { sourceKey: `#claim/${sha}`, preset: '#claim' },
      ConditionExpression: '#owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':owner': 'a.jpg' },
    });
  });

  it('rethrows other release errors', async () => {
    doc.on(DeleteCommand).rejects(new InternalServerError({ message: 'boom', $metadata: { httpStatusCode: 500 } }));
    await expect(catalog.releaseContent(sha, 'a.jpg')).rejects.toThrow(TransientError);
  });
});

describe('DynamoCatalog construction', () => {
  it('uses a DocumentClient it is given as it is', async () => {
    const given = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
    doc.on(GetCommand).resolves({ Item: failure });
    expect(await new DynamoCatalog(given, 'other').failureFor('k.jpg')).toEqual(failure);
    expect(doc.commandCalls(GetCommand)[0]!.args[0].input.TableName).toBe('other');
    expect(doc.commandCalls(GetCommand)[0]!.thisValue).toBe(given);
  });
});
