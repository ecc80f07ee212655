/**
 * Checks a definition before anything runs, as CreateStateMachine would (plus what the local
 * executor cannot do): every transition lands on a state of its scope, every Task has a local
 * handler, every path and `.$` field can be evaluated, every `{Ref}` was resolved. All problems are
 * reported at once.
 */
import { ruleProblems } from './choice';
import { InvalidDefinition } from './errors';
import { READER_INPUT_TYPES, S3_GET_OBJECT } from './item-reader';
import { isReferencePath, parsePath } from './jsonpath';
import { templateProblems } from './payload';
import { functionNameOf, isLambdaInvoke, requiredTaskName } from './resources';
import { S3_PUT_OBJECT } from './result-writer';
import { errorMatcherProblems } from './retry';
import type { StateMachineDefinition } from './types';

const TYPES = new Set(['Task', 'Pass', 'Choice', 'Map', 'Wait', 'Succeed', 'Fail', 'Parallel']);
const TERMINAL_TYPES = new Set(['Choice', 'Succeed', 'Fail']);
const PATH_FIELDS = ['InputPath', 'OutputPath', 'ResultPath', 'ItemsPath', 'SecondsPath', 'TimestampPath', 'ErrorPath', 'CausePath', 'MaxConcurrencyPath', 'TimeoutSecondsPath', 'ToleratedFailurePercentagePath', 'ToleratedFailureCountPath'];
const TEMPLATE_FIELDS = ['Parameters', 'ResultSelector', 'ItemSelector'];

// Definitions come from YAML: every field is checked for its type here, so `any` is contained to this module.
type Loose = Record<string, any>;

export function definitionProblems(definition: unknown, taskNames: readonly string[]): string[] {
  const problems: string[] = [];
  checkMachine(definition as Loose, taskNames, 'definition', problems);
  checkUnresolved(definition, 'definition', problems);
  return problems;
}

/** Throws InvalidDefinition listing every problem. */
export function validateDefinition(definition: StateMachineDefinition | unknown, taskNames: readonly string[]): void {
  const problems = definitionProblems(definition, taskNames);
  if (problems.length > 0) throw new InvalidDefinition(`invalid state machine definition:\n  - ${problems.join('\n  - ')}`);
}

function checkMachine(machine: Loose | undefined, taskNames: readonly string[], where: string, problems: string[]): void {
  if (!machine || typeof machine !== 'object') {
    problems.push(`${where}: not a state machine object`);
    return;
  }
  if (machine.QueryLanguage !== undefined && machine.QueryLanguage !== 'JSONPath') problems.push(`${where}: QueryLanguage ${machine.QueryLanguage} is not supported by the local executor (JSONPath only)`);
  const states: Loose = machine.States && typeof machine.States === 'object' ? machine.States : {};
  if (Object.keys(states).length === 0) problems.push(`${where}: States must hold at least one state`);
  const exists = (name: unknown) => typeof name === 'string' && Object.prototype.hasOwnProperty.call(states, name);
  if (!exists(machine.StartAt)) problems.push(`${where}: StartAt ${JSON.stringify(machine.StartAt)} is not a state`);
  for (const [name, state] of Object.entries(states)) checkState(name, state as Loose, `${where}.${name}`, exists, taskNames, problems);
}

function checkState(name: string, s: Loose, at: string, exists: (name: unknown) => boolean, taskNames: readonly string[], problems: string[]): void {
  if (!s || typeof s !== 'object') {
    problems.push(`${at}: not a state object`);
    return;
  }
  if (!TYPES.has(s.Type)) {
    problems.push(`${at}: unknown Type ${JSON.stringify(s.Type)}`);
    return;
  }
  if (s.QueryLanguage !== undefined && s.QueryLanguage !== 'JSONPath') problems.push(`${at}: QueryLanguage ${s.QueryLanguage} is not supported by the local executor (JSONPath only)`);
  if (TERMINAL_TYPES.has(s.Type)) {
    if (s.Next !== undefined || s.End !== undefined) problems.push(`${at}: a ${s.Type} state cannot have Next or End`);
  } else if (s.End === true) {
    if (s.Next !== undefined) problems.push(`${at}: has both Next and End`);
  } else if (!exists(s.Next)) {
    problems.push(`${at}: Next ${JSON.stringify(s.Next)} is not a state`);
  }
  for (const field of PATH_FIELDS) {
    const path = s[field];
    if (path === undefined || (path === null && ['InputPath', 'OutputPath', 'ResultPath'].includes(field))) continue;
    if (!isReferencePath(path)) problems.push(`${at}: ${field} ${JSON.stringify(path)} is not a reference path`);
    else if (field === 'ResultPath' && parsePath(path).root === '$$') problems.push(`${at}: ResultPath cannot write to the context object`);
  }
  for (const field of TEMPLATE_FIELDS) for (const problem of templateProblems(s[field])) problems.push(`${at}.${field}: ${problem}`);
  if (s.Retry !== undefined) checkRetry(s.Retry, at, problems);
  if (s.Catch !== undefined) checkCatch(s.Catch, at, exists, problems);
  switch (s.Type) {
    case 'Task':
      checkTask(s, at, taskNames, problems);
      break;
    case 'Choice':
      checkChoice(s, at, exists, problems);
      break;
    case 'Wait': {
      const given = ['Seconds', 'SecondsPath', 'Timestamp', 'TimestampPath'].filter((field) => s[field] !== undefined);
      if (given.length !== 1) problems.push(`${at}: a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath`);
      break;
    }
    case 'Parallel':
      if (!Array.isArray(s.Branches) || s.Branches.length === 0) problems.push(`${at}: Branches must be a non-empty array`);
      else s.Branches.forEach((branch: Loose, index: number) => checkMachine(branch, taskNames, `${at}.Branches[${index}]`, problems));
      break;
    case 'Map':
      checkMap(s, at, taskNames, problems);
      break;
  }
}

