/** CloudFormation `{"Ref": X}` objects in a definition, replaced by local values (e.g. LibraryBucket → the local bucket). */

/** A copy of `value` with every known `{"Ref": X}` replaced; unknown ones are left for validation to report. */
export function resolveRefs(value: unknown, intrinsics: Readonly<Record<string, string>>): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveRefs(item, intrinsics));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const [only] = entries;
  if (entries.length === 1 && only && only[0] === 'Ref' && typeof only[1] === 'string' && Object.prototype.hasOwnProperty.call(intrinsics, only[1])) {
    return intrinsics[only[1]];
  }
  return Object.fromEntries(entries.map(([key, item]) => [key, resolveRefs(item, intrinsics)]));
}
