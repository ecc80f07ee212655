/** statemachines/migrate.asl.yaml: valid ASL once deployed, and the Distributed Map shape it needs. */
import validator from 'asl-validator';
import { REQUIRED_COLUMNS } from '../../src/core/inventory/manifest';
import { describe, expect, it } from 'vitest';
import { allStates, loadAslFile } from '../helpers/definition';

type AnyObject = Record<string, any>;

const FUNCTION_ARN = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:photo-scaler-test-${name}`;
const LIBRARY_BUCKET = 'photo-scaler-test-librarybucket-0123456789ab';

/** What CloudFormation makes of the intrinsics the file uses: function ARNs and the bucket's name. */
function deployed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(deployed);
  if (value && typeof value === 'object') {
    const object = value as AnyObject;
    if (Array.isArray(object['Fn::GetAtt'])) {
      expect(object['Fn::GetAtt'][1]).toBe('Arn');
      return FUNCTION_ARN(object['Fn::GetAtt'][0]);
    }
    if (typeof object.Ref === 'string') {
      expect(object.Ref).toBe('LibraryBucket');
      return LIBRARY_BUCKET;
    }
    return Object.fromEntries(Object.entries(object).map(([key, item]) => [key, deployed(item)]));
  }
  return value;
}

describe('migrate.asl.yaml', () => {
  it('is valid Amazon States Language once its intrinsics are resolved', () => {
    const definition = deployed(loadAslFile()) as AnyObject;
    expect(JSON.stringify(definition)).not.toMatch(/Fn::|"Ref"/);
    const result = validator(definition);
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('names only the four step functions and the library bucket as intrinsics', () => {
    const intrinsics: string[] = [];
    JSON.stringify(loadAslFile(), (key, value) => {
      if (key === 'Fn::GetAtt') intrinsics.push(`GetAtt ${value.join('.')}`);
      if (key === 'Ref') intrinsics.push(`Ref ${value}`);
      return value;
    });
    expect([...new Set(intrinsics)].sort()).toEqual(['GetAtt dedupe.Arn', 'GetAtt findUnchanged.Arn', 'GetAtt recordFailure.Arn', 'GetAtt resize.Arn', 'Ref LibraryBucket']);
  });

  it('reads an S3 Inventory report with a Distributed Map that batches, bounds concurrency, tolerates failures and writes results', () => {
    const definition = loadAslFile();
    const map = definition.States[definition.StartAt];
    expect(map).toMatchObject({
      Type: 'Map',
      ItemReader: { Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'MANIFEST' } },
      ItemBatcher: { MaxItemsPerBatch: expect.any(Number), MaxInputBytesPerBatch: expect.any(Number) },
      MaxConcurrency: expect.any(Number),
      ToleratedFailurePercentage: expect.any(Number),
      ResultWriter: { Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: { Ref: 'LibraryBucket' }, Prefix: 'runs' } },
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' } },
    });
  });

  it('gives every Task a jittered, bounded exponential Retry; Dedupe and Resize are caught into RecordFailure', () => {
    const tasks = [...allStates(loadAslFile())].filter(([, state]) => state.Type === 'Task');
    expect(tasks.map(([name]) => name.split('/').pop()).sort()).toEqual(['Dedupe', 'FindUnchanged', 'RecordFailure', 'Resize']);
    for (const [name, task] of tasks) {
      expect(task.Retry?.length, name).toBeGreaterThan(0);
      for (const retrier of task.Retry) {
        expect(retrier, name).toMatchObject({ BackoffRate: expect.any(Number), MaxDelaySeconds: expect.any(Number), JitterStrategy: 'FULL' });
        expect(retrier.BackoffRate).toBeGreaterThan(1);
      }
      if (name.endsWith('/FindUnchanged')) {
        // Not a photo's step: its failure sends the batch to Dedupe (test/statemachines/budget.test.ts).
        expect(task.Catch, name).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.findUnchangedError', Next: 'EachPhoto' }]);
      } else if (!name.endsWith('/RecordFailure')) {
        expect(task.Catch, name).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordFailure' }]);
        expect(task.Retry.flatMap((r: AnyObject) => r.ErrorEquals)).toEqual(expect.arrayContaining(['TransientError', 'Lambda.TooManyRequestsException']));
        expect(task.Retry.flatMap((r: AnyObject) => r.ErrorEquals)).not.toContain('PhotoError');
      }
    }
  });

  it('reads exactly the inventory columns a report is refused without (REQUIRED_COLUMNS), so no report reaches the ItemSelector without them', () => {
    const selector = loadAslFile().States.ProcessInventory.ItemSelector as Record<string, string>;
    const columns = Object.values(selector).flatMap((path) => /^\$\$\.Map\.Item\.Value\.(\w+)$/.exec(path)?.[1] ?? []);
    expect(columns.length).toBe(Object.keys(selector).length);
    expect([...columns].sort()).toEqual([...REQUIRED_COLUMNS].sort());
  });
});
