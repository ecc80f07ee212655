/**
 * `serverless package`, offline (dummy credentials, no telemetry), and what the generated
 * CloudFormation deploys: the Distributed Map from the ASL file, the functions, the sharp layer, the
 * bucket, the catalog table and least-privilege IAM.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogTableSchema } from '../../src/aws/catalog-schema';
import { loadDefinition } from '../../src/local/asl';
import { STATE_MACHINE_FILE } from '../../src/local/migrate';
import { dynamicRoutingRule } from '../../src/local/serve';
import { allStates, type AnyState } from '../helpers/definition';
import { zipEntries } from '../helpers/zip';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
let out: string;
let template: AnyState;
let resources: Record<string, AnyState>;

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'layers/sharp/nodejs/node_modules/@img/sharp-linux-arm64'))) {
    await run(process.execPath, [join(ROOT, 'scripts/build-sharp-layer.mjs')], { cwd: ROOT });
  }
  out = await mkdtemp(join(tmpdir(), 'photo-scaler-package-'));
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ACCESS_KEY_ID: 'AKIAOFFLINEPACKAGE00',
    AWS_SECRET_ACCESS_KEY: 'offline-package-dummy-secret',
    AWS_REGION: 'us-east-1',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    SLS_DEPRECATION_DISABLE: '*',
    CI: '1',
  };
  await run(join(ROOT, 'node_modules/.bin/serverless'), ['package', '--stage', 'test', '--package', out], { cwd: ROOT, env, timeout: 240_000 });
  template = JSON.parse(readFileSync(join(out, 'cloudformation-template-update-stack.json'), 'utf8'));
  resources = template.Resources;
}, 300_000);

afterAll(async () => {
  if (out) await rm(out, { recursive: true, force: true });
});

/** The deployed definition, with each `${var}` of its Fn::Sub put back as the intrinsic it stands for. */
function deployedDefinition(): AnyState {
  const [text, vars] = resources.MigrateStateMachine!.Properties.DefinitionString['Fn::Sub'] as [string, Record<string, unknown>];
  const placeholder = (name: string) => `@@${name}@@`;
  const parsed = JSON.parse(text.replace(/\$\{([^}]+)\}/g, (_, name: string) => placeholder(name)));
  const restore = (value: unknown): unknown => {
    if (typeof value === 'string') {
      const match = /^@@(.+)@@$/.exec(value);
      return match ? (vars[match[1]!] ?? `\${${match[1]}}`) : value;
    }
    if (Array.isArray(value)) return value.map(restore);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, restore(v)]));
    return value;
  };
  return restore(parsed) as AnyState;
}

