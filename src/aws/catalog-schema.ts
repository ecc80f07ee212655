/**
 * The catalog table's shape, in one place: the local emulator creates the table from it and the
 * `serverless package` test checks that serverless.yml declares the same keys and index.
 */
export const CATALOG_PARTITION_KEY = 'sourceKey';
export const CATALOG_SORT_KEY = 'preset';
export const BY_SHA256_INDEX = 'bySha256';

export const catalogTableSchema = {
  BillingMode: 'PAY_PER_REQUEST',
  AttributeDefinitions: [
    { AttributeName: 'sourceKey', AttributeType: 'S' },
    { AttributeName: 'preset', AttributeType: 'S' },
    { AttributeName: 'sha256', AttributeType: 'S' },
  ],
  KeySchema: [
    { AttributeName: 'sourceKey', KeyType: 'HASH' },
    { AttributeName: 'preset', KeyType: 'RANGE' },
  ],
  GlobalSecondaryIndexes: [
    {
      IndexName: 'bySha256',
      KeySchema: [
        { AttributeName: 'sha256', KeyType: 'HASH' },
        { AttributeName: 'sourceKey', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['preset', 'assetKey'] },
    },
  ],
} as const;
