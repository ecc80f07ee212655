/** statemachines/migrate.asl.yaml as written, and a walk over the states of an ASL definition. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export type AnyState = Record<string, any>;

export const ASL_FILE = join(import.meta.dirname, '../../statemachines/migrate.asl.yaml');
/** Its sibling for sources runs (issue 20). */
export const SOURCES_ASL_FILE = join(import.meta.dirname, '../../statemachines/migrate-sources.asl.yaml');

/** The ASL file as written (YAML anchors and aliases resolved), a fresh copy each time. */
export function loadAslFile(file = ASL_FILE): AnyState {
  return parse(readFileSync(file, 'utf8'), { merge: true, maxAliasCount: -1 }) as AnyState;
}

/** Every state of a definition, nested Map processors included, named by its path. */
export function* allStates(machine: AnyState, path = ''): Generator<[string, AnyState]> {
  for (const [name, state] of Object.entries(machine.States ?? {}) as Array<[string, AnyState]>) {
    yield [`${path}${name}`, state];
    const inner = state.ItemProcessor ?? state.Iterator;
    if (inner) yield* allStates(inner, `${path}${name}/`);
  }
}