describe('serverless package (offline)', () => {
  it('deploys the ASL file itself, with its functions resolved to the Lambda functions', async () => {
    const source = (await loadDefinition(STATE_MACHINE_FILE)) as AnyState;
    const logicalIds: Record<string, string> = { dedupe: 'DedupeLambdaFunction', resize: 'ResizeLambdaFunction', recordFailure: 'RecordFailureLambdaFunction' };
    const expected = JSON.parse(JSON.stringify(source), (key, value) =>
      value && typeof value === 'object' && Array.isArray(value['Fn::GetAtt']) ? { 'Fn::GetAtt': [logicalIds[value['Fn::GetAtt'][0]], 'Arn'] } : value,
    );
    // serverless-step-functions repeats the machine's QueryLanguage on every state: same meaning.
    const withoutRepeats = JSON.parse(JSON.stringify(deployedDefinition()), (key, value) =>
      value && typeof value === 'object' && value.Type && value.QueryLanguage === 'JSONPath' ? { ...value, QueryLanguage: undefined } : value,
    );
    expect(withoutRepeats).toEqual(expected);
  });

  it('has the Distributed Map fields and jittered retries in the deployed definition', () => {
    const definition = deployedDefinition();
    const map = definition.States.ProcessInventory;
    expect(map.ItemReader).toMatchObject({ Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'MANIFEST' } });
    expect(map.ItemBatcher.MaxItemsPerBatch).toBeGreaterThan(1);
    expect(map.MaxConcurrency).toBeGreaterThan(0);
    expect(map.ToleratedFailurePercentage).toBeGreaterThan(0);
    expect(map.ResultWriter).toMatchObject({ Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: { Ref: 'LibraryBucket' } } });
    expect(map.ItemProcessor.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' });
    const tasks = [...allStates(definition)].filter(([, state]) => state.Type === 'Task');
    expect(tasks.map(([, task]) => task.Resource['Fn::GetAtt'][0]).sort()).toEqual(['DedupeLambdaFunction', 'RecordFailureLambdaFunction', 'ResizeLambdaFunction']);
    for (const [name, task] of tasks) {
      for (const retrier of task.Retry) expect(retrier, name).toMatchObject({ BackoffRate: expect.any(Number), MaxDelaySeconds: expect.any(Number), JitterStrategy: 'FULL' });
      if (!name.endsWith('RecordFailure')) expect(task.Catch[0]).toMatchObject({ ErrorEquals: ['States.ALL'], Next: 'RecordFailure' });
    }
    expect(resources.MigrateStateMachine!.Properties.RoleArn).toEqual({ 'Fn::GetAtt': ['MigrateStateMachineRole', 'Arn'] });
  });

  it('creates the catalog table exactly as the local emulator does, and the library bucket', () => {
    const table = resources.CatalogTable!;
    expect(table.Type).toBe('AWS::DynamoDB::Table');
    expect({
      BillingMode: table.Properties.BillingMode,
      AttributeDefinitions: table.Properties.AttributeDefinitions,
      KeySchema: table.Properties.KeySchema,
      GlobalSecondaryIndexes: table.Properties.GlobalSecondaryIndexes,
    }).toEqual(JSON.parse(JSON.stringify(catalogTableSchema)));
    expect(resources.LibraryBucket!.Type).toBe('AWS::S3::Bucket');
  });

  it('ships sharp for arm64 in a layer attached to the two rendering functions only, never inside a function bundle', () => {
    const functions = Object.entries(resources).filter(([, resource]) => resource.Type === 'AWS::Lambda::Function');
    expect(functions.map(([id]) => id).sort()).toEqual(['DedupeLambdaFunction', 'OnDemandLambdaFunction', 'RecordFailureLambdaFunction', 'ResizeLambdaFunction']);
    for (const [id, fn] of functions) {
      expect(fn.Properties.Runtime, id).toBe('nodejs20.x');
      expect(fn.Properties.Architectures, id).toEqual(['arm64']);
      expect(fn.Properties.Environment.Variables).toMatchObject({ LIBRARY_BUCKET: { Ref: 'LibraryBucket' }, CATALOG_TABLE: { Ref: 'CatalogTable' } });
      expect(fn.Properties.Layers ?? [], id).toEqual(['ResizeLambdaFunction', 'OnDemandLambdaFunction'].includes(id) ? [{ Ref: 'SharpLambdaLayer' }] : []);
    }
    expect(resources.SharpLambdaLayer!.Properties).toMatchObject({ CompatibleRuntimes: ['nodejs20.x'], CompatibleArchitectures: ['arm64'] });
    const layer = zipEntries(join(out, 'sharp.zip'));
    expect(layer.some((name) => /^nodejs\/node_modules\/@img\/sharp-linux-arm64\/lib\/.*\.node$/.test(name))).toBe(true);
    expect(layer.some((name) => name.startsWith('nodejs/node_modules/sharp/lib/'))).toBe(true);
    const files: Record<string, string> = { dedupe: 'dedupe', resize: 'resize', recordFailure: 'record-failure', onDemand: 'on-demand' };
    for (const [fn, file] of Object.entries(files)) {
      const entries = zipEntries(join(out, `${fn}.zip`));
      expect(entries.filter((name) => name.includes('node_modules/sharp') || name.includes('@img/')), fn).toEqual([]);
      expect(entries).toContain(`src/handlers/${file}.js`);
    }
  });

  it('routes GET /dynamic/{size}/{key+} on the HTTP API to the on-demand function', () => {
    const route = Object.values(resources).find((resource) => resource.Type === 'AWS::ApiGatewayV2::Route')!;
    expect(route.Properties.RouteKey).toBe('GET /dynamic/{size}/{key+}');
    const integration = resources.HttpApiIntegrationOnDemand!;
    expect(JSON.stringify(integration.Properties.IntegrationUri)).toContain('OnDemandLambdaFunction');
    expect(integration.Properties.PayloadFormatVersion).toBe('2.0');
    expect(resources.OnDemandLambdaFunction!.Properties.Environment.Variables).toMatchObject({
      WEBSITE_URL: { 'Fn::GetAtt': ['LibraryBucket', 'WebsiteURL'] },
      SOURCE_BUCKET: 'photo-scaler-source-test',
    });
  });

  it('serves the library as a website whose 404s under dynamic/ go to the API with a 307, as serve does locally', () => {
    const website = resources.LibraryBucket!.Properties.WebsiteConfiguration;
    expect(website.RoutingRules).toHaveLength(1);
    const [rule] = website.RoutingRules;
    const local = dynamicRoutingRule('API_HOST', 'https');
    expect(rule.RoutingRuleCondition).toEqual(local.RoutingRuleCondition);
    expect({ ...rule.RedirectRule, HostName: 'API_HOST' }).toEqual(local.RedirectRule);
    expect(rule.RedirectRule.HostName).toEqual({ 'Fn::Sub': '${HttpApi}.execute-api.${AWS::Region}.amazonaws.com' });
    const policy = resources.LibraryBucketPolicy!.Properties.PolicyDocument.Statement as AnyState[];
    const allow = (action: string) => policy.find((s) => s.Effect === 'Allow' && s.Principal === '*' && [s.Action].flat().includes(action));
    expect(allow('s3:GetObject')?.Resource).toEqual({ 'Fn::Sub': '${LibraryBucket.Arn}/*' });
    // Without ListBucket a missing key answers 403 and the 404 routing rule would never fire.
    expect(allow('s3:ListBucket')?.Resource).toEqual({ 'Fn::GetAtt': ['LibraryBucket', 'Arn'] });
    expect(policy.find((s) => s.Effect === 'Deny')?.Resource).toEqual({ 'Fn::Sub': '${LibraryBucket.Arn}/runs/*' });
    expect(resources.LibraryBucket!.Properties.PublicAccessBlockConfiguration).toMatchObject({ BlockPublicAcls: true, BlockPublicPolicy: false });
  });

  it('grants no wildcard actions; Resource "*" only where the service has no resource-level permissions', () => {
    const statements: AnyState[] = [];
    for (const resource of Object.values(resources)) {
      for (const policy of resource.Properties?.Policies ?? []) statements.push(...policy.PolicyDocument.Statement);
      if (resource.Type === 'AWS::IAM::Policy') statements.push(...resource.Properties.PolicyDocument.Statement);
    }
    expect(statements.length).toBeGreaterThan(5);
    for (const statement of statements) {
      const actions: string[] = [statement.Action].flat();
      for (const action of actions) {
        expect(action).not.toBe('*');
        expect(action).not.toMatch(/:\*$/);
      }
      const wildcardResource = [statement.Resource].flat().includes('*');
      if (wildcardResource) expect(actions.every((action) => action.startsWith('logs:')), JSON.stringify(statement)).toBe(true);
    }
    const lambdaStatements = resources.IamRoleLambdaExecution!.Properties.Policies[0].PolicyDocument.Statement as AnyState[];
    const actions = lambdaStatements.flatMap((statement) => [statement.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(['s3:GetObject', 's3:PutObject', 'dynamodb:BatchWriteItem', 'dynamodb:Query']));
  });
});
