/** The shapes the local executor works with: ASL states (JSONPath), the context object, the runtime. */
import type { ObjectStore } from '../../core/ports';

/** A payload template (Parameters, ItemSelector, ResultSelector, BatchInput): `"name.$"` fields are resolved. */
export type Template = unknown;

export interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: 'FULL' | 'NONE';
}

export interface Catcher {
  ErrorEquals: string[];
  Next: string;
  ResultPath?: string | null;
}

interface BaseState {
  Type: string;
  Comment?: string;
  Next?: string;
  End?: boolean;
  InputPath?: string | null;
  OutputPath?: string | null;
  QueryLanguage?: string;
}

interface ResultFields {
  ResultSelector?: Template;
  ResultPath?: string | null;
  Retry?: Retrier[];
  Catch?: Catcher[];
}

export interface TaskState extends BaseState, ResultFields {
  Type: 'Task';
  /** `{"Fn::GetAtt": [fn, "Arn"]}`, a Lambda ARN or `arn:aws:states:::lambda:invoke`. */
  Resource: unknown;
  Parameters?: Template;
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
}

export interface PassState extends BaseState {
  Type: 'Pass';
  Result?: unknown;
  Parameters?: Template;
  ResultPath?: string | null;
}

export type ChoiceRule = Record<string, unknown>;

export interface ChoiceState extends BaseState {
  Type: 'Choice';
  Choices: Array<ChoiceRule & { Next: string }>;
  Default?: string;
}

export interface WaitState extends BaseState {
  Type: 'Wait';
  Seconds?: number;
  SecondsPath?: string;
  Timestamp?: string;
  TimestampPath?: string;
}

export interface SucceedState extends BaseState {
  Type: 'Succeed';
}

export interface FailState extends BaseState {
  Type: 'Fail';
  Error?: string;
  ErrorPath?: string;
  Cause?: string;
  CausePath?: string;
}

export interface ParallelState extends BaseState, ResultFields {
  Type: 'Parallel';
  Branches: StateMachineDefinition[];
  Parameters?: Template;
}

export interface ItemReader {
  Resource: string;
  ReaderConfig?: {
    InputType?: 'MANIFEST' | 'JSON' | 'CSV';
    CSVHeaderLocation?: 'FIRST_ROW' | 'GIVEN';
    CSVHeaders?: string[];
    MaxItems?: number;
    MaxItemsPath?: string;
  };
  Parameters?: Template;
}

export interface ItemBatcher {
  MaxItemsPerBatch?: number;
  MaxItemsPerBatchPath?: string;
  MaxInputBytesPerBatch?: number;
  MaxInputBytesPerBatchPath?: string;
  BatchInput?: Template;
}

export interface ResultWriter {
  Resource?: string;
  Parameters?: Template;
  WriterConfig?: { Transformation?: string; OutputType?: string };
}

export interface ItemProcessor extends StateMachineDefinition {
  ProcessorConfig?: { Mode?: 'INLINE' | 'DISTRIBUTED'; ExecutionType?: 'STANDARD' | 'EXPRESS' };
}

export interface MapState extends BaseState, ResultFields {
  Type: 'Map';
  ItemProcessor?: ItemProcessor;
  /** The older name of ItemProcessor (inline only). */
  Iterator?: ItemProcessor;
  ItemsPath?: string;
  ItemSelector?: Template;
  /** The older name of ItemSelector. */
  Parameters?: Template;
  MaxConcurrency?: number;
  MaxConcurrencyPath?: string;
  ItemReader?: ItemReader;
  ItemBatcher?: ItemBatcher;
  ResultWriter?: ResultWriter;
  ToleratedFailurePercentage?: number;
  ToleratedFailurePercentagePath?: string;
  ToleratedFailureCount?: number;
  ToleratedFailureCountPath?: string;
  Label?: string;
}

export type StateDefinition = TaskState | PassState | ChoiceState | WaitState | SucceedState | FailState | ParallelState | MapState;

export interface StateMachineDefinition {
  Comment?: string;
  QueryLanguage?: string;
  StartAt: string;
  States: Record<string, StateDefinition>;
  /** The ASL version: "1.0". */
  Version?: string;
}

/**
 * A local task handler. One that first waits for a resource of this machine (a CPU slot) is marked
 * `queued` and calls `invocation.started()` once it runs: its TimeoutSeconds counts from then, as a
 * Lambda's counts from when it runs, not from a queue Lambda does not have.
 */
export type TaskHandler = ((event: unknown, invocation?: TaskInvocation) => Promise<unknown>) & { queued?: boolean };

export interface TaskInvocation {
  started(): void;
  /** Aborted when the execution is being stopped: a queued handler gives up before it starts. */
  signal?: AbortSignal;
}

export type ExecutionEvent =
  | { type: 'mapRunStarted'; state: string; totalItems: number; batches: number }
  | { type: 'childStarted'; execution: string; items: number }
  | { type: 'childSucceeded'; items: number; execution: string }
  | { type: 'childFailed'; items: number; error: string; execution: string }
  /** One iteration of an inline Map ended (Step Functions' MapIterationSucceeded/Failed), in `execution`. */
  | { type: 'mapIterationSucceeded' | 'mapIterationFailed'; state: string; execution: string; index: number }
  | { type: 'retry'; state: string; error: string; attempt: number; delayMs: number };

export interface Runtime {
  tasks: Readonly<Record<string, TaskHandler>>;
  store: ObjectStore;
  /** Multiplies every wait (Retry backoff, Wait states): 1 = real time, 0 = no waiting. */
  timeScale: number;
  /** In [0, 1): JitterStrategy FULL. */
  random: () => number;
  onEvent: (event: ExecutionEvent) => void;
  /** The (child) state machine being run, e.g. `arn:aws:states:local:000000000000:stateMachine:migrate`. */
  stateMachineArn: string;
  /** Its name: the part after `stateMachine:`. */
  stateMachineName: string;
  /** Aborted: no further child execution of a Distributed Map starts; the execution ends ABORTED. */
  signal?: AbortSignal;
}

/** The context object (`$$`). */
export interface ContextObject {
  Execution: { Id: string; Name: string; StartTime: string; Input: unknown };
  StateMachine: { Id: string; Name: string };
  State?: { Name: string; EnteredTime: string; RetryCount: number };
  Map?: { Item: { Index: number; Value: unknown } };
}

/** Runs a (sub) state machine to its end: its output, or throws a StatesError. */
export type RunMachine = (machine: StateMachineDefinition, input: unknown, context: ContextObject, runtime: Runtime) => Promise<unknown>;
