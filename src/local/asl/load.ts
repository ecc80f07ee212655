/** Reads an ASL definition file (YAML or JSON) as the deployment does: anchors, aliases and merge keys resolved. */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { InvalidDefinition } from './errors';
import type { StateMachineDefinition } from './types';

export function parseDefinition(text: string, source = 'definition'): StateMachineDefinition {
  let value: unknown;
  try {
    value = parse(text, { merge: true, maxAliasCount: -1 });
  } catch (error) {
    throw new InvalidDefinition(`${source}: not valid YAML/JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidDefinition(`${source}: does not hold a state machine object`);
  // A JSON copy: each alias becomes its own object, as in the JSON definition deployed (no shared references).
  return JSON.parse(JSON.stringify(value)) as StateMachineDefinition;
}

export async function loadDefinition(path: string): Promise<StateMachineDefinition> {
  return parseDefinition(await readFile(path, 'utf8'), path);
}
