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
