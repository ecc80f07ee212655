// A Serverless Framework v3 plugin used by serverless.yml: refuses, before CloudFormation is asked,
// what a deploy would trip over (the checks themselves are src/aws/preflight.ts):
//  - at package time (offline, also inside `deploy`): bucket names S3 refuses, function names Lambda
//    refuses, a malformed KMS key ARN or SSM parameter name, bad reserved concurrency;
//  - at deploy time: a source bucket in another region than the deploy, an account whose Lambda
//    concurrency cannot hold this stack's reservations.
'use strict';

const { require: tsRequire } = require('tsx/cjs/api');

class Preflight {
  constructor(serverless, options) {
    this.serverless = serverless;
    this.options = options;
    this.checks = tsRequire('../src/aws/preflight.ts', __filename);
    this.hooks = {
      'before:package:initialize': () => this.beforePackage(),
      'before:deploy:deploy': () => this.beforeDeploy(),
    };
  }

  /** Serverless's own error: its message is printed, without a stack. */
  error(message) {
    const ServerlessError = this.serverless.classes && this.serverless.classes.Error;
    return ServerlessError ? new ServerlessError(message, 'PHOTO_SCALER_PREFLIGHT') : new Error(message);
  }

  facts() {
    const service = this.serverless.service;
    const preflight = (service.custom && service.custom.preflight) || {};
    const functions = service.getAllFunctions();
    const reservedConcurrency = {};
    for (const name of functions) {
      const fn = service.getFunction(name);
      if (fn.reservedConcurrency !== undefined) reservedConcurrency[name] = fn.reservedConcurrency;
    }
    return {
      stage: service.provider.stage,
      sourceBucket: String(preflight.sourceBucket ?? ''),
      inventoryBucket: String(preflight.inventoryBucket ?? ''),
      sourceKmsKeyArn: String(preflight.sourceKmsKeyArn ?? ''),
      signingSecretParameter: String(preflight.signingSecretParameter ?? ''),
      delivery: String(preflight.delivery ?? ''),
      cdnPriceClass: String(preflight.cdnPriceClass ?? ''),
      fetchAllowHosts: String(preflight.fetchAllowHosts ?? ''),
      functionNames: functions.map((name) => service.getFunction(name).name),
      reservedConcurrency,
    };
  }

  /** Photos the state machine runs at once: the Distributed Map's MaxConcurrency x its batch's. */
  batchConcurrency() {
    const machines = (this.serverless.service.stepFunctions && this.serverless.service.stepFunctions.stateMachines) || {};
    let most = 0;
    for (const { definition } of Object.values(machines)) {
      const map = definition && definition.States && definition.States[definition.StartAt];
      const processor = map && map.ItemProcessor;
      const inner = processor && processor.States && processor.States[processor.StartAt];
      if (map && inner) most = Math.max(most, (map.MaxConcurrency || 0) * (inner.MaxConcurrency || 1));
    }
    return most;
  }

  beforePackage() {
    const problems = this.checks.packageProblems(this.facts());
    if (problems.length > 0) throw this.error(`photo-scaler cannot be deployed as configured:\n  - ${problems.join('\n  - ')}`);
  }

  async beforeDeploy() {
    const provider = this.serverless.getProvider('aws');
    const facts = this.facts();
    const location = await provider.request('S3', 'getBucketLocation', { Bucket: facts.sourceBucket });
    const { AccountLimit } = await provider.request('Lambda', 'getAccountSettings', {});
    const result = this.checks.deployProblems({
      region: provider.getRegion(),
      sourceBucket: facts.sourceBucket,
      sourceRegion: this.checks.regionOfLocation(location.LocationConstraint),
      accountConcurrency: AccountLimit.ConcurrentExecutions,
      reserved: Object.fromEntries(Object.entries(facts.reservedConcurrency).map(([fn, n]) => [fn, Number(n)])),
      batchConcurrency: this.batchConcurrency(),
    });
    for (const warning of result.warnings) this.serverless.cli.log(`photo-scaler: ${warning}`);
    if (result.problems.length > 0) throw this.error(`photo-scaler cannot be deployed here:\n  - ${result.problems.join('\n  - ')}`);
  }
}

module.exports = Preflight;
