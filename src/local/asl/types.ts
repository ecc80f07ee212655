import type { ObjectStore } from '../../core/ports';

export type StateDefinition = Record<string, unknown> & { Type: string };

export interface StateMachineDefinition {
  Comment?: string;
  QueryLanguage?: string;
  StartAt: string;
  States: Record<string, StateDefinition>;
}

export type TaskHandler = (event: unknown) => Promise<unknown>;

export type ExecutionEvent =
  | { type: 'mapRunStarted'; state: string; totalItems: number; batches: number }
  | { type: 'childSucceeded'; items: number }
  | { type: 'childFailed'; items: number; error: string }
  | { type: 'retry'; state: string; error: string; attempt: number; delayMs: number };

export interface Runtime {
  tasks: Record<string, TaskHandler>;
  store: ObjectStore;
  /** Multiplies every wait (Retry backoff, Wait states): 1 = real time. */
  timeScale: number;
  random: () => number;
  onEvent: (event: ExecutionEvent) => void;
  stateMachineArn: string;
}

/** The context object (`$$`). */
export interface ContextObject {
  Execution: { Id: string; Name: string; StartTime: string; Input: unknown };
  StateMachine: { Id: string; Name: string };
  State?: { Name: string; EnteredTime: string; RetryCount: number };
  Map?: { Item: { Index: number; Value: unknown } };
}
