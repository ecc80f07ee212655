/**
 * Input and output processing of one state, in Step Functions' order:
 * InputPath → (Parameters / ItemSelector) → the work → ResultSelector → ResultPath → OutputPath.
 * `null` InputPath/OutputPath give `{}`; a `null` ResultPath discards the result.
 */
import { readPath, writePath } from './jsonpath';
import { applyTemplate } from './payload';
import type { ContextObject, Template } from './types';

interface InputFields {
  InputPath?: string | null;
}

interface OutputFields {
  ResultSelector?: Template;
  ResultPath?: string | null;
  OutputPath?: string | null;
}

/** The state's effective input: InputPath applied to its raw input. */
export function effectiveInput(state: InputFields, rawInput: unknown, context: ContextObject): unknown {
  return state.InputPath === null ? {} : readPath(rawInput, state.InputPath ?? '$', context);
}

/** ResultSelector → ResultPath (into the raw input) → OutputPath. */
export function stateOutput(state: OutputFields, rawInput: unknown, result: unknown, context: ContextObject): unknown {
  const selected = state.ResultSelector !== undefined ? applyTemplate(state.ResultSelector, result, context) : result;
  return outputPath(state, placeResult(state.ResultPath, rawInput, selected), context);
}

/** ResultPath: `$` (the default) replaces the input, `null` keeps it, `$.x` sets x in a copy of it. */
export function placeResult(resultPath: string | null | undefined, rawInput: unknown, result: unknown): unknown {
  return resultPath === null ? rawInput : writePath(rawInput, resultPath ?? '$', result);
}

export function outputPath(state: { OutputPath?: string | null }, data: unknown, context: ContextObject): unknown {
  return state.OutputPath === null ? {} : readPath(data, state.OutputPath ?? '$', context);
}
