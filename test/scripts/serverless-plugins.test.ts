/** The local Serverless v3 plugins of serverless.yml, driven with a stand-in of the serverless object. */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const CurrentRuntimes = require('../../scripts/serverless-current-runtimes.cjs');

function fakeServerless(resources: Record<string, unknown>) {
  return {
    configSchemaHandler: { schema: { definitions: { awsLambdaRuntime: { enum: ['nodejs18.x', 'nodejs20.x'] } } } },
    service: { provider: { runtime: 'nodejs24.x', compiledCloudFormationTemplate: { Resources: resources } } },
  };
}

describe('serverless-current-runtimes', () => {
  it('teaches v3 the current runtimes', () => {
    const serverless = fakeServerless({});
    new CurrentRuntimes(serverless);
    expect(serverless.configSchemaHandler.schema.definitions.awsLambdaRuntime.enum).toEqual(['nodejs18.x', 'nodejs20.x', 'nodejs22.x', 'nodejs24.x']);
  });

  it('refuses to package a function on a runtime Lambda no longer creates, instead of moving it (a callback handler would break on nodejs24.x)', () => {
    const ok = new CurrentRuntimes(fakeServerless({ Sync: { Type: 'AWS::Lambda::Function', Properties: { Runtime: 'nodejs24.x' } } }));
    expect(() => ok.hooks['before:package:finalize']()).not.toThrow();
    const legacy = fakeServerless({ CustomDashresourceDashexistingDashs3LambdaFunction: { Type: 'AWS::Lambda::Function', Properties: { Runtime: 'nodejs18.x' } } });
    const plugin = new CurrentRuntimes(legacy);
    expect(() => plugin.hooks['before:package:finalize']()).toThrow(/CustomDashresourceDashexistingDashs3LambdaFunction \(nodejs18\.x\).*existing: true/);
    expect((legacy.service.provider.compiledCloudFormationTemplate.Resources as any).CustomDashresourceDashexistingDashs3LambdaFunction.Properties.Runtime).toBe('nodejs18.x');
  });
});

const Preflight = require('../../scripts/serverless-preflight.cjs');

/** A stand-in of the serverless object as the preflight plugin reads it, with a recording AWS provider. */
function preflightServerless(answers: { location: string | null; concurrency: number }, params: Partial<Record<'sourceBucket' | 'stage', string>> = {}) {
  const calls: string[] = [];
  const logged: string[] = [];
  const functions: Record<string, { name: string; reservedConcurrency?: number }> = {
    dedupe: { name: `photo-scaler-${params.stage ?? 'prod'}-dedupe` },
    sync: { name: `photo-scaler-${params.stage ?? 'prod'}-sync`, reservedConcurrency: 20 },
    onDemand: { name: `photo-scaler-${params.stage ?? 'prod'}-onDemand`, reservedConcurrency: 50 },
  };
  const sourceBucket = params.sourceBucket ?? 'my-photos';
  const serverless = {
    classes: { Error: class ServerlessError extends Error {} },
    cli: { log: (line: string) => logged.push(line) },
    service: {
      provider: { stage: params.stage ?? 'prod' },
      custom: { preflight: { sourceBucket, inventoryBucket: `${sourceBucket}-inventory`, sourceKmsKeyArn: '', signingSecretParameter: '', delivery: 'cdn', cdnPriceClass: 'PriceClass_100' } },
      getAllFunctions: () => Object.keys(functions),
      getFunction: (name: string) => functions[name],
      stepFunctions: {
        stateMachines: {
          migrate: { definition: { StartAt: 'Outer', States: { Outer: { MaxConcurrency: 20, ItemProcessor: { StartAt: 'Inner', States: { Inner: { MaxConcurrency: 8 } } } } } } },
        },
      },
    },
    getProvider: () => ({
      getRegion: () => 'eu-west-1',
      request: async (service: string, method: string, input: unknown) => {
        calls.push(`${service}.${method} ${JSON.stringify(input)}`);
        if (method === 'getBucketLocation') return { LocationConstraint: answers.location };
        if (method === 'getAccountSettings') return { AccountLimit: { ConcurrentExecutions: answers.concurrency } };
        throw new Error(`unexpected ${service}.${method}`);
      },
    }),
  };
  return { serverless, calls, logged };
}

