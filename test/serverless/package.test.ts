/**
 * `serverless package`, offline (dummy credentials, no telemetry, no AWS call), and what the generated
 * CloudFormation deploys: the Distributed Map from the ASL file, the functions, the sharp layer, the
 * bucket, the catalog table and least-privilege IAM.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HttpResponse } from '@smithy/core/protocols';
import { catalogTableSchema } from '../../src/aws/catalog-schema';
import { DynamoCatalog } from '../../src/aws/dynamo-catalog';
import { config as appConfig } from '../../src/config';
import { type OnDemandContext, serveDynamic } from '../../src/core/on-demand';
import { validateConfig } from '../../src/core/presets';
import { RenderGate } from '../../src/core/render-gate';
import { noiseJpeg } from '../helpers/images';
import { MemoryStore } from '../helpers/memory-store';
import { templateProblems } from '../helpers/cfn-template-check';
import { allStates, loadAslFile } from '../helpers/definition';
import { extractZip, zipEntries } from '../helpers/zip';

type AnyObject = Record<string, any>;

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
const FUNCTION_IDS: Record<string, string> = { findUnchanged: 'FindUnchangedLambdaFunction', dedupe: 'DedupeLambdaFunction', resize: 'ResizeLambdaFunction', recordFailure: 'RecordFailureLambdaFunction' };
/** CloudWatch Logs delivery actions of the state machine's logging: they have no resource-level permissions. */
const LOG_DELIVERY_ACTIONS = [
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
];

let out: string;
let packageSeconds: number;
let template: AnyObject;
let resources: Record<string, AnyObject>;
/** The same stack packaged with the optional parameters set (SSE-KMS source, signing secret in SSM, website mode). */
let configured: AnyObject;
let configuredOut: string;
/** A signing secret in the packaging shell's environment: it must land nowhere. */
const CANARY_SECRET = 'canary-secret-never-in-a-template-7f3a9c';
const KMS_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const SECRET_PARAMETER = '/photo-scaler/test/signing-secret';

/** `serverless package` in a fresh environment: nothing of the caller's AWS profile, no SERVERLESS_PLATFORM_STAGE, no prompts. */
async function packageStack(dir: string, extraArgs: string[] = []) {
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
    PHOTO_SCALER_SIGNING_SECRET: CANARY_SECRET,
  };
  await run(join(ROOT, 'node_modules/.bin/serverless'), ['package', '--stage', 'test', '--package', dir, ...extraArgs], { cwd: ROOT, env, timeout: 240_000 });
  return JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as AnyObject;
}

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'layers/sharp/nodejs/node_modules/@img/sharp-linux-arm64'))) {
    await run(process.execPath, [join(ROOT, 'scripts/build-sharp-layer.mjs')], { cwd: ROOT, timeout: 180_000 });
  }
  out = await mkdtemp(join(tmpdir(), 'photo-scaler-package-'));
  configuredOut = await mkdtemp(join(tmpdir(), 'photo-scaler-package-configured-'));
  const started = Date.now();
  template = await packageStack(out);
  packageSeconds = (Date.now() - started) / 1000;
  resources = template.Resources;
  configured = await packageStack(configuredOut, [`--param=sourceKmsKeyArn=${KMS_KEY}`, `--param=signingSecretParameter=${SECRET_PARAMETER}`, '--param=delivery=website']);
}, 480_000);

afterAll(async () => {
  for (const dir of [out, configuredOut]) if (dir) await rm(dir, { recursive: true, force: true });
});

/** The deployed definition, with each `${var}` of its Fn::Sub put back as the intrinsic it stands for. */
function deployedDefinition(): AnyObject {
  const definitionString = resources.MigrateStateMachine!.Properties.DefinitionString;
  const [text, vars] = (typeof definitionString === 'string' ? [definitionString, {}] : definitionString['Fn::Sub']) as [string, Record<string, unknown>];
  const restore = (value: unknown): unknown => {
    if (typeof value === 'string') {
      const match = /^@@(.+)@@$/.exec(value);
      return match ? (vars[match[1]!] ?? `\${${match[1]}}`) : value;
    }
    if (Array.isArray(value)) return value.map(restore);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, restore(v)]));
    return value;
  };
  return restore(JSON.parse(text.replace(/\$\{([^}]+)\}/g, (_, name: string) => `@@${name}@@`))) as AnyObject;
}

/** Every statement of every policy document anywhere in the template (roles, policies, bucket policies). */
function allStatements(): Array<{ where: string; statement: AnyObject }> {
  const found: Array<{ where: string; statement: AnyObject }> = [];
  const visit = (value: unknown, where: string) => {
    if (Array.isArray(value)) value.forEach((item, i) => visit(item, `${where}[${i}]`));
    else if (value && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        if (/PolicyDocument$/.test(key) && item && typeof item === 'object') {
          for (const statement of [(item as AnyObject).Statement].flat()) found.push({ where: `${where}.${key}`, statement });
        } else visit(item, `${where}.${key}`);
      }
    }
  };
  visit(resources, 'Resources');
  return found;
}

const roleStatements = (logicalId: string): AnyObject[] => resources[logicalId]!.Properties.Policies.flatMap((policy: AnyObject) => policy.PolicyDocument.Statement);
const statementWith = (statements: AnyObject[], action: string): AnyObject[] => statements.filter((statement) => [statement.Action].flat().includes(action));

