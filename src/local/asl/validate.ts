/** Checks a definition before anything runs: every transition lands on a state, every Task has a handler. */
import { StatesError } from './errors';
import { requiredTaskName } from './resources';
import type { StateMachineDefinition } from './types';

const TYPES = new Set(['Task', 'Pass', 'Choice', 'Map', 'Wait', 'Succeed', 'Fail', 'Parallel']);

export function validateDefinition(definition: StateMachineDefinition, taskNames: readonly string[], where = 'definition'): void {
  const problems: string[] = [];
  check(definition, taskNames, where, problems);
  if (problems.length > 0) throw new StatesError('States.Runtime', `invalid state machine:\n  - ${problems.join('\n  - ')}`);
}

function check(machine: StateMachineDefinition, taskNames: readonly string[], where: string, problems: string[]): void {
  const states = machine?.States ?? {};
  const exists = (name: unknown) => typeof name === 'string' && name in states;
  if (machine?.QueryLanguage !== undefined && machine.QueryLanguage !== 'JSONPath') problems.push(`${where}: QueryLanguage ${machine.QueryLanguage} is not supported by the local executor (JSONPath only)`);
  if (!exists(machine?.StartAt)) problems.push(`${where}: StartAt ${JSON.stringify(machine?.StartAt)} is not a state`);
  for (const [name, state] of Object.entries(states)) {
    const s = state as Record<string, any>;
    const at = `${where}.${name}`;
    if (!TYPES.has(s.Type)) problems.push(`${at}: unknown Type ${JSON.stringify(s.Type)}`);
    if (s.Type === 'Parallel') problems.push(`${at}: Parallel is not supported by the local executor`);
    const terminal = s.Type === 'Choice' || s.Type === 'Succeed' || s.Type === 'Fail' || s.End === true;
    if (!terminal && !exists(s.Next)) problems.push(`${at}: Next ${JSON.stringify(s.Next)} is not a state`);
    if (s.Type === 'Choice') {
      for (const rule of s.Choices ?? []) if (!exists(rule.Next)) problems.push(`${at}: Choice Next ${JSON.stringify(rule.Next)} is not a state`);
      if (s.Default !== undefined && !exists(s.Default)) problems.push(`${at}: Default ${JSON.stringify(s.Default)} is not a state`);
    }
    for (const catcher of s.Catch ?? []) if (!exists(catcher.Next)) problems.push(`${at}: Catch Next ${JSON.stringify(catcher.Next)} is not a state`);
    if (s.Type === 'Task') {
      const name = requiredTaskName(s.Resource, s.Parameters);
      if (!name || !taskNames.includes(name)) problems.push(`${at}: no local handler for Resource ${JSON.stringify(s.Resource)}`);
    }
    if (s.Type === 'Map') check((s.ItemProcessor ?? s.Iterator) as StateMachineDefinition, taskNames, at, problems);
  }
}
