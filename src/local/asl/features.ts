/**
 * What the local executor implements, field by field. Every field of a definition is either
 * supported (run as Step Functions runs it) or refused before anything runs: an ASL field the
 * executor does not implement ("not supported by the local executor"), or no ASL field at all.
 * README.md beside this file shows the same table; test/local/asl/features.test.ts keeps them equal.
 */

export interface FieldSet {
  /** Completes `field "X" is not …` for a field that is neither supported nor refused here. */
  readonly unknown: string;
  readonly supported: readonly string[];
  readonly refused: readonly string[];
}

const JSONATA_AND_VARIABLES = ['Arguments', 'Output', 'Assign'] as const;

export const FEATURES = {
  'State machine': { unknown: 'an ASL field of a state machine', supported: ['StartAt', 'States', 'Comment', 'QueryLanguage', 'Version'], refused: ['TimeoutSeconds'] },
  Branch: { unknown: 'an ASL field of a Parallel branch', supported: ['StartAt', 'States', 'Comment'], refused: [] },
  ItemProcessor: { unknown: 'an ASL field of an ItemProcessor', supported: ['StartAt', 'States', 'Comment', 'ProcessorConfig'], refused: [] },
  'Every state': { unknown: 'an ASL field of a state', supported: ['Type', 'Comment', 'QueryLanguage'], refused: [] },
  Task: {
    unknown: 'an ASL field of a Task state',
    supported: ['Next', 'End', 'InputPath', 'OutputPath', 'Resource', 'Parameters', 'ResultSelector', 'ResultPath', 'Retry', 'Catch', 'TimeoutSeconds', 'TimeoutSecondsPath'],
    refused: ['HeartbeatSeconds', 'HeartbeatSecondsPath', 'Credentials', ...JSONATA_AND_VARIABLES],
  },
  Pass: { unknown: 'an ASL field of a Pass state', supported: ['Next', 'End', 'InputPath', 'OutputPath', 'Result', 'Parameters', 'ResultPath'], refused: ['Output', 'Assign'] },
  Choice: { unknown: 'an ASL field of a Choice state', supported: ['Choices', 'Default', 'InputPath', 'OutputPath'], refused: ['Output', 'Assign'] },
  'Choice rule': { unknown: 'a Choice rule field', supported: ['Variable', 'Next', 'Comment', 'And', 'Or', 'Not'], refused: ['Condition', 'Output', 'Assign'] },
  Wait: { unknown: 'an ASL field of a Wait state', supported: ['Next', 'End', 'InputPath', 'OutputPath', 'Seconds', 'SecondsPath', 'Timestamp', 'TimestampPath'], refused: ['Output', 'Assign'] },
  Succeed: { unknown: 'an ASL field of a Succeed state', supported: ['InputPath', 'OutputPath'], refused: ['Output'] },
  Fail: { unknown: 'an ASL field of a Fail state', supported: ['Error', 'ErrorPath', 'Cause', 'CausePath'], refused: [] },
  Parallel: {
    unknown: 'an ASL field of a Parallel state',
    supported: ['Next', 'End', 'InputPath', 'OutputPath', 'Branches', 'Parameters', 'ResultSelector', 'ResultPath', 'Retry', 'Catch'],
    refused: [...JSONATA_AND_VARIABLES],
  },
  Map: {
    unknown: 'an ASL field of a Map state',
    supported: [
      'Next', 'End', 'InputPath', 'OutputPath', 'ItemProcessor', 'Iterator', 'ItemsPath', 'ItemSelector', 'Parameters', 'MaxConcurrency', 'MaxConcurrencyPath',
      'ResultSelector', 'ResultPath', 'Retry', 'Catch', 'ItemReader', 'ItemBatcher', 'ResultWriter', 'ToleratedFailurePercentage', 'ToleratedFailurePercentagePath',
      'ToleratedFailureCount', 'ToleratedFailureCountPath', 'Label',
    ],
    refused: ['Items', 'Output', 'Assign'],
  },
  Retrier: { unknown: 'an ASL field of a retrier', supported: ['ErrorEquals', 'IntervalSeconds', 'MaxAttempts', 'BackoffRate', 'MaxDelaySeconds', 'JitterStrategy'], refused: [] },
  Catcher: { unknown: 'an ASL field of a catcher', supported: ['ErrorEquals', 'Next', 'ResultPath'], refused: ['Output', 'Assign'] },
  'lambda:invoke Parameters': { unknown: 'a parameter of arn:aws:states:::lambda:invoke', supported: ['FunctionName', 'Payload'], refused: ['InvocationType', 'Qualifier', 'ClientContext', 'LogType'] },
  ProcessorConfig: { unknown: 'an ASL field of a ProcessorConfig', supported: ['Mode', 'ExecutionType'], refused: [] },
  ItemReader: { unknown: 'an ASL field of an ItemReader', supported: ['Resource', 'ReaderConfig', 'Parameters'], refused: ['Arguments'] },
  ReaderConfig: { unknown: 'an ASL field of a ReaderConfig', supported: ['InputType', 'CSVHeaderLocation', 'CSVHeaders', 'MaxItems', 'MaxItemsPath'], refused: ['CSVDelimiter', 'ManifestType', 'ItemsPointer'] },
  'ItemReader Parameters': { unknown: 'a parameter of arn:aws:states:::s3:getObject', supported: ['Bucket', 'Key'], refused: ['VersionId'] },
  ItemBatcher: { unknown: 'an ASL field of an ItemBatcher', supported: ['MaxItemsPerBatch', 'MaxItemsPerBatchPath', 'MaxInputBytesPerBatch', 'MaxInputBytesPerBatchPath', 'BatchInput'], refused: [] },
  ResultWriter: { unknown: 'an ASL field of a ResultWriter', supported: ['Resource', 'Parameters', 'WriterConfig'], refused: ['Arguments'] },
  WriterConfig: { unknown: 'an ASL field of a WriterConfig', supported: ['Transformation', 'OutputType'], refused: [] },
  'ResultWriter Parameters': { unknown: 'a parameter of arn:aws:states:::s3:putObject', supported: ['Bucket', 'Prefix'], refused: [] },
} as const satisfies Record<string, FieldSet>;

export type Scope = keyof typeof FEATURES;

/** The field a key names: a payload template's `"Bucket.$"` is the parameter Bucket. */
const fieldOf = (key: string, scope: Scope) => (scope.endsWith(' Parameters') && key.endsWith('.$') ? key.slice(0, -2) : key);

/**
 * Problems of the fields of `value` (an object found at `at`), allowed by any of `scopes`; the last
 * scope names what an unknown field is not. Not an object: no problems here (its owner reports it).
 */
export function fieldProblems(value: unknown, scopes: readonly Scope[], at: string): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || scopes.length === 0) return [];
  const sets: readonly FieldSet[] = scopes.map((scope) => FEATURES[scope]);
  const last = scopes[scopes.length - 1]!;
  return Object.keys(value).flatMap((key) => {
    const field = fieldOf(key, last);
    if (sets.some((set) => set.supported.includes(field))) return [];
    if (sets.some((set) => set.refused.includes(field))) return [`${at}: field "${key}" is not supported by the local executor`];
    return [`${at}: field "${key}" is not ${FEATURES[last].unknown}`];
  });
}
