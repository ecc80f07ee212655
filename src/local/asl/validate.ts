/**
 * Checks a definition before anything runs, as CreateStateMachine would (plus what the local
 * executor cannot do): every field is one the executor implements (features.ts), every transition
 * lands on a state of its scope, every Task has a local handler, every path and `.$` field can be
 * evaluated, every `{Ref}` was resolved; and asl-validator accepts it. All problems are reported at once.
 */
import { aslValidatorProblems } from './asl-schema';
import { ruleProblems } from './choice';
import { InvalidDefinition } from './errors';
import { fieldProblems, type Scope } from './features';
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
const DISTRIBUTED_ONLY = ['ItemReader', 'ItemBatcher', 'ResultWriter', 'ToleratedFailurePercentage', 'ToleratedFailurePercentagePath', 'ToleratedFailureCount', 'ToleratedFailureCountPath', 'Label'];
const TEMPLATE_FIELDS = ['Parameters', 'ResultSelector', 'ItemSelector'];

// Definitions come from YAML: every field is checked for its type here, so `any` is contained to this module.
type Loose = Record<string, any>;

/** The local executor's own problems with a definition (its `{Ref}`s resolved). */
export function definitionProblems(definition: unknown, taskNames: readonly string[]): string[] {
  const problems: string[] = [];
  checkMachine(definition as Loose, taskNames, 'definition', problems, 'State machine', 'definition');
  checkUnresolved(definition, 'definition', problems);
  return problems;
}

/** Throws InvalidDefinition listing every problem: the executor's own, then asl-validator's. */
export function validateDefinition(definition: StateMachineDefinition | unknown, taskNames: readonly string[]): void {
  const problems = [...definitionProblems(definition, taskNames), ...aslValidatorProblems(definition)];
  if (problems.length > 0) throw new InvalidDefinition(`invalid state machine definition:\n  - ${problems.join('\n  - ')}`);
}

/** `where` names its states (`where.Name`), `fieldsAt` the machine object itself. */
function checkMachine(machine: Loose | undefined, taskNames: readonly string[], where: string, problems: string[], scope: Scope, fieldsAt: string): void {
  if (!machine || typeof machine !== 'object' || Array.isArray(machine)) {
    problems.push(`${fieldsAt}: not a state machine object`);
    return;
  }
  problems.push(...fieldProblems(machine, [scope], fieldsAt));
  if (machine.Version !== undefined && machine.Version !== '1.0') problems.push(`${fieldsAt}: Version ${JSON.stringify(machine.Version)} is not supported by the local executor ("1.0" only)`);
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
  // Next or End on a Choice, Succeed or Fail state is reported here as a field those states do not have.
  problems.push(...fieldProblems(s, ['Every state', s.Type as Scope], at));
  if (s.QueryLanguage !== undefined && s.QueryLanguage !== 'JSONPath') problems.push(`${at}: QueryLanguage ${s.QueryLanguage} is not supported by the local executor (JSONPath only)`);
  if (!TERMINAL_TYPES.has(s.Type)) {
    if (s.End === true) {
      if (s.Next !== undefined) problems.push(`${at}: has both Next and End`);
    } else if (!exists(s.Next)) {
      problems.push(`${at}: Next ${JSON.stringify(s.Next)} is not a state`);
    }
  }
  checkPaths(s, PATH_FIELDS, at, problems);
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
      else s.Branches.forEach((branch: Loose, index: number) => checkMachine(branch, taskNames, `${at}.Branches[${index}]`, problems, 'Branch', `${at}.Branches[${index}]`));
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
  if (s.TimeoutSeconds !== undefined && !(typeof s.TimeoutSeconds === 'number' && s.TimeoutSeconds > 0)) problems.push(`${at}: TimeoutSeconds must be a positive number`);
  if (isLambdaInvoke(s.Resource)) problems.push(...fieldProblems(s.Parameters, ['lambda:invoke Parameters'], `${at}.Parameters`));
}

/** Path fields of `s` that are not reference paths (`null` InputPath/OutputPath/ResultPath allowed). */
function checkPaths(s: Loose, fields: readonly string[], at: string, problems: string[]): void {
  for (const field of fields) {
    const path = s[field];
    if (path === undefined || (path === null && ['InputPath', 'OutputPath', 'ResultPath'].includes(field))) continue;
    if (!isReferencePath(path)) problems.push(`${at}: ${field} ${JSON.stringify(path)} is not a reference path`);
    else if (field === 'ResultPath' && parsePath(path).root === '$$') problems.push(`${at}: ResultPath cannot write to the context object`);
  }
}

