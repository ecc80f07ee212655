/**
 * Reference paths as ASL uses them: `$`, `$.a.b`, `$.a[0]`, `$['a b']`, and `$$.…` for the context
 * object. Reads for InputPath/OutputPath/ItemsPath/`.$` fields; writes for ResultPath.
 */
import { StatesError } from './errors';

type Segment = string | number;

export function parsePath(path: string): { root: '$' | '$$'; segments: Segment[] } {
  const root = path.startsWith('$$') ? '$$' : path.startsWith('$') ? '$' : undefined;
  if (!root) throw new StatesError('States.Runtime', `not a reference path: ${path}`);
  const segments: Segment[] = [];
  const rest = path.slice(root.length);
  const token = /\.([^.[\]]+)|\[(\d+)\]|\['([^']*)'\]/y;
  let index = 0;
  while (index < rest.length) {
    token.lastIndex = index;
    const match = token.exec(rest);
    if (!match) throw new StatesError('States.Runtime', `unsupported path syntax at "${rest.slice(index)}" in ${path}`);
    segments.push(match[1] ?? (match[2] !== undefined ? Number(match[2]) : match[3]!));
    index = token.lastIndex;
  }
  return { root, segments };
}

export function readPath(data: unknown, path: string, context: unknown): unknown {
  const { root, segments } = parsePath(path);
  let value: unknown = root === '$$' ? context : data;
  for (const segment of segments) {
    if (value === null || typeof value !== 'object' || !(segment in (value as object))) {
      throw new StatesError('States.Runtime', `path ${path} matches nothing in the input`);
    }
    value = (value as Record<string | number, unknown>)[segment];
  }
  return value;
}

export function hasPath(data: unknown, path: string): boolean {
  try {
    readPath(data, path, undefined);
    return true;
  } catch {
    return false;
  }
}

/** ResultPath: returns a copy of `data` with `value` placed at `path` (`$` replaces everything). */
export function writePath(data: unknown, path: string, value: unknown): unknown {
  const { root, segments } = parsePath(path);
  if (root === '$$') throw new StatesError('States.Runtime', `cannot write to the context object: ${path}`);
  if (segments.length === 0) return value;
  const copy = structuredClone(data ?? {}) as Record<string | number, unknown>;
  if (typeof copy !== 'object' || copy === null) throw new StatesError('States.Runtime', `cannot set ${path} on a non-object input`);
  let target: Record<string | number, unknown> = copy;
  for (const segment of segments.slice(0, -1)) {
    const next = target[segment];
    if (next === undefined || next === null) target[segment] = {};
    else if (typeof next !== 'object') throw new StatesError('States.Runtime', `cannot set ${path}: ${String(segment)} is not an object`);
    target = target[segment] as Record<string | number, unknown>;
  }
  target[segments[segments.length - 1]!] = value;
  return copy;
}
