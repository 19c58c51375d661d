/**
 * `value`, checked: where a test expects something (a match, an entry, a child's pid) and
 * finds nothing, it fails here, saying what was missing, instead of on a later `undefined`.
 */
export function must<T>(value: T | null | undefined, what = "a value"): T {
  if (value === undefined || value === null) throw new Error(`expected ${what}, got ${String(value)}`);
  return value;
}
