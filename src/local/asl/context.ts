/** The context object (`$$`) of executions, states and iterations. */
import type { ContextObject } from './types';

export function rootContext(execution: { arn: string; name: string; input: unknown }, stateMachine: { arn: string; name: string }, start = new Date()): ContextObject {
  return {
    Execution: { Id: execution.arn, Name: execution.name, StartTime: start.toISOString(), Input: execution.input },
    StateMachine: { Id: stateMachine.arn, Name: stateMachine.name },
  };
}

/** The context an iteration or a branch starts from: the execution's, without State or Map. */
export function executionContext(context: ContextObject): ContextObject {
  return { Execution: context.Execution, StateMachine: context.StateMachine };
}

/** On entering a state. */
export function enterState(context: ContextObject, name: string): ContextObject {
  return { ...executionContext(context), State: { Name: name, EnteredTime: new Date().toISOString(), RetryCount: 0 } };
}

/** For attempt number `retryCount` (0 = the first) of the current state. */
export function withRetryCount(context: ContextObject, retryCount: number): ContextObject {
  return context.State ? { ...context, State: { ...context.State, RetryCount: retryCount } } : context;
}
