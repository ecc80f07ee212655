// A Serverless Framework v3 plugin used by serverless.yml. Serverless v3 predates the Lambda runtimes
// that can still be deployed: Lambda blocks creating functions on nodejs18.x (since 2026-02) and on
// nodejs20.x (since 2026-08-31). This plugin
//  - adds nodejs22.x and nodejs24.x to v3's config schema, so `runtime: nodejs24.x` validates, and
//  - moves the Lambdas Serverless itself adds (the custom resource that configures S3 notifications
//    of an existing bucket, hard-coded to nodejs18.x) to the provider's runtime.
'use strict';

const CURRENT = ['nodejs22.x', 'nodejs24.x'];
const BLOCKED = new Set(['nodejs14.x', 'nodejs16.x', 'nodejs18.x', 'nodejs20.x']);

class CurrentRuntimes {
  constructor(serverless) {
    const runtimes = serverless.configSchemaHandler?.schema?.definitions?.awsLambdaRuntime?.enum;
    if (Array.isArray(runtimes)) for (const runtime of CURRENT) if (!runtimes.includes(runtime)) runtimes.push(runtime);
    this.hooks = {
      'before:package:finalize': () => {
        const runtime = serverless.service.provider.runtime;
        const resources = serverless.service.provider.compiledCloudFormationTemplate.Resources;
        for (const resource of Object.values(resources)) {
          if (resource.Type === 'AWS::Lambda::Function' && BLOCKED.has(resource.Properties?.Runtime)) resource.Properties.Runtime = runtime;
        }
      },
    };
  }
}

module.exports = CurrentRuntimes;
