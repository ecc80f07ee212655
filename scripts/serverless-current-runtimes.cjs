// A Serverless Framework v3 plugin used by serverless.yml. Serverless v3 predates the Lambda runtimes
// that can still be deployed: Lambda blocks creating functions on nodejs18.x and on nodejs20.x (since
// 2026-08-31; Lambda Developer Guide, "Building Lambda functions with Node.js", runtime table). This
// plugin
//  - adds nodejs22.x and nodejs24.x to v3's config schema, so `runtime: nodejs24.x` validates, and
//  - refuses to package a function on a runtime Lambda no longer creates (Serverless itself adds
//    such functions, e.g. the nodejs18.x custom resource behind `existing: true` S3 events; moving
//    that one to nodejs24.x is no fix: its handler is callback-style, which Node.js 24 refuses).
'use strict';

const CURRENT = ['nodejs22.x', 'nodejs24.x'];
const BLOCKED = new Set(['nodejs14.x', 'nodejs16.x', 'nodejs18.x', 'nodejs20.x']);

class CurrentRuntimes {
  constructor(serverless) {
    const runtimes = serverless.configSchemaHandler?.schema?.definitions?.awsLambdaRuntime?.enum;
    if (Array.isArray(runtimes)) for (const runtime of CURRENT) if (!runtimes.includes(runtime)) runtimes.push(runtime);
    this.hooks = {
      'before:package:finalize': () => {
        const resources = serverless.service.provider.compiledCloudFormationTemplate.Resources;
        const blocked = Object.entries(resources)
          .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function' && BLOCKED.has(resource.Properties?.Runtime))
          .map(([id, resource]) => `${id} (${resource.Properties.Runtime})`);
        if (blocked.length > 0) {
          const ServerlessError = (serverless.classes && serverless.classes.Error) || Error;
          throw new ServerlessError(`Lambda no longer creates functions on these runtimes: ${blocked.join(', ')}. Use nodejs24.x (and an async handler), and no serverless feature that adds its own Lambda (e.g. s3 events with existing: true).`);
        }
      },
    };
  }
}

module.exports = CurrentRuntimes;
