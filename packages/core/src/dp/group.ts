// How a report names a group: the grouping field's value as a string.

/** Key of a group value: strings as is, other JSON scalars as JSON, missing as "(missing)"; objects and arrays are not groups. */
export function groupKey(v: unknown): string | undefined {
  if (v === undefined) return '(missing)';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return JSON.stringify(v);
  return undefined;
}