function checkRetry(retry: unknown, at: string, problems: string[]): void {
  if (!Array.isArray(retry)) {
    problems.push(`${at}: Retry must be an array`);
    return;
  }
  for (const problem of errorMatcherProblems(retry, 'Retry')) problems.push(`${at}: ${problem}`);
  retry.forEach((r: Loose, index) => {
    problems.push(...fieldProblems(r, ['Retrier'], `${at}.Retry[${index}]`));
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
    problems.push(...fieldProblems(c, ['Catcher'], `${at}.Catch[${index}]`));
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
  const processorAt = `${at}.${s.ItemProcessor ? 'ItemProcessor' : 'Iterator'}`;
  problems.push(...fieldProblems(processor.ProcessorConfig, ['ProcessorConfig'], `${processorAt}.ProcessorConfig`));
  const distributed = processor.ProcessorConfig?.Mode === 'DISTRIBUTED';
  const mode = processor.ProcessorConfig?.Mode;
  if (mode !== undefined && mode !== 'INLINE' && mode !== 'DISTRIBUTED') problems.push(`${at}: ProcessorConfig.Mode ${JSON.stringify(mode)} is not INLINE or DISTRIBUTED`);
  if (s.MaxConcurrency !== undefined && !(Number.isInteger(s.MaxConcurrency) && s.MaxConcurrency >= 0)) problems.push(`${at}: MaxConcurrency must be a non-negative integer`);
  if (!distributed) {
    for (const field of DISTRIBUTED_ONLY) {
      if (s[field] !== undefined) problems.push(`${at}: ${field} needs ProcessorConfig.Mode DISTRIBUTED`);
    }
  } else {
    checkDistributed(s, at, problems);
  }
  checkMachine(processor, taskNames, at, problems, 'ItemProcessor', processorAt);
}

function checkDistributed(s: Loose, at: string, problems: string[]): void {
  const reader: Loose | undefined = s.ItemReader;
  if (reader) {
    problems.push(...fieldProblems(reader, ['ItemReader'], `${at}.ItemReader`));
    problems.push(...fieldProblems(reader.ReaderConfig, ['ReaderConfig'], `${at}.ItemReader.ReaderConfig`));
    problems.push(...fieldProblems(reader.Parameters, ['ItemReader Parameters'], `${at}.ItemReader.Parameters`));
    if (reader.ReaderConfig && typeof reader.ReaderConfig === 'object') checkPaths(reader.ReaderConfig, ['MaxItemsPath'], `${at}.ItemReader.ReaderConfig`, problems);
    const headers = reader.ReaderConfig?.CSVHeaderLocation;
    if (headers !== undefined && headers !== 'FIRST_ROW' && headers !== 'GIVEN') problems.push(`${at}: ItemReader ReaderConfig.CSVHeaderLocation ${JSON.stringify(headers)} is not FIRST_ROW or GIVEN`);
    if (s.ItemsPath !== undefined) problems.push(`${at}: ItemsPath and ItemReader cannot be used together`);
    if (reader.Resource !== S3_GET_OBJECT) problems.push(`${at}: ItemReader Resource ${JSON.stringify(reader.Resource)} is not supported locally (only ${S3_GET_OBJECT})`);
    const inputType = reader.ReaderConfig?.InputType;
    if (!READER_INPUT_TYPES.includes(inputType)) problems.push(`${at}: ItemReader ReaderConfig.InputType ${JSON.stringify(inputType)} is not supported locally (${READER_INPUT_TYPES.join(', ')})`);
    for (const problem of templateProblems(reader.Parameters)) problems.push(`${at}.ItemReader.Parameters: ${problem}`);
  }
  const batcher: Loose | undefined = s.ItemBatcher;
  if (batcher) {
    problems.push(...fieldProblems(batcher, ['ItemBatcher'], `${at}.ItemBatcher`));
    checkPaths(batcher, ['MaxItemsPerBatchPath', 'MaxInputBytesPerBatchPath'], `${at}.ItemBatcher`, problems);
    if (['MaxItemsPerBatch', 'MaxItemsPerBatchPath', 'MaxInputBytesPerBatch', 'MaxInputBytesPerBatchPath'].every((field) => batcher[field] === undefined)) {
      problems.push(`${at}: ItemBatcher needs MaxItemsPerBatch or MaxInputBytesPerBatch`);
    }
    for (const problem of templateProblems(batcher.BatchInput)) problems.push(`${at}.ItemBatcher.BatchInput: ${problem}`);
  }
  const writer: Loose | undefined = s.ResultWriter;
  if (writer) {
    problems.push(...fieldProblems(writer, ['ResultWriter'], `${at}.ResultWriter`));
    problems.push(...fieldProblems(writer.WriterConfig, ['WriterConfig'], `${at}.ResultWriter.WriterConfig`));
    problems.push(...fieldProblems(writer.Parameters, ['ResultWriter Parameters'], `${at}.ResultWriter.Parameters`));
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