describe('serverless-preflight', () => {
  it('at package time refuses a bucket name S3 would refuse, before anything is built', () => {
    const { serverless } = preflightServerless({ location: 'eu-west-1', concurrency: 1000 }, { sourceBucket: 'My_Photos' });
    const plugin = new Preflight(serverless, {});
    expect(() => plugin.hooks['before:package:initialize']()).toThrow(/photo-scaler cannot be deployed as configured:\n {2}- param sourceBucket "My_Photos" may hold only lowercase/);
    expect(() => new Preflight(preflightServerless({ location: null, concurrency: 1000 }).serverless, {}).hooks['before:package:initialize']()).not.toThrow();
  });

  it('at deploy time asks S3 where the source bucket is and Lambda what the account allows, and refuses another region', async () => {
    const here = preflightServerless({ location: 'eu-west-1', concurrency: 1000 });
    await new Preflight(here.serverless, {}).hooks['before:deploy:deploy']();
    expect(here.calls).toEqual(['S3.getBucketLocation {"Bucket":"my-photos"}', 'Lambda.getAccountSettings {}']);
    expect(here.logged).toEqual([]);

    const elsewhere = preflightServerless({ location: null, concurrency: 1000 });
    await expect(new Preflight(elsewhere.serverless, {}).hooks['before:deploy:deploy']()).rejects.toThrow(/my-photos is in us-east-1, the deploy goes to eu-west-1[\s\S]*Deploy with --region us-east-1/);
  });

  it('at deploy time refuses an account too small for the reservations, and warns when the batch (20 x 8 photos) would be squeezed', async () => {
    await expect(new Preflight(preflightServerless({ location: 'eu-west-1', concurrency: 50 }).serverless, {}).hooks['before:deploy:deploy']()).rejects.toThrow(/allows 50 concurrent Lambda executions/);
    const squeezed = preflightServerless({ location: 'eu-west-1', concurrency: 250 });
    await new Preflight(squeezed.serverless, {}).hooks['before:deploy:deploy']();
    expect(squeezed.logged).toEqual(['photo-scaler: only 80 concurrent executions are left for the batch, which runs up to 160 at once: it will be throttled (and retried), not fail']);
  });
});

const DeliveryMode = require('../../scripts/serverless-delivery-mode.cjs');

describe('serverless-delivery-mode', () => {
  function service(resources: Record<string, any>, outputs: Record<string, any>, functions: Record<string, any>, declared: Record<string, any> = {}) {
    return {
      getProvider: () => ({ naming: { getNormalizedFunctionName: (name: string) => name[0]!.toUpperCase() + name.slice(1) } }),
      service: {
        resources: { Resources: declared },
        getAllFunctions: () => Object.keys(functions),
        getFunction: (name: string) => functions[name],
        provider: { compiledCloudFormationTemplate: { Resources: { ...resources, ...declared }, Outputs: outputs } },
      },
    };
  }

  it('gives a function\'s condition to what Serverless generated for it, to an HTTP API only it uses, and to outputs naming them; not to resources declared in serverless.yml', () => {
    const sls = service(
      { OnDemandLambdaFunction: { Condition: 'WebsiteMode' }, OnDemandLogGroup: {}, HttpApi: {}, HttpApiStage: {}, ResolveLambdaFunction: {} },
      { HttpApiUrl: { Value: { 'Fn::Sub': 'https://${HttpApi}.example' } }, ResolveUrl: { Value: { Ref: 'ResolveLambdaFunction' } } },
      { onDemand: { condition: 'WebsiteMode', events: [{ httpApi: {} }] }, resolve: { events: [] } },
      { OnDemandRole: { Type: 'AWS::IAM::Role' } },
    );
    new DeliveryMode(sls).hooks['before:package:finalize']();
    const { Resources, Outputs } = sls.service.provider.compiledCloudFormationTemplate;
    expect(Object.fromEntries(Object.entries(Resources).map(([id, r]: [string, any]) => [id, r.Condition]))).toEqual({
      OnDemandLambdaFunction: 'WebsiteMode',
      OnDemandLogGroup: 'WebsiteMode',
      HttpApi: 'WebsiteMode',
      HttpApiStage: 'WebsiteMode',
      ResolveLambdaFunction: undefined,
      OnDemandRole: undefined,
    });
    expect([Outputs.HttpApiUrl.Condition, Outputs.ResolveUrl.Condition]).toEqual(['WebsiteMode', undefined]);
  });

  it('leaves an HTTP API that an unconditional function also uses, and refuses a resource already under another condition', () => {
    const shared = service({ HttpApi: {}, OnDemandLambdaFunction: {} }, {}, { onDemand: { condition: 'WebsiteMode', events: [{ httpApi: {} }] }, other: { events: [{ httpApi: {} }] } });
    new DeliveryMode(shared).hooks['before:package:finalize']();
    expect(shared.service.provider.compiledCloudFormationTemplate.Resources.HttpApi.Condition).toBeUndefined();
    const clash = service({ OnDemandLogGroup: { Condition: 'Other' } }, {}, { onDemand: { condition: 'WebsiteMode', events: [] } });
    expect(() => new DeliveryMode(clash).hooks['before:package:finalize']()).toThrow(/OnDemandLogGroup has Condition Other/);
  });
});
