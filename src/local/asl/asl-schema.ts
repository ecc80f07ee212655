/**
 * The definition checked by asl-validator (the validator serverless-step-functions runs on deploy), in
 * the form deployed: each `{"Fn::GetAtt": [<function>, "Arn"]}` a Lambda ARN, `{Ref}`s already
 * resolved by the caller. Its errors are reported with the executor's own problems.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import validator from 'asl-validator';
import { functionNameOf } from './resources';

const LOCAL_FUNCTION_ARN = (name: string) => `arn:aws:lambda:local:000000000000:function:${name}`;

/** A copy of `value` with every function `Fn::GetAtt` replaced by a Lambda ARN (what CloudFormation makes of it). */
export function deployedForm(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(deployedForm);
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === 'Fn::GetAtt') {
    const name = functionNameOf(value);
    if (name !== undefined) return LOCAL_FUNCTION_ARN(name);
  }
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, deployedForm(item)]));
}

/** asl-validator compiles its whole schema on every call (about half a second): results are kept by definition. */
const checked = new Map<string, readonly string[]>();
const KEEP = 100;

/** asl-validator's errors for the deployed form of `definition` (which is left unchanged), as `asl-validator: <code>: <message>`. */
export function aslValidatorProblems(definition: unknown): string[] {
  const deployed = deployedForm(definition);
  if (deployed === null || typeof deployed !== 'object' || Array.isArray(deployed)) return ['asl-validator: the definition is not an object'];
  const key = JSON.stringify(deployed);
  let problems = checked.get(key);
  if (!problems) {
    problems = acceptedBefore(key) ? [] : validate(deployed);
    if (problems.length === 0) remember(key);
    if (checked.size >= KEEP) checked.delete(checked.keys().next().value!);
    checked.set(key, problems);
  }
  return [...problems];
}

/**
 * Across processes (each `photo-scaler run` would pay the half second again): a definition this very
 * asl-validator accepted is remembered by its sha-256 under node_modules/.cache (as build tools keep
 * their caches), one empty file per definition. Only acceptance is kept: a rejected definition is
 * checked again, so its problems are always reported in full. No cache where it cannot be written.
 */
const cacheDir = (() => {
  try {
    const manifest = createRequire(import.meta.url).resolve('asl-validator/package.json');
    const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
    return { dir: join(dirname(manifest), '..', '.cache', 'photo-scaler', 'asl-validator'), version };
  } catch {
    return undefined;
  }
})();

/** Where the acceptance of `definition` is (or would be) remembered; undefined without a cache. */
export function acceptanceFileOf(definition: unknown): string | undefined {
  return cacheFile(JSON.stringify(deployedForm(definition)));
}

function cacheFile(key: string): string | undefined {
  return cacheDir && join(cacheDir.dir, createHash('sha256').update(`${cacheDir.version}\u0000${key}`).digest('hex'));
}

function acceptedBefore(key: string): boolean {
  const file = cacheFile(key);
  try {
    return file !== undefined && statSync(file).isFile();
  } catch {
    return false;
  }
}

function remember(key: string): void {
  const file = cacheFile(key);
  if (!file) return;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, '');
  } catch {
    // A read-only install: every process checks again.
  }
}

function validate(deployed: object): string[] {
  try {
    // asl-validator writes a QueryLanguage onto every state: `deployed` is a copy.
    return validator(deployed).errors.map((error) => `asl-validator: ${error['Error code']}: ${error.Message}`);
  } catch (error) {
    return [`asl-validator could not check the definition: ${error instanceof Error ? error.message : String(error)}`];
  }
}