describe('serverless package (offline)', () => {
  it('packages without AWS, in reasonable time', () => {
    expect(existsSync(join(out, 'cloudformation-template-update-stack.json'))).toBe(true);
    expect(packageSeconds).toBeLessThan(240);
  });

  it('deploys the ASL file itself, with its functions resolved to the Lambda functions and LibraryBucket to the bucket', () => {
    const expected = JSON.parse(JSON.stringify(loadAslFile()), (key, value) =>
      value && typeof value === 'object' && Array.isArray(value['Fn::GetAtt']) ? { 'Fn::GetAtt': [FUNCTION_IDS[value['Fn::GetAtt'][0]] ?? value['Fn::GetAtt'][0], 'Arn'] } : value,
    );
    // asl-validator (serverless-step-functions' `validate: true`) writes the machine's QueryLanguage onto
    // every state: the same meaning, so it is set aside for the comparison.
    const deployed = JSON.parse(JSON.stringify(deployedDefinition()), (key, value) =>
      value && typeof value === 'object' && value.Type && value.QueryLanguage === 'JSONPath' ? { ...value, QueryLanguage: undefined } : value,
    );
    expect(deployed).toEqual(expected);
    expect([...allStates(deployed)].map(([name]) => name)).toEqual([...allStates(loadAslFile())].map(([name]) => name));
  });

  it('has the Distributed Map fields and jittered retries in the deployed definition', () => {
    const definition = deployedDefinition();
    const map = definition.States.ProcessInventory;
    expect(map.Type).toBe('Map');
    expect(map.ItemReader).toMatchObject({ Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'MANIFEST' } });
    expect(map.ItemBatcher.MaxItemsPerBatch).toBeGreaterThan(1);
    expect(map.MaxConcurrency).toBeGreaterThan(0);
    expect(map.ToleratedFailurePercentage).toBeGreaterThan(0);
    expect(map.ResultWriter).toMatchObject({ Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: { Ref: 'LibraryBucket' } } });
    expect(map.ItemProcessor.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' });
    const tasks = [...allStates(definition)].filter(([, state]) => state.Type === 'Task');
    expect(tasks.map(([, task]) => task.Resource).sort((a, b) => a['Fn::GetAtt'][0].localeCompare(b['Fn::GetAtt'][0]))).toEqual([
      { 'Fn::GetAtt': ['DedupeLambdaFunction', 'Arn'] },
      { 'Fn::GetAtt': ['FindUnchangedLambdaFunction', 'Arn'] },
      { 'Fn::GetAtt': ['RecordFailureLambdaFunction', 'Arn'] },
      { 'Fn::GetAtt': ['ResizeLambdaFunction', 'Arn'] },
    ]);
    for (const [name, task] of tasks) {
      expect(task.Retry?.length, name).toBeGreaterThan(0);
      for (const retrier of task.Retry) expect(retrier, name).toMatchObject({ BackoffRate: expect.any(Number), MaxDelaySeconds: expect.any(Number), JitterStrategy: 'FULL' });
      // RecordFailure is where the others' Catch leads: it retries everything and has nowhere further to go.
      // FindUnchanged's Catch sends its batch on to EachPhoto (Dedupe decides what it could not).
      if (name.endsWith('/FindUnchanged')) expect(task.Catch, name).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'EachPhoto' })]);
      else if (!name.endsWith('/RecordFailure')) expect(task.Catch, name).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'RecordFailure' })]);
    }
  });

  it('stops each step\'s function before its Task times out: Lambda\'s own timeout (Sandbox.Timedout) ends the attempt, TimeoutSeconds is the backstop', () => {
    const tasks = [...allStates(deployedDefinition())].filter(([, state]) => state.Type === 'Task');
    expect(tasks).toHaveLength(4);
    for (const [name, task] of tasks) {
      const fn = resources[task.Resource['Fn::GetAtt'][0]]!.Properties;
      expect(task.TimeoutSeconds - fn.Timeout, name).toBe(5);
    }
  });

  it('names the state machine per stage, logs it to its log group and runs it with its own role', () => {
    const machine = resources.MigrateStateMachine!;
    expect(machine.Type).toBe('AWS::StepFunctions::StateMachine');
    expect(machine.Properties.StateMachineName).toBe('photo-scaler-migrate-test');
    expect(machine.Properties.RoleArn).toEqual({ 'Fn::GetAtt': ['MigrateStateMachineRole', 'Arn'] });
    expect(machine.Properties.LoggingConfiguration.Destinations).toEqual([{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': ['MigrateLogGroup', 'Arn'] } } }]);
    expect(resources.MigrateLogGroup!.Type).toBe('AWS::Logs::LogGroup');
    // The plugin's own role is not made when the machine has a role. The others: the functions' shared
    // role, the starter's own, and our custom resource's for the source bucket's notifications.
    expect(Object.entries(resources).filter(([, r]) => r.Type === 'AWS::IAM::Role').map(([id]) => id).sort()).toEqual([
      'FetchRole',
      'IamRoleLambdaExecution',
      'MigrateSourcesStateMachineRole',
      'MigrateStateMachineRole',
      'OnDemandRole',
      'SourceNotificationsRole',
      'StartRunRole',
    ]);
  });

  it('creates the catalog table exactly as catalogTableSchema says, and the library bucket', () => {
    const table = resources.CatalogTable!;
    expect(table.Type).toBe('AWS::DynamoDB::Table');
    expect({
      BillingMode: table.Properties.BillingMode,
      AttributeDefinitions: table.Properties.AttributeDefinitions,
      KeySchema: table.Properties.KeySchema,
      GlobalSecondaryIndexes: table.Properties.GlobalSecondaryIndexes,
    }).toEqual(JSON.parse(JSON.stringify(catalogTableSchema)));
    expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    const bucket = resources.LibraryBucket!;
    expect(bucket.Type).toBe('AWS::S3::Bucket');
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }]);
    expect(bucket.Properties.PublicAccessBlockConfiguration).toMatchObject({ BlockPublicAcls: true, IgnorePublicAcls: true });
  });

  it('declares the outputs', () => {
    expect(template.Outputs).toMatchObject({
      LibraryBucketName: { Value: { Ref: 'LibraryBucket' } },
      CatalogTableName: { Value: { Ref: 'CatalogTable' } },
      MigrateStateMachineArn: { Value: { Ref: 'MigrateStateMachine' } },
      SourceBucketName: { Value: 'photo-scaler-source-test' },
      InventoryBucketName: { Value: { Ref: 'InventoryBucket' } },
      InventoryPrefix: { Value: 'inventory' },
      SyncDeadLetterQueueUrl: { Value: { Ref: 'SyncDeadLetterQueue' } },
    });
  });

  it('runs every function on nodejs24.x arm64 (Lambda blocks creating nodejs20.x ones), the steps with their memory, timeout and environment', () => {
    const expected: Record<string, [string, number, number]> = {
      FindUnchangedLambdaFunction: ['src/handlers/find-unchanged.handler', 256, 5],
      DedupeLambdaFunction: ['src/handlers/dedupe.handler', 512, 20],
      ResizeLambdaFunction: ['src/handlers/resize.handler', 1769, 60],
      RecordFailureLambdaFunction: ['src/handlers/record-failure.handler', 256, 10],
    };
    for (const [id, [handler, memory, timeout]] of Object.entries(expected)) {
      expect(resources[id]?.Properties, id).toMatchObject({ Handler: handler, MemorySize: memory, Timeout: timeout });
    }
    const functions = Object.entries(resources).filter(([, resource]) => resource.Type === 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThanOrEqual(3);
    for (const [id, fn] of functions) expect(fn.Properties.Runtime, id).toBe('nodejs24.x');
    // Every function is ours (no Serverless-made custom resource Lambda with a handler of its own).
    const ours = functions.filter(([, fn]) => String(fn.Properties.Handler).startsWith('src/handlers/'));
    expect(ours.length).toBe(functions.length);
    for (const [id, fn] of ours) {
      expect(fn.Properties.Architectures, id).toEqual(['arm64']);
      expect(fn.Properties.Environment.Variables, id).toMatchObject({
        LIBRARY_BUCKET: { Ref: 'LibraryBucket' },
        CATALOG_TABLE: { Ref: 'CatalogTable' },
        NODE_OPTIONS: '--enable-source-maps',
      });
    }
  });

  it('ships sharp for linux-arm64 in a layer attached to the rendering functions only, never inside a function bundle', () => {
    // Functions that render (sharp): resize, resolve and onDemand (new on-demand sizes), sync.
    const renderers = ['ResizeLambdaFunction', 'ResolveLambdaFunction', 'OnDemandLambdaFunction', 'SyncLambdaFunction'];
    for (const [id, fn] of Object.entries(resources).filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')) {
      expect(fn.Properties.Layers ?? [], id).toEqual(renderers.includes(id) ? [{ Ref: 'SharpLambdaLayer' }] : []);
    }
    expect(resources.SharpLambdaLayer!.Type).toBe('AWS::Lambda::LayerVersion');
    expect(resources.SharpLambdaLayer!.Properties).toMatchObject({ CompatibleRuntimes: ['nodejs24.x'], CompatibleArchitectures: ['arm64'] });

    const layer = [...zipEntries(join(out, 'sharp.zip')).keys()];
    expect(layer.some((name) => /^nodejs\/node_modules\/@img\/sharp-linux-arm64\/lib\/[^/]+\.node$/.test(name))).toBe(true);
    expect(layer.some((name) => /^nodejs\/node_modules\/@img\/sharp-libvips-linux-arm64\/lib\/libvips/.test(name))).toBe(true);
    expect(layer.some((name) => name.startsWith('nodejs/node_modules/sharp/lib/'))).toBe(true);
    const imgPackages = new Set(layer.flatMap((name) => /^nodejs\/node_modules\/@img\/([^/]+)\//.exec(name)?.[1] ?? []));
    expect([...imgPackages].filter((name) => name.startsWith('sharp-') && !name.endsWith('-linux-arm64'))).toEqual([]);

    const files: Record<string, string> = { findUnchanged: 'find-unchanged', dedupe: 'dedupe', resize: 'resize', recordFailure: 'record-failure', onDemand: 'on-demand', sync: 'sync', startRun: 'start-run', resolve: 'resolve' };
    for (const [fn, file] of Object.entries(files)) {
      const entries = zipEntries(join(out, `${fn}.zip`));
      const names = [...entries.keys()];
      expect(names.filter((name) => name.includes('node_modules/sharp') || name.includes('@img/')), fn).toEqual([]);
      expect(names, fn).toContain(`src/handlers/${file}.js`);
      // A CommonJS bundle: no package.json with "type": "module" may make Lambda load it as ESM.
      expect(names.filter((name) => name.endsWith('package.json')), fn).toEqual([]);
      const bundle = entries.get(`src/handlers/${file}.js`)!().toString('utf8');
      // (booleans, not toContain: a failure would print megabytes of bundle)
      expect(/\bmodule\.exports\b/.test(bundle), `${fn}: a CommonJS bundle`).toBe(true);
      // sharp stays external: a require() that Lambda resolves through /opt/nodejs/node_modules (the layer).
      if (fn === 'resize' || fn === 'sync') expect(bundle.includes('require("sharp")'), `${fn} requires sharp at run time`).toBe(true);
      expect(/node_modules\/sharp\/lib\/(sharp|constructor)\.js/.test(bundle), `${fn}: sharp's own code is not bundled`).toBe(false);
      // Every function that renders carries the HEIC decoder (src/core/heic.ts): libheif-js's glue and its
      // WebAssembly binary, which libheif-js/wasm-bundle embeds as a base64 data URL (no .wasm file to ship).
      const renders = ['resize', 'onDemand', 'sync', 'resolve'].includes(fn);
      expect(bundle.includes('heif_js_decode_image2') && bundle.includes('data:application/octet-stream;base64,'), `${fn}: the HEIC decoder is ${renders ? '' : 'not '}bundled`).toBe(renders);
    }
  });

  it('grants no wildcard actions; Resource "*" only for the log delivery actions', () => {
    const statements = allStatements();
    expect(statements.length).toBeGreaterThan(10);
    for (const { where, statement } of statements) {
      if (statement.Effect !== 'Allow') continue; // e.g. the deployment bucket's Deny s3:* without TLS
      const actions: string[] = [statement.Action].flat();
      for (const action of actions) {
        expect(action, where).not.toBe('*');
        expect(action, where).not.toMatch(/:\*$/);
      }
      if (statement.Resource !== undefined && [statement.Resource].flat().includes('*')) {
        expect(LOG_DELIVERY_ACTIONS, `${where}: ${JSON.stringify(statement)}`).toEqual(expect.arrayContaining(actions));
      }
    }
  });

  it('gives the Lambda functions only what the steps use', () => {
    const statements = roleStatements('IamRoleLambdaExecution');
    expect(statementWith(statements, 's3:GetObject').map((s) => s.Resource)).toEqual(
      expect.arrayContaining([{ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::photo-scaler-source-test/*' }, { 'Fn::Sub': '${LibraryBucket.Arn}/*' }]),
    );
    for (const action of ['s3:PutObject', 's3:DeleteObject']) {
      expect(statementWith(statements, action).map((s) => s.Resource), action).toEqual([{ 'Fn::Sub': '${LibraryBucket.Arn}/*' }]);
    }
    expect(statementWith(statements, 's3:ListBucket').map((s) => s.Resource)).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::photo-scaler-source-test' },
      { 'Fn::GetAtt': ['LibraryBucket', 'Arn'] },
    ]);
    // Live sync's dead letters: only its queue.
    expect(statementWith(statements, 'sqs:SendMessage').map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': ['SyncDeadLetterQueue', 'Arn'] }]);
    expect(statements.flatMap((s) => [s.Action].flat()).filter((action: string) => action.startsWith('states:'))).toEqual([]);
    for (const action of ['GetItem', 'PutItem', 'DeleteItem', 'UpdateItem', 'Query', 'BatchWriteItem', 'BatchGetItem']) {
      expect(statementWith(statements, `dynamodb:${action}`).map((s) => s.Resource), action).toEqual([
        [{ 'Fn::GetAtt': ['CatalogTable', 'Arn'] }, { 'Fn::Sub': '${CatalogTable.Arn}/index/*' }],
      ]);
    }
  });

  it('gives the state machine what a Distributed Map needs, scoped to this stack', () => {
    const statements = roleStatements('MigrateStateMachineRole');
    expect(resources.MigrateStateMachineRole!.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Effect: 'Allow', Principal: { Service: 'states.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ]);
    const invoke = statementWith(statements, 'lambda:InvokeFunction');
    expect(invoke).toHaveLength(1);
    expect([invoke[0]!.Action].flat()).toEqual(['lambda:InvokeFunction']);
    expect(invoke[0]!.Resource).toEqual(
      Object.values(FUNCTION_IDS).flatMap((id) => [{ 'Fn::GetAtt': [id, 'Arn'] }, { 'Fn::Sub': `\${${id}.Arn}:*` }]),
    );
    const resourcesOf = (action: string) => statementWith(statements, action).flatMap((s) => [s.Resource].flat());
    expect(resourcesOf('s3:GetObject')).toEqual(
      expect.arrayContaining([{ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::photo-scaler-source-test-inventory/*' }, { 'Fn::Sub': '${LibraryBucket.Arn}/runs/*' }]),
    );
    for (const action of ['s3:PutObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload']) {
      expect(resourcesOf(action), action).toEqual([{ 'Fn::Sub': '${LibraryBucket.Arn}/runs/*' }]);
    }
    const machine = 'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:photo-scaler-migrate-test';
    const executions = 'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:photo-scaler-migrate-test';
    expect(resourcesOf('states:StartExecution')).toEqual([{ 'Fn::Sub': machine }]);
    for (const action of ['states:DescribeExecution', 'states:StopExecution']) {
      expect(resourcesOf(action), action).toEqual([{ 'Fn::Sub': machine }, { 'Fn::Sub': `${executions}:*` }, { 'Fn::Sub': `${executions}/*` }]);
    }
    const everything = statements.filter((s) => [s.Resource].flat().includes('*'));
    expect(everything.flatMap((s) => [s.Action].flat()).sort()).toEqual([...LOG_DELIVERY_ACTIONS].sort());
  });

  it('website mode (delivery=website): GET /dynamic/{size}/{key+} goes to the on-demand function and 404s under dynamic/ to the API, as serve does locally', async () => {
    const website: AnyObject = chosen(configured, configured.Resources);
    expect(conditionValue(configured, 'WebsiteMode')).toBe(true);
    const route = Object.values(website).find((resource: any) => resource.Type === "AWS::ApiGatewayV2::Route") as AnyObject;
    expect(route.Properties.RouteKey).toBe('GET /dynamic/{size}/{key+}');
    const integration = website.HttpApiIntegrationOnDemand;
    expect(JSON.stringify(integration.Properties.IntegrationUri)).toContain('OnDemandLambdaFunction');
    expect(integration.Properties.PayloadFormatVersion).toBe('2.0');
    expect(website.OnDemandLambdaFunction.Properties.Environment.Variables).toMatchObject({
      WEBSITE_URL: { 'Fn::GetAtt': ['LibraryBucket', 'WebsiteURL'] },
      SOURCE_BUCKET: 'photo-scaler-source-test',
    });

    const { RoutingRules } = website.LibraryBucket.Properties.WebsiteConfiguration;
    expect(RoutingRules).toHaveLength(1);
    const [rule] = RoutingRules;
    // Imported here, not at the top: the local server's module graph is large, and only this test needs it.
    const { dynamicRoutingRule } = await import('../../src/local/serve');
    const local = dynamicRoutingRule('API_HOST', 'https');
    expect(rule.RoutingRuleCondition).toEqual(local.RoutingRuleCondition);
    expect({ ...rule.RedirectRule, HostName: 'API_HOST' }).toEqual(local.RedirectRule);
    expect(rule.RedirectRule.HostName).toEqual({ 'Fn::Sub': '${HttpApi}.execute-api.${AWS::Region}.amazonaws.com' });
    const policy = website.LibraryBucketPolicy.Properties.PolicyDocument.Statement as AnyObject[];
    const publicAllows = policy.filter((st) => st.Effect === 'Allow' && st.Principal === '*');
    expect(publicAllows.map((st) => [st.Action, st.Resource])).toEqual([['s3:GetObject', { 'Fn::Sub': '${LibraryBucket.Arn}/*' }]]);
    // No public ListBucket: the key listing stays private (a missing object still answers 404 on the website endpoint).
    expect(policy.filter((st) => [st.Action].flat().includes('s3:ListBucket'))).toEqual([]);
    expect(policy.find((st) => st.Effect === 'Deny')?.Resource).toEqual({ 'Fn::Sub': '${LibraryBucket.Arn}/runs/*' });
    expect(website.LibraryBucket.Properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: false, RestrictPublicBuckets: false });
    // The CDN is there in website mode too.
    expect(website.LibraryDistribution.Type).toBe('AWS::CloudFront::Distribution');
  });

  it('auto-starts: the inventory bucket it creates invokes the starter on manifest.checksum under the prefix, and only there', () => {
    const bucket = resources.InventoryBucket!;
    expect(bucket.Properties.BucketName).toBe('photo-scaler-source-test-inventory');
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true });
    expect(bucket.Properties.NotificationConfiguration).toEqual({
      LambdaConfigurations: [
        {
          Event: 's3:ObjectCreated:*',
          Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: 'inventory/' }, { Name: 'suffix', Value: 'manifest.checksum' }] } },
          Function: { 'Fn::GetAtt': ['StartRunLambdaFunction', 'Arn'] },
        },
      ],
    });
    // S3 checks it may invoke the function when the notification is put: the permission comes first.
    expect([bucket.DependsOn].flat()).toContain('StartRunInvokedByInventoryBucket');
    expect(resources.StartRunInvokedByInventoryBucket!.Properties).toEqual({
      FunctionName: { 'Fn::GetAtt': ['StartRunLambdaFunction', 'Arn'] },
      Action: 'lambda:InvokeFunction',
      Principal: 's3.amazonaws.com',
      SourceArn: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::photo-scaler-source-test-inventory' },
      SourceAccount: { Ref: 'AWS::AccountId' },
    });
    const starter = resources.StartRunLambdaFunction!.Properties;
    expect(starter.Handler).toBe('src/handlers/start-run.handler');
    expect(starter.Role).toEqual({ 'Fn::GetAtt': ['StartRunRole', 'Arn'] });
    expect(starter.Environment.Variables).toMatchObject({ STATE_MACHINE_ARN: { Ref: 'MigrateStateMachine' }, SOURCE_BUCKET: 'photo-scaler-source-test' });
  });

  it('gives the starter its own role: its log group, the reports, StartExecution of this state machine, nothing else', () => {
    expect(resources.StartRunRole!.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ]);
    const statements = roleStatements('StartRunRole');
    expect(statements.map((s) => [[s.Action].flat().sort(), s.Resource])).toEqual([
      [['logs:CreateLogStream', 'logs:PutLogEvents'], { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/photo-scaler-test-startRun:*' }],
      [['s3:GetObject'], { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::photo-scaler-source-test-inventory/inventory/*' }],
      [['s3:ListBucket'], { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::photo-scaler-source-test-inventory' }],
      [['states:StartExecution'], { Ref: 'MigrateStateMachine' }],
      [['sqs:SendMessage'], { 'Fn::GetAtt': ['StartRunDeadLetterQueue', 'Arn'] }],
    ]);
    expect(statementWith(statements, 's3:ListBucket')[0]!.Condition).toEqual({ StringLike: { 's3:prefix': 'inventory/*' } });
    // The starter's log group is the one its role may write.
    expect(resources.StartRunLogGroup!.Properties.LogGroupName).toBe('/aws/lambda/photo-scaler-test-startRun');
  });

  it('sources runs (issue 20): the fetch function writes the source bucket and its logs, nothing else; its own concurrency; the allowlist a parameter', () => {
    const fetch = resources.FetchLambdaFunction!.Properties;
    expect(fetch).toMatchObject({ Handler: 'src/handlers/fetch.handler', Timeout: 40, Role: { 'Fn::GetAtt': ['FetchRole', 'Arn'] }, ReservedConcurrentExecutions: 50 });
    expect(fetch.Environment.Variables).toMatchObject({ SOURCE_BUCKET: 'photo-scaler-source-test', FETCH_ALLOW_HOSTS: '' });
    expect(roleStatements('FetchRole').map((s) => [[s.Action].flat().sort(), s.Resource])).toEqual([
      [['logs:CreateLogStream', 'logs:PutLogEvents'], { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/photo-scaler-test-fetch:*' }],
      [['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'], { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::photo-scaler-source-test/*' }],
      [['s3:ListBucket'], { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::photo-scaler-source-test' }],
    ]);
    expect(resources.FetchLogGroup!.Properties.LogGroupName).toBe('/aws/lambda/photo-scaler-test-fetch');
    // Its Task's TimeoutSeconds is 5 s over the function's timeout, as every step's.
    const machine = resources.MigrateSourcesStateMachine!;
    expect(machine.Properties).toMatchObject({ StateMachineName: 'photo-scaler-migrate-sources-test', RoleArn: { 'Fn::GetAtt': ['MigrateSourcesStateMachineRole', 'Arn'] } });
    expect(machine.Properties.LoggingConfiguration).toMatchObject({ IncludeExecutionData: false, Level: 'ERROR' });
    const sourcesRole = roleStatements('MigrateSourcesStateMachineRole');
    expect(statementWith(sourcesRole, 'lambda:InvokeFunction')[0]!.Resource).toContainEqual({ 'Fn::GetAtt': ['FetchLambdaFunction', 'Arn'] });
    expect(statementWith(sourcesRole, 's3:GetObject')[0]!.Resource).toEqual({ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::photo-scaler-source-test-inventory/sources/*' });
    expect(template.Outputs.MigrateSourcesStateMachineArn).toMatchObject({ Value: { Ref: 'MigrateSourcesStateMachine' } });
  });

  it('syncs live: our custom resource puts the source bucket\'s notifications to the sync function, after S3 may invoke it; failures go to a dead-letter queue', () => {
    expect(Object.values(resources).filter((resource) => resource.Type === 'Custom::S3')).toEqual([]);
    const notifications = resources.SourceBucketNotifications!;
    expect(notifications.Type).toBe('Custom::SourceBucketNotifications');
    expect(notifications.Properties).toEqual({
      ServiceToken: { 'Fn::GetAtt': ['SourceNotificationsLambdaFunction', 'Arn'] },
      ServiceTimeout: 300,
      BucketName: 'photo-scaler-source-test',
      FunctionArn: { 'Fn::GetAtt': ['SyncLambdaFunction', 'Arn'] },
      Events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'],
      IdPrefix: 'photo-scaler-test-sync',
    });
    // S3 checks the destination's permission when the configuration is put.
    expect([notifications.DependsOn].flat()).toContain('SyncInvokedBySourceBucket');
    expect(resources.SyncInvokedBySourceBucket!.Properties).toEqual({
      FunctionName: { 'Fn::GetAtt': ['SyncLambdaFunction', 'Arn'] },
      Action: 'lambda:InvokeFunction',
      Principal: 's3.amazonaws.com',
      SourceArn: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::photo-scaler-source-test' },
      SourceAccount: { Ref: 'AWS::AccountId' },
    });
    const handler = resources.SourceNotificationsLambdaFunction!.Properties;
    expect(handler).toMatchObject({ Handler: 'src/handlers/source-notifications.handler', Role: { 'Fn::GetAtt': ['SourceNotificationsRole', 'Arn'] } });
    // It may change the notifications of the source bucket only, and write its own logs.
    expect(roleStatements('SourceNotificationsRole').map((s) => [[s.Action].flat().sort(), s.Resource])).toEqual([
      [['logs:CreateLogStream', 'logs:PutLogEvents'], { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/photo-scaler-test-sourceNotifications:*' }],
      [['s3:GetBucketNotification', 's3:PutBucketNotification'], { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::photo-scaler-source-test' }],
    ]);
    expect(resources.SourceNotificationsLogGroup!.Properties.LogGroupName).toBe('/aws/lambda/photo-scaler-test-sourceNotifications');

    const sync = resources.SyncLambdaFunction!.Properties;
    expect(sync).toMatchObject({ Handler: 'src/handlers/sync.handler', MemorySize: 1769, Timeout: 120, Role: { 'Fn::GetAtt': ['IamRoleLambdaExecution', 'Arn'] } });
    expect(resources.SyncLambdaEvConf!.Properties).toMatchObject({
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 21600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['SyncDeadLetterQueue', 'Arn'] } } },
    });
    expect(resources.SyncDeadLetterQueue!.Properties).toEqual({ MessageRetentionPeriod: 1209600, SqsManagedSseEnabled: true });
  });

  // Lambda's Node.js 24 runtime refuses a handler declared with three or more parameters (event,
  // context, callback) with Runtime.CallbackHandlerDeprecated (Lambda Developer Guide, "Define Lambda
  // function handler in Node.js": callback handlers are supported up to Node.js 22). So every packaged
  // function is loaded from its own zip, the way Lambda loads it, and its handler's arity checked.
  it('loads every packaged function\'s handler from its zip: a function of fewer than three parameters on nodejs24.x, or a streaming one', async () => {
    const functions = Object.entries(resources).filter(([, resource]) => resource.Type === 'AWS::Lambda::Function');
    const loaded = await loadPackagedHandlers(functions.map(([id, fn]) => ({ id, zip: join(out, String(fn.Properties.Code.S3Key).split('/').pop()!), handler: fn.Properties.Handler })));
    expect(loaded.map((h) => h.id).sort()).toEqual(functions.map(([id]) => id).sort());
    for (const { id, type, length, streaming, error } of loaded) {
      expect(error, id).toBeUndefined();
      expect(type, id).toBe('function');
      // A response-streaming handler (event, responseStream, context) is not a callback handler: the
      // runtime checks its mark first (runtime interface client, src/WarningForCallbackHandlers.js).
      if (!streaming) expect(length, `${id}: a handler of ${length} parameters`).toBeLessThan(3);
      expect(resources[id]!.Properties.Runtime, id).toBe('nodejs24.x');
    }
    // Exactly the function behind a RESPONSE_STREAM function URL streams.
    expect(loaded.filter((h) => h.streaming).map((h) => h.id)).toEqual(['ResolveLambdaFunction']);
  });

  it('the arity check itself: catches a callback-style handler and a handler missing from its zip, tells a streaming one apart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'photo-scaler-arity-'));
    try {
      const { writeFileSync } = await import('node:fs');
      const { deflateRawSync } = await import('node:zlib');
      const zip = join(dir, 'callback.zip');
      writeFileSync(
        zip,
        makeZip(
          {
            'src/handlers/callback.js': 'module.exports.handler = (event, context, callback) => callback(null, 1);',
            'src/handlers/stream.js': 'module.exports.handler = awslambda.streamifyResponse(async (event, responseStream, context) => responseStream.end());',
          },
          deflateRawSync,
        ),
      );
      const [callback, missing, stream] = await loadPackagedHandlers([
        { id: 'Callback', zip, handler: 'src/handlers/callback.handler' },
        { id: 'Missing', zip, handler: 'src/handlers/absent.handler' },
        { id: 'Stream', zip, handler: 'src/handlers/stream.handler' },
      ]);
      expect(callback).toMatchObject({ type: 'function', length: 3, streaming: false });
      expect(missing!.error).toMatch(/Cannot find module/);
      expect(stream).toMatchObject({ type: 'function', length: 3, streaming: true });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});


/** A CloudFormation condition of literals (what packaging leaves once params are in): its value. */
function conditionValue(template: AnyObject, name: string): boolean {
  const evaluate = (value: any): any => {
    if (value && typeof value === 'object') {
      if ('Fn::Not' in value) return !evaluate(value['Fn::Not'][0]);
      if ('Fn::Equals' in value) return JSON.stringify(evaluate(value['Fn::Equals'][0])) === JSON.stringify(evaluate(value['Fn::Equals'][1]));
      if ('Fn::And' in value) return value['Fn::And'].every(evaluate);
      if ('Fn::Or' in value) return value['Fn::Or'].some(evaluate);
      if ('Condition' in value) return conditionValue(template, value.Condition);
      throw new Error(`not a literal condition: ${JSON.stringify(value)}`);
    }
    return value;
  };
  return evaluate(template.Conditions[name]);
}

/**
 * A template value with every Fn::If chosen by its condition's value, AWS::NoValue dropped, and the
 * resources whose Condition is false left out: what CloudFormation would create.
 */
function chosen(template: AnyObject, value: any): any {
  const pick = (v: any): any => {
    if (Array.isArray(v)) return v.map(pick).filter((item) => item !== NO_VALUE);
    if (!v || typeof v !== 'object') return v;
    if ('Fn::If' in v) {
      const [condition, yes, no] = v['Fn::If'];
      return pick(conditionValue(template, condition) ? yes : no);
    }
    if (v.Ref === 'AWS::NoValue') return NO_VALUE;
    const out: AnyObject = {};
    for (const [key, item] of Object.entries(v)) {
      const picked = pick(item);
      if (picked !== NO_VALUE) out[key] = picked;
    }
    return out;
  };
  const result = pick(value);
  if (value === template.Resources) {
    for (const [id, resource] of Object.entries(template.Resources as Record<string, AnyObject>)) if (resource.Condition && !conditionValue(template, resource.Condition)) delete result[id];
  }
  return result;
}
const NO_VALUE = Symbol('AWS::NoValue');

/**
 * The DynamoDB actions serveDynamic calls, in order, through the real adapter (DynamoCatalog on an SDK
 * client whose request handler records each request's X-Amz-Target and answers as DynamoDB would for an
 * empty table, then for one holding the row just written): a new size, then the same size again.
 */
async function onDemandDynamoActions(): Promise<string[]> {
  const called: string[] = [];
  const written: Array<Record<string, unknown>> = [];
  const handler = {
    handle: async (request: { headers: Record<string, string>; body?: string }) => {
      const operation = request.headers['x-amz-target']!.split('.')[1]!;
      called.push(`dynamodb:${operation}`);
      const input = JSON.parse(request.body ?? '{}') as { Item?: Record<string, unknown> };
      if (input.Item) written.push(input.Item);
      const answer = operation === 'Query' ? { Items: written, Count: written.length, ScannedCount: written.length } : {};
      return { response: new HttpResponse({ statusCode: 200, headers: { 'content-type': 'application/x-amz-json-1.0' }, body: Readable.from([Buffer.from(JSON.stringify(answer))]) }) };
    },
  };
  const client = new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, requestHandler: handler, maxAttempts: 1 });
  const store = new MemoryStore();
  await store.put({ bucket: 'source', key: 'trips/a.jpg' }, await noiseJpeg(640, 480, 3), { contentType: 'image/jpeg' });
  const context: OnDemandContext = { store, catalog: new DynamoCatalog(client, 'catalog'), libraryBucket: 'library', sourceBucket: 'source', config: appConfig, presets: validateConfig(appConfig), renderGate: new RenderGate(1) };
  for (let i = 0; i < 2; i++) expect(await serveDynamic(context, { size: '150x150', key: 'trips/a.jpg' })).toMatchObject({ status: 301, rendered: i === 0 });
  return called;
}

/** A role's statements with each Fn::If chosen by its condition's value (AWS::NoValue dropped). */
function effectiveStatements(template: AnyObject, logicalId: string): AnyObject[] {
  const choose = (statement: AnyObject): AnyObject[] => {
    if (!('Fn::If' in statement)) return [statement];
    const [condition, yes, no] = statement['Fn::If'];
    const picked = conditionValue(template, condition) ? yes : no;
    return picked && picked.Ref === 'AWS::NoValue' ? [] : choose(picked);
  };
  return template.Resources[logicalId].Properties.Policies.flatMap((policy: AnyObject) => policy.PolicyDocument.Statement.flatMap(choose));
}

describe('serverless package: secrets, SSE-KMS, concurrency, failure destinations', () => {
  it('puts no secret in the template or any zip, only the SSM parameter\'s name (even with one in the packaging shell)', () => {
    const everything = [readFileSync(join(out, 'cloudformation-template-update-stack.json'), 'utf8'), readFileSync(join(configuredOut, 'cloudformation-template-update-stack.json'), 'utf8')];
    for (const file of ['onDemand', 'resolve', 'sync', 'resize', 'dedupe']) for (const [, read] of zipEntries(join(out, `${file}.zip`))) everything.push(read().toString('latin1'));
    expect(everything.some((text) => text.includes(CANARY_SECRET))).toBe(false);
    for (const [id, fn] of Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function')) {
      const names = Object.keys(fn.Properties.Environment?.Variables ?? {});
      expect(names.filter((name) => /SECRET/.test(name) && name !== 'SIGNING_SECRET_PARAMETER'), id).toEqual([]);
    }
    expect(resources.OnDemandLambdaFunction!.Properties.Environment.Variables.SIGNING_SECRET_PARAMETER).toBe('');
    expect(configured.Resources.OnDemandLambdaFunction.Properties.Environment.Variables.SIGNING_SECRET_PARAMETER).toBe(SECRET_PARAMETER);
  });

  it('lets only the on-demand function read the signing secret, and only that parameter, when one is configured', () => {
    const ssmReaders = (t: AnyObject) =>
      Object.entries(t.Resources as Record<string, AnyObject>)
        .filter(([, r]) => r.Type === 'AWS::IAM::Role')
        .flatMap(([id]) => effectiveStatements(t, id).filter((st) => [st.Action].flat().some((a: string) => a.startsWith('ssm:'))).map((st) => [id, st]));
    expect(conditionValue(template, 'HasSigningSecret')).toBe(false);
    expect(ssmReaders(template)).toEqual([]);
    expect(conditionValue(configured, 'HasSigningSecret')).toBe(true);
    expect(ssmReaders(configured)).toEqual([
      ['OnDemandRole', { Sid: 'ReadTheSigningSecret', Effect: 'Allow', Action: ['ssm:GetParameter'], Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${SECRET_PARAMETER}` } }],
    ]);
  });

  it('grants kms:Decrypt on the source bucket\'s key, through S3 only, to the functions that read originals, when one is configured', () => {
    const decrypt = { Sid: 'DecryptOriginals', Effect: 'Allow', Action: ['kms:Decrypt'], Resource: KMS_KEY, Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Sub': 's3.${AWS::Region}.amazonaws.com' } } } };
    expect(conditionValue(template, 'HasSourceKmsKey')).toBe(false);
    expect(conditionValue(configured, 'HasSourceKmsKey')).toBe(true);
    const policy = configured.Resources.SourceKmsDecrypt;
    expect(policy).toMatchObject({ Type: 'AWS::IAM::Policy', Condition: 'HasSourceKmsKey', Properties: { Roles: [{ Ref: 'IamRoleLambdaExecution' }] } });
    expect(policy.Properties.PolicyDocument.Statement).toEqual([decrypt]);
    expect(effectiveStatements(configured, 'OnDemandRole')).toContainEqual(decrypt);
    expect(effectiveStatements(template, 'OnDemandRole').filter((st) => [st.Action].flat().includes('kms:Decrypt'))).toEqual([]);
  });

  it('gives the on-demand function its own role: read originals and the library, add to it, rows by Query and PutItem (BatchWriteItem: earlier versions\' code, during a deploy); no delete', () => {
    const statements = effectiveStatements(template, 'OnDemandRole');
    const actions = statements.flatMap((st) => [st.Action].flat()).sort();
    expect(actions).toEqual(['dynamodb:BatchWriteItem', 'dynamodb:PutItem', 'dynamodb:Query', 'logs:CreateLogStream', 'logs:PutLogEvents', 's3:GetObject', 's3:GetObject', 's3:ListBucket', 's3:ListBucket', 's3:PutObject']);
    expect(resources.OnDemandLambdaFunction!.Properties.Role).toEqual({ 'Fn::GetAtt': ['OnDemandRole', 'Arn'] });
    expect(resources.ResolveLambdaFunction!.Properties.Role).toEqual({ 'Fn::GetAtt': ['OnDemandRole', 'Arn'] });
  });

  it('grants the on-demand role every DynamoDB action the on-demand code calls (its operations as sent, X-Amz-Target)', async () => {
    const granted = new Set(effectiveStatements(template, 'OnDemandRole').flatMap((st) => [st.Action].flat()));
    const called = await onDemandDynamoActions();
    // A new size (rows, then its row) and the same size asked again (rows only).
    expect(called).toEqual(['dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:Query']);
    expect(called.filter((action) => !granted.has(action))).toEqual([]);
    // The check itself: an action the role lacks is named.
    expect([...called, 'dynamodb:DeleteItem'].filter((action) => !granted.has(action))).toEqual(['dynamodb:DeleteItem']);
  });

  it('reserves concurrency for live sync, on-demand and fetch only, and keeps the starter\'s failed events in a queue', () => {
    const reserved = Object.fromEntries(
      Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties.ReservedConcurrentExecutions !== undefined).map(([id, r]) => [id, r.Properties.ReservedConcurrentExecutions]),
    );
    expect(reserved).toEqual({ SyncLambdaFunction: 20, OnDemandLambdaFunction: 50, ResolveLambdaFunction: 50, FetchLambdaFunction: 50 });
    expect(resources.StartRunLambdaEvConf!.Properties).toMatchObject({ MaximumRetryAttempts: 2, DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['StartRunDeadLetterQueue', 'Arn'] } } } });
    expect(resources.StartRunDeadLetterQueue!.Properties).toEqual({ MessageRetentionPeriod: 1209600, SqsManagedSseEnabled: true });
    expect(template.Outputs.StartRunDeadLetterQueueUrl).toEqual({ Value: { Ref: 'StartRunDeadLetterQueue' } });
  });

  it('refuses to package what AWS would refuse: a bucket name S3 does not take, a stage too long for function names', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'photo-scaler-package-refused-'));
    try {
      const output = (error: { stdout?: string; stderr?: string }) => `${error.stdout}${error.stderr}`;
      const refused = await packageStack(dir, ['--param=sourceBucket=My_Photos', '--param=inventoryBucket=my-photos-inventory-' + 'x'.repeat(50)]).then(() => undefined, (error) => output(error));
      expect(refused).toMatch(/param sourceBucket "My_Photos" may hold only lowercase letters[\s\S]*param inventoryBucket "my-photos-inventory-x+" is 70 characters; S3 bucket names have 3 to 63/);
      const long = await run(join(ROOT, 'node_modules/.bin/serverless'), ['package', '--stage', 'a-stage-name-far-too-long-for-lambda', '--param=sourceBucket=photos', '--package', dir], { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', SLS_TELEMETRY_DISABLED: '1', CI: '1' }, timeout: 120_000 }).then(() => undefined, (error) => output(error));
      expect(long).toMatch(/function name "photo-scaler-a-stage-name-far-too-long-for-lambda-sourceNotifications" is 69 characters; Lambda function names have at most 64/);
      expect(existsSync(join(dir, 'cloudformation-template-update-stack.json'))).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 240_000);
});

describe('serverless package: HTTPS through CloudFront, a private bucket, 200 at every logical URL', () => {
  const DISTRIBUTION_ARN = { 'Fn::Sub': 'arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${LibraryDistribution}' };
  const cdn = () => chosen(template, template.Resources);

  it('serves viewers over HTTPS only, GET and HEAD only: assets from the bucket, every other path from the resolver', () => {
    const config = cdn().LibraryDistribution.Properties.DistributionConfig;
    expect(config).toMatchObject({ Enabled: true, HttpVersion: 'http2and3', PriceClass: 'PriceClass_100', ViewerCertificate: { CloudFrontDefaultCertificate: true } });
    expect(config.Origins.map((o: AnyObject) => o.Id)).toEqual(['library', 'resolver']);
    const [library, resolver] = config.Origins;
    expect(library).toMatchObject({ DomainName: { 'Fn::GetAtt': ['LibraryBucket', 'RegionalDomainName'] }, S3OriginConfig: { OriginAccessIdentity: '' }, OriginAccessControlId: { Ref: 'LibraryOriginAccessControl' } });
    expect(resolver).toMatchObject({
      DomainName: { 'Fn::Select': [2, { 'Fn::Split': ['/', { 'Fn::GetAtt': ['ResolveLambdaFunctionUrl', 'FunctionUrl'] }] }] },
      CustomOriginConfig: { OriginProtocolPolicy: 'https-only' },
      OriginAccessControlId: { Ref: 'ResolverOriginAccessControl' },
    });
    const behaviors = [{ PathPattern: '*', ...config.DefaultCacheBehavior }, ...config.CacheBehaviors];
    expect(behaviors.map((b: AnyObject) => [b.PathPattern, b.TargetOriginId])).toEqual([['*', 'resolver'], ['assets/*', 'library'], ['dynamic/*', 'resolver']]);
    for (const behavior of behaviors) {
      expect(behavior.ViewerProtocolPolicy, behavior.PathPattern).toBe('redirect-to-https');
      expect(behavior.AllowedMethods, behavior.PathPattern).toEqual(['GET', 'HEAD']);
    }
    expect(config.CustomErrorResponses).toEqual([{ ErrorCode: 403, ErrorCachingMinTTL: 0 }]);
  });

  it('rewrites every request URI to its canonical spelling first, with the very function the local CDN view and the invalidations use', async () => {
    const r = cdn();
    const fn = r.CanonicalUriFunction.Properties;
    expect(fn).toMatchObject({ AutoPublish: true, FunctionConfig: { Runtime: 'cloudfront-js-2.0' } });
    const arn = { 'Fn::GetAtt': ['CanonicalUriFunction', 'FunctionMetadata.FunctionARN'] };
    const config = r.LibraryDistribution.Properties.DistributionConfig;
    expect(config.DefaultCacheBehavior.FunctionAssociations).toEqual([{ EventType: 'viewer-request', FunctionARN: arn }]);
    expect(config.CacheBehaviors.map((b: AnyObject) => [b.PathPattern, b.FunctionAssociations])).toEqual([
      ['assets/*', undefined],
      ['dynamic/*', [{ EventType: 'viewer-request', FunctionARN: arn }]],
    ]);
    // The packaged code, run as CloudFront runs it (a handler over event.request), agrees with canonicalUri.
    const { runInNewContext } = await import('node:vm');
    const { canonicalUri } = await import('../../src/core/cdn');
    const sandbox: AnyObject = {};
    runInNewContext(`${fn.FunctionCode}\nresult = handler;`, sandbox);
    for (const uri of ['/small/a%20b%2Bc.jpg', '//medium/x.jpg', '/%73mall/st%C3%A4dte/Z%C3%BCrich.jpg', '/dynamic/300x200/a*b.jpg', '/bad%E0%A4%A.jpg', '/x~y%7Ez.jpg']) {
      const request = sandbox.result({ request: { uri, method: 'GET', querystring: {}, headers: {} } });
      expect(request.uri, uri).toBe(canonicalUri(uri) ?? uri);
    }
    // …and sets the normalised format choice from Accept (formatChoice), whatever the viewer sent under its name.
    const { formatChoice, FORMAT_HEADER } = await import('../../src/core/negotiate');
    for (const accept of ['image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8', 'image/webp;q=0, image/*', '*/*']) {
      const request = sandbox.result({ request: { uri: '/small/a.jpg', method: 'GET', querystring: {}, headers: { accept: { value: accept }, [FORMAT_HEADER]: { value: 'avif' } } } });
      expect(request.headers[FORMAT_HEADER], accept).toEqual({ value: formatChoice(accept) });
    }
  });

  it('keeps query strings out of every cache key; only ?sig= reaches the resolver, under dynamic/; logical URLs key on the format choice, never on Accept', () => {
    const r = cdn();
    const config = r.LibraryDistribution.Properties.DistributionConfig;
    const policyOf = (behavior: AnyObject) => r[behavior.CachePolicyId.Ref].Properties.CachePolicyConfig;
    for (const behavior of [config.DefaultCacheBehavior, ...config.CacheBehaviors]) {
      const key = policyOf(behavior).ParametersInCacheKeyAndForwardedToOrigin;
      const headers = behavior.PathPattern === 'assets/*' ? { HeaderBehavior: 'none' } : { HeaderBehavior: 'whitelist', Headers: ['x-photo-format'] };
      expect(key, behavior.PathPattern ?? 'default').toMatchObject({ QueryStringsConfig: { QueryStringBehavior: 'none' }, HeadersConfig: headers, CookiesConfig: { CookieBehavior: 'none' } });
    }
    expect(policyOf(config.CacheBehaviors[0])).toMatchObject({ MinTTL: 31536000, DefaultTTL: 31536000 });
    expect(policyOf(config.DefaultCacheBehavior)).toMatchObject({ MinTTL: 0, DefaultTTL: 86400, MaxTTL: 31536000 });
    const dynamic = config.CacheBehaviors[1];
    expect(r[dynamic.OriginRequestPolicyId.Ref].Properties.OriginRequestPolicyConfig.QueryStringsConfig).toEqual({ QueryStringBehavior: 'whitelist', QueryStrings: ['sig'] });
    expect(config.DefaultCacheBehavior.OriginRequestPolicyId).toBeUndefined();
  });

  it('keeps the bucket private: its only Allow is CloudFront\'s service principal, for this distribution, on assets/ only; no website', () => {
    const r = cdn();
    const statements = r.LibraryBucketPolicy.Properties.PolicyDocument.Statement as AnyObject[];
    expect(statements).toEqual([
      {
        Sid: 'CloudFrontReadsAssets',
        Effect: 'Allow',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Action: 's3:GetObject',
        Resource: { 'Fn::Sub': '${LibraryBucket.Arn}/assets/*' },
        Condition: { StringEquals: { 'AWS:SourceArn': DISTRIBUTION_ARN } },
      },
    ]);
    expect(r.LibraryBucket.Properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true });
    expect(r.LibraryBucket.Properties.WebsiteConfiguration).toBeUndefined();
    for (const gone of ['OnDemandLambdaFunction', 'HttpApi', 'HttpApiStage', 'HttpApiIntegrationOnDemand', 'OnDemandLambdaPermissionHttpApi']) expect(r[gone], gone).toBeUndefined();
    expect(Object.entries(template.Outputs).filter(([, o]: [string, any]) => !o.Condition || conditionValue(template, o.Condition)).map(([id]) => id)).toEqual(
      expect.arrayContaining(['CdnUrl', 'CdnDistributionId']),
    );
    expect(template.Outputs.CdnUrl).toEqual({ Value: { 'Fn::Sub': 'https://${LibraryDistribution.DomainName}' } });
    expect(template.Outputs.LibraryWebsiteUrl.Condition).toBe('WebsiteMode');
    const oac = (id: string) => r[id].Properties.OriginAccessControlConfig;
    expect([oac('LibraryOriginAccessControl'), oac('ResolverOriginAccessControl')].map((c) => [c.OriginAccessControlOriginType, c.SigningBehavior, c.SigningProtocol])).toEqual([
      ['s3', 'always', 'sigv4'],
      ['lambda', 'always', 'sigv4'],
    ]);
  });

  it('runs the resolver behind an IAM-authorized streaming function URL that only this distribution may invoke, with the on-demand role', async () => {
    const r = cdn();
    expect(r.ResolveLambdaFunctionUrl.Properties).toEqual({ AuthType: 'AWS_IAM', InvokeMode: 'RESPONSE_STREAM', TargetFunctionArn: { 'Fn::GetAtt': ['ResolveLambdaFunction', 'Arn'] } });
    const permissions = Object.values(r).filter((x: any) => x.Type === 'AWS::Lambda::Permission' && JSON.stringify(x.Properties.FunctionName).includes('ResolveLambdaFunction')) as AnyObject[];
    expect(permissions.map((p) => p.Properties).sort((a, b) => a.Action.localeCompare(b.Action))).toEqual([
      { FunctionName: { 'Fn::GetAtt': ['ResolveLambdaFunction', 'Arn'] }, Action: 'lambda:InvokeFunction', Principal: 'cloudfront.amazonaws.com', SourceArn: DISTRIBUTION_ARN, SourceAccount: { Ref: 'AWS::AccountId' } },
      { FunctionName: { 'Fn::GetAtt': ['ResolveLambdaFunction', 'Arn'] }, Action: 'lambda:InvokeFunctionUrl', FunctionUrlAuthType: 'AWS_IAM', Principal: 'cloudfront.amazonaws.com', SourceArn: DISTRIBUTION_ARN, SourceAccount: { Ref: 'AWS::AccountId' } },
    ]);
    const fn = r.ResolveLambdaFunction.Properties;
    expect(fn.Role).toEqual({ 'Fn::GetAtt': ['OnDemandRole', 'Arn'] });
    // What `photo-scaler estimate` prices a cache miss with.
    const { RESOLVE_MEMORY_MB } = await import('../../src/cli/estimate');
    expect(fn.MemorySize).toBe(RESOLVE_MEMORY_MB);
    expect(fn.Layers).toEqual([{ Ref: 'SharpLambdaLayer' }]);
    expect(fn.Environment.Variables).toMatchObject({ SOURCE_BUCKET: 'photo-scaler-source-test', SIGNING_SECRET_PARAMETER: '', LIBRARY_BUCKET: { Ref: 'LibraryBucket' } });
    const statements = effectiveStatements(template, 'OnDemandRole');
    expect(statementWith(statements, 's3:DeleteObject')).toEqual([]);
    expect(statementWith(statements, 'logs:PutLogEvents')[0]!.Resource).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/photo-scaler-test-resolve:*' },
      { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/photo-scaler-test-onDemand:*' },
    ]);
  });

  it('lets live sync invalidate this distribution only, and tells it which one', () => {
    const r = cdn();
    expect(r.SyncLambdaFunction.Properties.Environment.Variables.CDN_DISTRIBUTION_ID).toEqual({ Ref: 'LibraryDistribution' });
    expect(r.SyncInvalidatesCdn.Properties).toMatchObject({ Roles: [{ Ref: 'IamRoleLambdaExecution' }] });
    expect(r.SyncInvalidatesCdn.Properties.PolicyDocument.Statement).toEqual([{ Sid: 'InvalidateLogicalUrls', Effect: 'Allow', Action: ['cloudfront:CreateInvalidation'], Resource: DISTRIBUTION_ARN }]);
    const cloudfrontActions = allStatements().flatMap(({ statement }) => [statement.Action].flat()).filter((a: string) => a?.startsWith?.('cloudfront:'));
    expect(cloudfrontActions).toEqual(['cloudfront:CreateInvalidation']);
  });
});

describe('template check against the CloudFormation resource specification and the IAM action list', () => {
  /** The problems of a copy of the packaged template after `change` broke it. */
  async function problemsAfter(change: (resources: Record<string, AnyObject>, template: AnyObject) => void): Promise<string[]> {
    const copy = structuredClone(template);
    change(copy.Resources, copy);
    return templateProblems(copy);
  }
  const R = 'Resources';

  it('finds no problem in the packaged template, nor in the one packaged with the optional parameters', async () => {
    expect(await templateProblems(template)).toEqual([]);
    expect(await templateProblems(configured)).toEqual([]);
  });

  it('catches an unknown resource type and an unknown property of a resource', async () => {
    expect(await problemsAfter((r) => (r.LibraryBucket!.Type = 'AWS::S3::Buckett'))).toEqual([`${R}.LibraryBucket.Type: unknown resource type AWS::S3::Buckett`]);
    expect(await problemsAfter((r) => (r.LibraryBucket!.Properties.BucketNam = 'photos'))).toEqual([`${R}.LibraryBucket.Properties.BucketNam: AWS::S3::Bucket has no property BucketNam`]);
  });

  it('catches a misspelt property inside a property type: a function\'s Environment.Variable, a KeySchema item\'s AttributeNam', async () => {
    expect(
      await problemsAfter((r) => {
        const environment = r.SyncLambdaFunction!.Properties.Environment;
        environment.Variable = environment.Variables;
        delete environment.Variables;
      }),
    ).toEqual([`${R}.SyncLambdaFunction.Properties.Environment.Variable: AWS::Lambda::Function.Environment has no property Variable`]);
    expect(
      await problemsAfter((r) => {
        const key = r.CatalogTable!.Properties.KeySchema[0];
        key.AttributeNam = key.AttributeName;
        delete key.AttributeName;
      }),
    ).toEqual([
      `${R}.CatalogTable.Properties.KeySchema[0].AttributeNam: AWS::DynamoDB::Table.KeySchema has no property AttributeNam`,
      `${R}.CatalogTable.Properties.KeySchema[0]: AWS::DynamoDB::Table.KeySchema requires property AttributeName`,
    ]);
  });

  it('catches a missing required property, a custom resource without ServiceToken, a value of the wrong shape, a misspelt Properties', async () => {
    expect(await problemsAfter((r) => delete r.SyncLambdaFunction!.Properties.Code)).toEqual([`${R}.SyncLambdaFunction.Properties: AWS::Lambda::Function requires property Code`]);
    expect(await problemsAfter((r) => delete r.StartRunRole!.Properties.AssumeRolePolicyDocument)).toEqual([`${R}.StartRunRole.Properties: AWS::IAM::Role requires property AssumeRolePolicyDocument`]);
    expect(await problemsAfter((r) => delete r.SourceBucketNotifications!.Properties.ServiceToken)).toEqual([
      `${R}.SourceBucketNotifications.Properties: custom resource Custom::SourceBucketNotifications has no ServiceToken`,
    ]);
    expect(await problemsAfter((r) => (r.SyncLambdaFunction!.Properties.Timeout = { Seconds: 120 }))).toEqual([
      `${R}.SyncLambdaFunction.Properties.Timeout: expected a value of type Integer, not {"Seconds":120}`,
    ]);
    const queue = await problemsAfter((r) => {
      r.SyncDeadLetterQueue!.Propertes = r.SyncDeadLetterQueue!.Properties;
      delete r.SyncDeadLetterQueue!.Properties;
    });
    expect(queue).toEqual([`${R}.SyncDeadLetterQueue.Propertes: not a resource attribute`]);
  });

  it('catches a Ref and a Fn::GetAtt of an undeclared resource, and a Fn::GetAtt of an attribute its type does not have', async () => {
    const variables = `${R}.SyncLambdaFunction.Properties.Environment.Variables`;
    const problems = await problemsAfter((r) =>
      Object.assign(r.SyncLambdaFunction!.Properties.Environment.Variables, {
        REF: { Ref: 'MissingBucket' },
        GETATT: { 'Fn::GetAtt': ['MissingBucket', 'Arn'] },
        ATTRIBUTE: { 'Fn::GetAtt': ['LibraryBucket', 'Nope'] },
        PSEUDO: { 'Fn::Join': [':', [{ Ref: 'AWS::Region' }, { Ref: 'AWS::AccountId' }, { Ref: 'AWS::URLSuffix' }]] },
      }),
    );
    expect(problems).toEqual([
      `${variables}.REF.Ref: "MissingBucket" is not a declared resource, parameter or pseudo parameter`,
      `${variables}.GETATT.Fn::GetAtt: "MissingBucket" is not a declared resource`,
      `${variables}.ATTRIBUTE.Fn::GetAtt: AWS::S3::Bucket LibraryBucket has no attribute Nope`,
    ]);
  });

  it('catches ${Missing} in a Fn::Sub, but not ${!Literal}, a pseudo parameter or a variable of its list form', async () => {
    const variables = `${R}.SyncLambdaFunction.Properties.Environment.Variables`;
    const problems = await problemsAfter((r) =>
      Object.assign(r.SyncLambdaFunction!.Properties.Environment.Variables, {
        STRING: { 'Fn::Sub': '${Missing}-${!Literal}-${AWS::Region}-${AWS::Partition}-${LibraryBucket.Arn}' },
        LIST: { 'Fn::Sub': ['${Local}-${AlsoMissing}-${LibraryBucket.Nope}-${CatalogTable}', { Local: { Ref: 'LibraryBucket' } }] },
      }),
    );
    expect(problems).toEqual([
      `${variables}.STRING.Fn::Sub: \${Missing}: "Missing" is not a declared resource, parameter or pseudo parameter`,
      `${variables}.LIST.Fn::Sub: \${AlsoMissing}: "AlsoMissing" is not a declared resource, parameter or pseudo parameter`,
      `${variables}.LIST.Fn::Sub: \${LibraryBucket.Nope}: AWS::S3::Bucket LibraryBucket has no attribute Nope`,
    ]);
  });

  it('catches an IAM action that does not exist: in a role\'s Policies, its AssumeRolePolicyDocument, an IAM::Policy, a bucket policy, a queue policy, a Lambda permission', async () => {
    const problems = await problemsAfter((r) => {
      r.IamRoleLambdaExecution!.Properties.Policies[0].PolicyDocument.Statement[0].Action = ['logs:CreateLogStream', 's3:GetObjects'];
      r.MigrateStateMachineRole!.Properties.AssumeRolePolicyDocument.Statement[0].Action = 'sts:AssumeRoles';
      r.SourceKmsDecrypt!.Properties.PolicyDocument.Statement[0].Action = ['kms:Decrypts'];
      r.LibraryBucketPolicy!.Properties.PolicyDocument.Statement[0].Action = 's3:GetObjects';
      r.SyncInvokedBySourceBucket!.Properties.Action = 'lambda:InvokeFunctions';
      // The stack has no queue policy: one is added, to show it would be checked.
      r.SyncDeadLetterQueuePolicy = {
        Type: 'AWS::SQS::QueuePolicy',
        Properties: {
          Queues: [{ Ref: 'SyncDeadLetterQueue' }],
          PolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: ['sqs:SendMessages'], Resource: { 'Fn::GetAtt': ['SyncDeadLetterQueue', 'Arn'] } }] },
        },
      };
    });
    expect(problems.sort()).toEqual(
      [
        `${R}.IamRoleLambdaExecution.Properties.Policies[0].PolicyDocument.Statement[0].Action[1]: IAM action s3:GetObjects does not exist`,
        `${R}.MigrateStateMachineRole.Properties.AssumeRolePolicyDocument.Statement[0].Action: IAM action sts:AssumeRoles does not exist`,
        `${R}.SourceKmsDecrypt.Properties.PolicyDocument.Statement[0].Action[0]: IAM action kms:Decrypts does not exist`,
        `${R}.LibraryBucketPolicy.Properties.PolicyDocument.Statement[0].Action: IAM action s3:GetObjects does not exist`,
        `${R}.SyncInvokedBySourceBucket.Properties.Action: IAM action lambda:InvokeFunctions does not exist`,
        `${R}.SyncDeadLetterQueuePolicy.Properties.PolicyDocument.Statement[0].Action[0]: IAM action sqs:SendMessages does not exist`,
      ].sort(),
    );
  });

  it('reads IAM actions as IAM does: wildcards must match an action, case does not matter, NotAction is checked too', async () => {
    const statement = `${R}.IamRoleLambdaExecution.Properties.Policies[0].PolicyDocument.Statement[0]`;
    const problems = await problemsAfter((r) => {
      Object.assign(r.IamRoleLambdaExecution!.Properties.Policies[0].PolicyDocument.Statement[0], {
        Action: ['logs:*', 's3:Get*', 'S3:getobject', 'dynamodb:?etItem', 's3:Nope*', 'nosuch:GetThing', 'GetObject'],
        NotAction: 'sqs:SendMessages',
      });
    });
    expect(problems).toEqual([
      `${statement}.Action[4]: s3:Nope* matches no IAM action`,
      `${statement}.Action[5]: IAM has no service prefix nosuch (in nosuch:GetThing)`,
      `${statement}.Action[6]: GetObject is not of the form service:action`,
      `${statement}.NotAction: IAM action sqs:SendMessages does not exist`,
    ]);
  });

  it('checks both branches of a Fn::If statement, and that Condition, Fn::If and DependsOn name what is declared', async () => {
    const statements = (r: Record<string, AnyObject>): AnyObject[] => r.OnDemandRole!.Properties.Policies[0].PolicyDocument.Statement;
    const at = statements(template.Resources).findIndex((statement) => 'Fn::If' in statement);
    expect(at).toBeGreaterThanOrEqual(0);
    const problems = await problemsAfter((r) => {
      const [, yes] = statements(r)[at]!['Fn::If'];
      statements(r)[at]!['Fn::If'][0] = 'HasNoSuchThing';
      yes.Action = ['ssm:GetParameterz'];
      r.SourceKmsDecrypt!.Condition = 'HasNothing';
      r.SyncLambdaFunction!.DependsOn = ['SyncLogGroup', 'NoSuchLogGroup'];
    });
    const statement = `${R}.OnDemandRole.Properties.Policies[0].PolicyDocument.Statement[${at}]`;
    expect(problems).toEqual([
      `${R}.SyncLambdaFunction.DependsOn[1]: "NoSuchLogGroup" is not a declared resource`,
      `${R}.SourceKmsDecrypt.Condition: condition "HasNothing" is not declared under Conditions`,
      `${statement}.Fn::If[0]: condition "HasNoSuchThing" is not declared under Conditions`,
      `${statement}.Fn::If[1].Action[0]: IAM action ssm:GetParameterz does not exist`,
    ]);
  });

  it('catches a resource or output that names a conditional resource where it may not exist', async () => {
    expect(template.Resources.HttpApi.Condition).toBe('WebsiteMode');
    const problems = await problemsAfter((r, t) => {
      delete r.HttpApiStage!.Condition;
      r.LibraryBucket!.Properties.WebsiteConfiguration = r.LibraryBucket!.Properties.WebsiteConfiguration['Fn::If'][1];
      r.CatalogTable!.DependsOn = ['HttpApi'];
      delete t.Outputs.OnDemandApiUrl.Condition;
    });
    expect(problems).toEqual([
      `${R}.HttpApiStage.Properties.ApiId: names HttpApi, which exists only when WebsiteMode holds`,
      `${R}.LibraryBucket.Properties.WebsiteConfiguration.RoutingRules[0].RedirectRule.HostName: names HttpApi, which exists only when WebsiteMode holds`,
      `${R}.CatalogTable.DependsOn: names HttpApi, which exists only when WebsiteMode holds`,
      'Outputs.OnDemandApiUrl.Value: names HttpApi, which exists only when WebsiteMode holds',
    ]);
  });
});

interface PackagedHandler {
  id: string;
  zip: string;
  /** `<file without .js>.<export>`, as in the template's Handler. */
  handler: string;
}

/**
 * Each zip extracted to its own folder and its handler required in a fresh Node.js process, as
 * Lambda does: CommonJS, with sharp reachable only where the layer puts it (NODE_PATH
 * /opt/nodejs/node_modules on Lambda; here a folder holding only sharp).
 */
async function loadPackagedHandlers(handlers: PackagedHandler[]): Promise<Array<{ id: string; type?: string; length?: number; streaming?: boolean; error?: string }>> {
  const root = await mkdtemp(join(tmpdir(), 'photo-scaler-handlers-'));
  try {
    const layer = join(root, 'opt/nodejs/node_modules');
    mkdirSync(layer, { recursive: true });
    symlinkSync(join(ROOT, 'node_modules/sharp'), join(layer, 'sharp'), 'dir');
    const jobs = handlers.map((h, index) => {
      const dir = join(root, `task-${index}`);
      mkdirSync(dir);
      extractZip(h.zip, dir);
      const cut = h.handler.lastIndexOf('.');
      return { id: h.id, file: join(dir, `${h.handler.slice(0, cut)}.js`), name: h.handler.slice(cut + 1) };
    });
    // The runtime puts \`awslambda\` on globalThis before it loads a handler; streamifyResponse marks the
    // handler with its symbol (aws-lambda-nodejs-runtime-interface-client, src/UserFunction.js).
    const script = `
      const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
      globalThis.awslambda = {
        streamifyResponse: (handler) => { handler[STREAMING] = 'response'; return handler; },
        HttpResponseStream: { from: (stream) => stream },
      };
      const out = [];
      for (const job of JSON.parse(process.argv[1])) {
        try {
          const fn = require(job.file)[job.name];
          out.push({ id: job.id, type: typeof fn, length: typeof fn === 'function' ? fn.length : undefined, streaming: typeof fn === 'function' && fn[STREAMING] === 'response' });
        } catch (error) { out.push({ id: job.id, error: String(error && error.message || error) }); }
      }
      process.stdout.write(JSON.stringify(out));`;
    const { stdout } = await run(process.execPath, ['-e', script, JSON.stringify(jobs)], {
      cwd: root,
      env: { PATH: process.env.PATH, NODE_PATH: layer, AWS_REGION: 'us-east-1' },
      timeout: 60_000,
      maxBuffer: 10 * 1024 * 1024,
    });
    return JSON.parse(stdout);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** A zip of the given files (deflated), for the arity check's own test. */
function makeZip(files: Record<string, string>, deflate: (data: Buffer) => Buffer): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of Object.entries(files)) {
    const data = Buffer.from(text);
    const packed = deflate(data);
    const nameBytes = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, packed);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + packed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
