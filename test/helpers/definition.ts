/** Walks an ASL definition: every state, nested Map processors included. */
export type AnyState = Record<string, any>;

export function* allStates(machine: AnyState, path = ''): Generator<[string, AnyState]> {
  for (const [name, state] of Object.entries(machine.States ?? {}) as Array<[string, AnyState]>) {
    yield [`${path}${name}`, state];
    const inner = state.ItemProcessor ?? state.Iterator;
    if (inner) yield* allStates(inner, `${path}${name}/`);
  }
}
