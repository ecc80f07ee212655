/** statemachines/migrate.asl.yaml: valid ASL, and the Distributed Map shape the issue fixes. */
import validator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { resolveRefs, loadDefinition } from '../../src/local/asl';
import { STATE_MACHINE_FILE } from '../../src/local/migrate';
import { allStates, type AnyState } from '../helpers/definition';

const FUNCTION_ARN = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:photo-scaler-test-${name}`;

/** What CloudFormation makes of the intrinsics: ARNs and a bucket name. */
function deployed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(deployed);
  if (value && typeof value === 'object') {
    const getAtt = (value as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
    if (getAtt) return FUNCTION_ARN(getAtt[0]);
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, deployed(item)]));
  }
  return value;
}

describe('migrate.asl.yaml', () => {
  it('is valid Amazon States Language once its intrinsics are resolved', async () => {
    const definition = deployed(resolveRefs(await loadDefinition(STATE_MACHINE_FILE), { LibraryBucket: 'photo-scaler-library' }));
    const result = validator(definition as object);
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('reads an S3 Inventory report with a Distributed Map that batches, bounds concurrency, tolerates failures and writes results', async () => {
    const definition = (await loadDefinition(STATE_MACHINE_FILE)) as AnyState;
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

  it('gives every Task a jittered, bounded exponential Retry; Dedupe and Resize are caught into RecordFailure', async () => {
    const definition = (await loadDefinition(STATE_MACHINE_FILE)) as AnyState;
    const tasks = [...allStates(definition)].filter(([, state]) => state.Type === 'Task');
    expect(tasks.map(([name]) => name.split('/').pop()).sort()).toEqual(['Dedupe', 'RecordFailure', 'Resize']);
    for (const [name, task] of tasks) {
      expect(task.Retry?.length, name).toBeGreaterThan(0);
      for (const retrier of task.Retry) {
        expect(retrier, name).toMatchObject({ BackoffRate: expect.any(Number), MaxDelaySeconds: expect.any(Number), JitterStrategy: 'FULL' });
        expect(retrier.BackoffRate).toBeGreaterThan(1);
      }
      if (!name.endsWith('RecordFailure')) {
        expect(task.Catch, name).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordFailure' }]);
        expect(task.Retry.flatMap((r: AnyState) => r.ErrorEquals)).toEqual(expect.arrayContaining(['TransientError', 'Lambda.TooManyRequestsException', 'ContentBusy']));
        expect(task.Retry.flatMap((r: AnyState) => r.ErrorEquals)).not.toContain('PhotoError');
      }
    }
  });
});