function checkTask(s: Loose, at: string, taskNames: readonly string[], problems: string[]): void {
  const name = requiredTaskName(s.Resource, s.Parameters);
  if (name === undefined) {
    const what = isLambdaInvoke(s.Resource) ? `FunctionName ${JSON.stringify(s.Parameters?.FunctionName)}` : `Resource ${JSON.stringify(s.Resource)}`;
    problems.push(`${at}: ${what} names no function the local executor can run (use {"Fn::GetAtt": [<function>, "Arn"]} or a Lambda ARN)`);
  } else if (!taskNames.includes(name)) {
    problems.push(`${at}: no local handler "${name}" for Resource ${JSON.stringify(s.Resource)} (handlers: ${taskNames.join(', ') || 'none'})`);
  }
  for (const field of ['TimeoutSeconds', 'HeartbeatSeconds']) {
    if (s[field] !== undefined && !(typeof s[field] === 'number' && s[field] > 0)) problems.push(`${at}: ${field} must be a positive number`);
  }
}

function checkRetry(retry: unknown, at: string, problems: string[]): void {
  if (!Array.isArray(retry)) {
    problems.push(`${at}: Retry must be an array`);
    return;
  }
  for (const problem of errorMatcherProblems(retry, 'Retry')) problems.push(`${at}: ${problem}`);
  retry.forEach((r: Loose, index) => {
    const bad = (field: string, ok: (value: any) => boolean, rule: string) => {
      if (r?.[field] !== undefined && !ok(r[field])) problems.push(`${at}: Retry[${index}].${field} must be ${rule}`);
    };
    bad('IntervalSeconds', (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
    bad('MaxAttempts', (v) => Number.isInteger(v) && v >= 0, 'a non-negative integer');
    bad('BackoffRate', (v) => typeof v === 'number' && v >= 1, 'a number >= 1');
    bad('MaxDelaySeconds', (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
    bad('JitterStrategy', (v) => v === 'FULL' || v === 'NONE', 'FULL or NONE');
  });
}

function checkCatch(catchers: unknown, at: string, exists: (name: unknown) => boolean, problems: string[]): void {
  if (!Array.isArray(catchers)) {
    problems.push(`${at}: Catch must be an array`);
    return;
  }
  for (const problem of errorMatcherProblems(catchers, 'Catch')) problems.push(`${at}: ${problem}`);
  catchers.forEach((c: Loose, index) => {
    if (!exists(c?.Next)) problems.push(`${at}: Catch[${index}].Next ${JSON.stringify(c?.Next)} is not a state`);
    if (c?.ResultPath !== undefined && c.ResultPath !== null && (!isReferencePath(c.ResultPath) || parsePath(c.ResultPath).root === '$$')) {
      problems.push(`${at}: Catch[${index}].ResultPath ${JSON.stringify(c.ResultPath)} is not a writable reference path`);
    }
  });
}

function checkChoice(s: Loose, at: string, exists: (name: unknown) => boolean, problems: string[]): void {
  if (!Array.isArray(s.Choices) || s.Choices.length === 0) {
    problems.push(`${at}: Choices must be a non-empty array`);
    return;
  }
  s.Choices.forEach((rule: Loose, index: number) => {
    for (const problem of ruleProblems(rule, true)) problems.push(`${at}.Choices[${index}]: ${problem}`);
    if (rule && typeof rule === 'object' && rule.Next !== undefined && !exists(rule.Next)) problems.push(`${at}.Choices[${index}]: Next ${JSON.stringify(rule.Next)} is not a state`);
  });
  if (s.Default !== undefined && !exists(s.Default)) problems.push(`${at}: Default ${JSON.stringify(s.Default)} is not a state`);
}

function checkMap(s: Loose, at: string, taskNames: readonly string[], problems: string[]): void {
  const processor: Loose | undefined = s.ItemProcessor ?? s.Iterator;
  if (!processor) {
    problems.push(`${at}: a Map state needs an ItemProcessor`);
    return;
  }
  const distributed = processor.ProcessorConfig?.Mode === 'DISTRIBUTED';
  const mode = processor.ProcessorConfig?.Mode;
  if (mode !== undefined && mode !== 'INLINE' && mode !== 'DISTRIBUTED') problems.push(`${at}: ProcessorConfig.Mode ${JSON.stringify(mode)} is not INLINE or DISTRIBUTED`);
  if (s.MaxConcurrency !== undefined && !(Number.isInteger(s.MaxConcurrency) && s.MaxConcurrency >= 0)) problems.push(`${at}: MaxConcurrency must be a non-negative integer`);
  if (!distributed) {
    for (const field of ['ItemReader', 'ItemBatcher', 'ResultWriter', 'ToleratedFailurePercentage', 'ToleratedFailureCount', 'Label']) {
      if (s[field] !== undefined) problems.push(`${at}: ${field} needs ProcessorConfig.Mode DISTRIBUTED`);
    }
  } else {
    checkDistributed(s, at, problems);
  }
  checkMachine(processor, taskNames, at, problems);
}

function checkDistributed(s: Loose, at: string, problems: string[]): void {
  const reader: Loose | undefined = s.ItemReader;
  if (reader) {
    if (s.ItemsPath !== undefined) problems.push(`${at}: ItemsPath and ItemReader cannot be used together`);
    if (reader.Resource !== S3_GET_OBJECT) problems.push(`${at}: ItemReader Resource ${JSON.stringify(reader.Resource)} is not supported locally (only ${S3_GET_OBJECT})`);
    const inputType = reader.ReaderConfig?.InputType;
    if (!READER_INPUT_TYPES.includes(inputType)) problems.push(`${at}: ItemReader ReaderConfig.InputType ${JSON.stringify(inputType)} is not supported locally (${READER_INPUT_TYPES.join(', ')})`);
    for (const problem of templateProblems(reader.Parameters)) problems.push(`${at}.ItemReader.Parameters: ${problem}`);
  }
  const batcher: Loose | undefined = s.ItemBatcher;
  if (batcher) {
    if (['MaxItemsPerBatch', 'MaxItemsPerBatchPath', 'MaxInputBytesPerBatch', 'MaxInputBytesPerBatchPath'].every((field) => batcher[field] === undefined)) {
      problems.push(`${at}: ItemBatcher needs MaxItemsPerBatch or MaxInputBytesPerBatch`);
    }
    for (const problem of templateProblems(batcher.BatchInput)) problems.push(`${at}.ItemBatcher.BatchInput: ${problem}`);
  }
  const writer: Loose | undefined = s.ResultWriter;
  if (writer) {
    if (writer.Resource !== S3_PUT_OBJECT) problems.push(`${at}: ResultWriter Resource ${JSON.stringify(writer.Resource)} is not supported locally (only ${S3_PUT_OBJECT})`);
    const config = writer.WriterConfig;
    if (config && ((config.Transformation ?? 'NONE') !== 'NONE' || (config.OutputType ?? 'JSON') !== 'JSON')) {
      problems.push(`${at}: ResultWriter WriterConfig ${JSON.stringify(config)} is not supported locally (Transformation NONE, OutputType JSON only)`);
    }
    for (const problem of templateProblems(writer.Parameters)) problems.push(`${at}.ResultWriter.Parameters: ${problem}`);
  }
  if (s.ToleratedFailurePercentage !== undefined && !(typeof s.ToleratedFailurePercentage === 'number' && s.ToleratedFailurePercentage >= 0 && s.ToleratedFailurePercentage <= 100)) {
    problems.push(`${at}: ToleratedFailurePercentage must be a number from 0 to 100`);
  }
  if (s.ToleratedFailureCount !== undefined && !(Number.isInteger(s.ToleratedFailureCount) && s.ToleratedFailureCount >= 0)) problems.push(`${at}: ToleratedFailureCount must be a non-negative integer`);
}

/** CloudFormation left in the definition: a `{Ref}` without a local value, or an `Fn::` other than a function's `Fn::GetAtt`. */
function checkUnresolved(value: unknown, at: string, problems: string[]): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => checkUnresolved(item, `${at}[${index}]`, problems));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === 'Ref') {
    problems.push(`${at}: {"Ref": ${JSON.stringify((value as { Ref: unknown }).Ref)}} has no local value (pass it in intrinsics)`);
    return;
  }
  if (keys.length === 1 && keys[0]!.startsWith('Fn::')) {
    if (keys[0] === 'Fn::GetAtt' && functionNameOf(value) !== undefined) return;
    problems.push(`${at}: ${keys[0]} is not supported by the local executor`);
    return;
  }
  for (const [key, item] of Object.entries(value)) checkUnresolved(item, `${at}.${key}`, problems);
}
