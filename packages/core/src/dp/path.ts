// Dotted-path access for the noise transform. Reads only own properties (a
// record's prototype chain is not its data); writes copy every object along
// the path once, so the caller's record is never mutated.

/** The value at `parts` in `root`, or undefined when any step is missing or not an object. */
export function getPath(root: unknown, parts: readonly string[]): unknown {
  let node = root;
  for (const key of parts) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function shallowCopy(node: object): Record<string, unknown> {
  return (Array.isArray(node) ? node.slice() : { ...node }) as Record<string, unknown>;
}

/**
 * Returns `root` with `value` at `parts`, copying each object on the path unless
 * it is already in `copies` (objects this write pass created). The path must
 * exist (checked with {@link getPath} first).
 */
export function setPath(
  root: Record<string, unknown>,
  parts: readonly string[],
  value: unknown,
  copies: Set<object>,
): Record<string, unknown> {
  const copy = copies.has(root) ? root : shallowCopy(root);
  copies.add(copy);
  const [key, ...rest] = parts;
  if (key === undefined) return copy;
  copy[key] = rest.length === 0 ? value : setPath(copy[key] as Record<string, unknown>, rest, value, copies);
  return copy;
}
