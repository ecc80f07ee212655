// A Serverless Framework v3 plugin used by serverless.yml. A function may carry a CloudFormation
// `condition:` (the website-mode `onDemand`), but Serverless puts it on the function resource only:
// its log group, versions, event invoke config and HTTP API resources would still be created and
// refer to a function that is not, which CloudFormation refuses. This plugin gives the condition to
// every resource Serverless generated for such a function (logical ids starting with its normalized
// name; resources declared in serverless.yml itself are left alone), to the HTTP API when all its
// routes belong to such functions, and to every output that refers to any of them.
'use strict';

class DeliveryMode {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:package:finalize': () => this.apply() };
  }

  apply() {
    const service = this.serverless.service;
    const naming = this.serverless.getProvider('aws').naming;
    const template = service.provider.compiledCloudFormationTemplate;
    const declared = new Set(Object.keys((service.resources && service.resources.Resources) || {}));
    const conditionOf = new Map();
    const httpApiConditions = new Set();
    let unconditionalHttpApi = false;
    for (const name of service.getAllFunctions()) {
      const fn = service.getFunction(name);
      const hasHttpApi = (fn.events || []).some((event) => event.httpApi);
      if (!fn.condition) {
        if (hasHttpApi) unconditionalHttpApi = true;
        continue;
      }
      conditionOf.set(naming.getNormalizedFunctionName(name), fn.condition);
      if (hasHttpApi) httpApiConditions.add(fn.condition);
    }
    if (conditionOf.size === 0) return;
    if (!unconditionalHttpApi && httpApiConditions.size === 1) conditionOf.set('HttpApi', [...httpApiConditions][0]);

    const conditioned = new Map();
    for (const [id, resource] of Object.entries(template.Resources)) {
      if (declared.has(id)) continue;
      for (const [prefix, condition] of conditionOf) {
        // <Name>LambdaFunction, <Name>LambdaVersion…, <Name>LambdaPermission…, <Name>LogGroup, … and the
        // HTTP API's own HttpApi, HttpApiStage, HttpApiIntegration…, HttpApiRoute… — not <Name>Other….
        const generated = prefix === 'HttpApi' ? /^HttpApi(Stage|Integration|Route|Authorizer|LogGroup)?/ : new RegExp(`^${prefix}(Lambda|LogGroup)`);
        const match = generated.exec(id);
        if (!match || (prefix === 'HttpApi' && id !== match[0] && !match[1])) continue;
        if (resource.Condition && resource.Condition !== condition) {
          throw new Error(`${id} has Condition ${resource.Condition}, but belongs to a function of condition ${condition}`);
        }
        resource.Condition = condition;
        conditioned.set(id, condition);
      }
    }
    for (const output of Object.values(template.Outputs || {})) {
      const uses = [...conditioned].find(([id]) => refersTo(output.Value, id));
      if (uses && !output.Condition) output.Condition = uses[1];
    }
  }
}

/** Whether a template value names a resource by Ref, Fn::GetAtt or ${...} in Fn::Sub. */
function refersTo(value, id) {
  if (Array.isArray(value)) return value.some((item) => refersTo(item, id));
  if (typeof value === 'string') return false;
  if (!value || typeof value !== 'object') return false;
  if (value.Ref === id) return true;
  if (value['Fn::GetAtt'] && (value['Fn::GetAtt'][0] === id || String(value['Fn::GetAtt']).startsWith(`${id}.`))) return true;
  if (value['Fn::Sub']) {
    const text = Array.isArray(value['Fn::Sub']) ? value['Fn::Sub'][0] : value['Fn::Sub'];
    if (new RegExp(`\\$\\{${id}[.}]`).test(text)) return true;
  }
  return Object.values(value).some((item) => refersTo(item, id));
}

module.exports = DeliveryMode;
