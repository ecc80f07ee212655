/**
 * statemachines/migrate-sources.asl.yaml (issue 20): valid ASL, a CSV ItemReader, a Fetch step, and
 * then exactly the photo steps of migrate.asl.yaml — compared here state by state, so that an edit of
 * one file not made to the other fails.
 */
import validator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { childBudget, EXPRESS_LIMIT_SECONDS } from '../helpers/budget';
import { type AnyState, allStates, loadAslFile, SOURCES_ASL_FILE } from '../helpers/definition';

const sources = () => loadAslFile(SOURCES_ASL_FILE);
const photoSteps = (definition: AnyState) => definition.States[definition.StartAt].ItemProcessor.States.EachPhoto.ItemProcessor;

/** What CloudFormation makes of the intrinsics: function ARNs and the bucket's name. */
function deployed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(deployed);
  if (value && typeof value === 'object') {
    const object = value as AnyState;
    if (Array.isArray(object['Fn::GetAtt'])) return `arn:aws:lambda:us-east-1:123456789012:function:photo-scaler-test-${object['Fn::GetAtt'][0]}`;
    if (object.Ref === 'LibraryBucket') return 'photo-scaler-test-librarybucket-0123456789ab';
    return Object.fromEntries(Object.entries(object).map(([key, item]) => [key, deployed(item)]));
  }
  return value;
}

describe('migrate-sources.asl.yaml', () => {
  it('is valid Amazon States Language once its intrinsics are resolved (state names unique in the whole machine)', () => {
    const definition = deployed(sources()) as AnyState;
    expect(JSON.stringify(definition)).not.toMatch(/Fn::|"Ref"/);
    const result = validator(definition);
    expect(result.errors).toEqual([]);
  });

  it('reads the sources CSV with its header in the first row, from the execution input `sources`', () => {
    const map = sources().States.ProcessSources;
    expect(map.ItemReader).toEqual({
      Resource: 'arn:aws:states:::s3:getObject',
      ReaderConfig: { InputType: 'CSV', CSVHeaderLocation: 'FIRST_ROW' },
      Parameters: { 'Bucket.$': '$.sources.bucket', 'Key.$': '$.sources.key' },
    });
    // Each row reaches Fetch whole ({key, url, …}): no ItemSelector could name optional columns.
    expect(map.ItemSelector).toBeUndefined();
  });

  it('batches, bounds, tolerates and writes results exactly as migrate.asl.yaml does', () => {
    const inventory = loadAslFile().States.ProcessInventory;
    const map = sources().States.ProcessSources;
    for (const field of ['ItemBatcher', 'MaxConcurrency', 'ToleratedFailurePercentage', 'ResultWriter', 'End']) expect(map[field], field).toEqual(inventory[field]);
    const { States: innerInventory, StartAt: startInventory, ...childInventory } = inventory.ItemProcessor;
    const { States: innerSources, StartAt: startSources, ...childSources } = map.ItemProcessor;
    expect(childSources).toEqual(childInventory);
    // No FindUnchanged: a CSV row has no ETag to judge before its fetch (Fetch's own skip and Dedupe decide).
    expect(startInventory).toBe('FindUnchanged');
    expect(startSources).toBe('EachPhoto');
    expect(Object.keys(innerSources)).toEqual(['EachPhoto']);
    const { ItemProcessor: _a, ...eachInventory } = innerInventory.EachPhoto;
    const { ItemProcessor: _b, ...eachSources } = innerSources.EachPhoto;
    expect(eachSources).toEqual(eachInventory);
  });

  it('runs Fetch first, then the very photo steps of migrate.asl.yaml', () => {
    const inventory = photoSteps(loadAslFile());
    const photo = photoSteps(sources());
    expect(photo.StartAt).toBe('Fetch');
    const { Fetch, ...rest } = photo.States;
    // migrate's IsUnchanged/Unchanged only pass on FindUnchanged's verdict, which a sources batch has not.
    const { IsUnchanged, Unchanged, ...steps } = inventory.States;
    expect(rest).toEqual(steps);
    expect(inventory.StartAt).toBe('IsUnchanged');
    expect(IsUnchanged.Default).toBe('Dedupe');
    expect(Unchanged.Type).toBe('Pass');
    expect(Fetch).toMatchObject({
      Type: 'Task',
      Resource: { 'Fn::GetAtt': ['fetch', 'Arn'] },
      Parameters: { 'row.$': '$.item', 'runId.$': '$.runId' },
      ResultPath: '$.item',
      Next: 'Dedupe',
    });
    // Caught like Dedupe (into RecordFailure), retried on Lambda's transient errors like it; never on FetchError (it retried the origin itself).
    expect(Fetch.Catch).toEqual(inventory.States.Dedupe.Catch);
    expect(Fetch.Retry).toEqual(inventory.States.Dedupe.Retry.filter((r: AnyState) => r.ErrorEquals.includes('TransientError')));
    expect(Fetch.Retry.flatMap((r: AnyState) => r.ErrorEquals)).not.toContain('FetchError');
  });

  it('names only the step functions (fetch among them) and the library bucket', () => {
    const intrinsics = new Set<string>();
    JSON.stringify(sources(), (key, value) => {
      if (key === 'Fn::GetAtt') intrinsics.add(`GetAtt ${value.join('.')}`);
      if (key === 'Ref') intrinsics.add(`Ref ${value}`);
      return value;
    });
    expect([...intrinsics].sort()).toEqual(['GetAtt dedupe.Arn', 'GetAtt fetch.Arn', 'GetAtt recordFailure.Arn', 'GetAtt resize.Arn', 'Ref LibraryBucket']);
  });

  it('fits the EXPRESS child in its 5 minutes with Fetch on the path (computed, as budget.test.ts does)', () => {
    const tasks = [...allStates(sources())].filter(([, state]) => state.Type === 'Task');
    expect(tasks.map(([name]) => name.split('/').pop()).sort()).toEqual(['Dedupe', 'Fetch', 'RecordFailure', 'Resize']);
    const budget = childBudget(sources());
    expect(budget.waves).toBe(1);
    expect(budget.oneAttempt).toBe(45 + 25 + 65 + 15);
    expect(budget.oneAttempt).toBeLessThanOrEqual(EXPRESS_LIMIT_SECONDS / 2);
    expect(budget.timeoutsRetried).toBeLessThan(EXPRESS_LIMIT_SECONDS);
    expect(budget.quickFailuresRetried).toBeLessThan(EXPRESS_LIMIT_SECONDS);
  });
});
