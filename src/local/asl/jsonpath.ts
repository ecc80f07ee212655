/**
 * Reference paths as ASL uses them: `$`, `$.a.b`, `$.a[0]`, `$['a b']`, `$["a"]`, and `$$.…` for
 * the context object. Reads for InputPath/OutputPath/ItemsPath/`.$` fields; writes for ResultPath.
 * (No filters, wildcards or slices: ASL reference paths select exactly one node.)
 */
import { States, StatesError } from './errors';

export type Segment = string | number;

export interface ParsedPath {
  root: '$' | '$$';
  segments: Segment[];
}

const TOKEN = /\.([^.[\]'"\s]+)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/y;

/** Throws StatesError(States.Runtime) for anything that is not a reference path. */
export function parsePath(path: string): ParsedPath {
  if (typeof path !== 'string') throw new StatesError(States.Runtime, `not a reference path: ${JSON.stringify(path)}`);
  const root = path.startsWith('$$') ? '$$' : path.startsWith('$') ? '$' : undefined;
  if (!root) throw new StatesError(States.Runtime, `not a reference path (must start with $): ${path}`);
  const segments: Segment[] = [];
  const rest = path.slice(root.length);
  let index = 0;
  while (index < rest.length) {
    TOKEN.lastIndex = index;
    const match = TOKEN.exec(rest);
    if (!match) throw new StatesError(States.Runtime, `unsupported path syntax at "${rest.slice(index)}" in ${path}`);
    segments.push(match[2] !== undefined ? Number(match[2]) : (match[1] ?? match[3] ?? match[4])!);
    index = TOKEN.lastIndex;
  }
  return { root, segments };
}

export function isReferencePath(path: unknown): boolean {
  try {
    parsePath(path as string);
    return true;
  } catch {
    return false;
  }
}

function child(value: unknown, segment: Segment): { found: boolean; value?: unknown } {
  if (value === null || typeof value !== 'object') return { found: false };
  if (Array.isArray(value)) {
    return typeof segment === 'number' && segment < value.length ? { found: true, value: value[segment] } : { found: false };
  }
  return Object.prototype.hasOwnProperty.call(value, segment) ? { found: true, value: (value as Record<string, unknown>)[segment] } : { found: false };
}

/** The value at `path` (`$…` in `data`, `$$…` in `context`); throws States.Runtime when it matches nothing. */
export function readPath(data: unknown, path: string, context: unknown): unknown {
  const { root, segments } = parsePath(path);
  let value: unknown = root === '$$' ? context : data;
  for (const segment of segments) {
    const next = child(value, segment);
    if (!next.found) throw new StatesError(States.Runtime, `the path ${path} matches nothing in the ${root === '$$' ? 'context object' : 'input'}`);
    value = next.value;
  }
  return value;
}

/** Whether `path` selects a node (for Choice's IsPresent). */
export function hasPath(data: unknown, path: string, context?: unknown): boolean {
  try {
    readPath(data, path, context);
    return true;
  } catch {
    return false;
  }
}

/**
 * ResultPath: a copy of `data` with `value` placed at `path` (`$` replaces everything); missing
 * objects on the way are created. Throws States.ResultPathMatchFailure when the path cannot be set.
 */
export function writePath(data: unknown, path: string, value: unknown): unknown {
  const { root, segments } = parsePath(path);
  if (root === '$$') throw new StatesError(States.ResultPathMatchFailure, `cannot write to the context object: ${path}`);
  if (segments.length === 0) return value;
  const fail = (why: string) => new StatesError(States.ResultPathMatchFailure, `unable to apply ResultPath ${path} to the state's input: ${why}`);
  if (data === null || typeof data !== 'object') throw fail(`the input is ${data === null ? 'null' : typeof data}, not an object`);
  const copy = structuredClone(data) as Record<Segment, unknown>;
  let target: Record<Segment, unknown> = copy;
  segments.forEach((segment, index) => {
    const last = index === segments.length - 1;
    if (Array.isArray(target) !== (typeof segment === 'number')) throw fail(`${String(segment)} does not fit a${Array.isArray(target) ? 'n array' : 'n object'}`);
    if (Array.isArray(target) && (segment as number) > target.length) throw fail(`index ${segment} is beyond the array's end`);
    if (last) {
      target[segment] = value;
      return;
    }
    const next = target[segment];
    if (next === undefined) target[segment] = {};
    else if (next === null || typeof next !== 'object') throw fail(`${String(segment)} is ${next === null ? 'null' : `a ${typeof next}`}, not an object`);
    target = target[segment] as Record<Segment, unknown>;
  });
  return copy;
}
