import type { ErasedLeaves } from '../chain/erased.js';
import { SealogError } from '../errors.js';
import { leafHash } from '../hash.js';

/**
 * Leaf hashes of rows [from, to) as a store read them, in order. The rows are
 * the database's (attacker input): a missing, repeated or non-blob row is an
 * error, never a shorter list. Shared by both stores' leafHashes().
 * @throws SealogError E_STATE naming the ledger and the first bad seq.
 */
export function leavesOf(
  rows: readonly { seq: unknown; entry: unknown }[],
  from: number,
  to: number,
  display: string,
  erased?: ErasedLeaves,
): Buffer[] {
  const out: Buffer[] = [];
  for (const [i, r] of rows.entries()) {
    if (r.seq !== from + i || !(r.entry instanceof Uint8Array)) break;
    // An erased row (the exact marker of an authorised statement): the statement's leaf.
    const hit = erased?.leafOf(from + i, r.entry);
    out.push(hit ? hit.leaf : Buffer.from(leafHash(r.entry)));
  }
  if (out.length !== to - from) {
    throw new SealogError(
      'E_STATE',
      `ledger ${display}: row ${from + out.length} is missing or malformed; run \`sealog verify\` on it`,
    );
  }
  return out;
}
