import { createWriterTrust } from '../checkpoint/config.js';
import { sealHead } from '../checkpoint/seal.js';
import { SealogError } from '../errors.js';
import type { CheckpointKey } from '../signer/types.js';
import { connectStore } from '../store/connect.js';
import { type Statement, signStatement, statementEntry } from './statements.js';

// The two writes retention makes to a segment file, both as `sealog
// checkpoint` does them: the store is opened with the key's own trust root, so
// it derives the head by hashing the rows from this key's newest checkpoint (or
// row 0) and refuses a ledger that was rewritten; only that derived head is signed.

export interface SealedAppend {
  /** seq of the statement entry. */
  seq: number;
  /** The sealing checkpoint's size and note. */
  size: number;
  note: string;
  statement: string;
}

async function open(file: string, signer: CheckpointKey) {
  const store = await connectStore(file, {
    durability: 'power',
    create: false,
    trust: createWriterTrust({}, signer, () => {}),
  });
  if (store.divergence) {
    await store.close();
    throw store.divergence;
  }
  return store;
}

/**
 * Signs `statement` with the log key, appends it to the segment `file` and
 * seals a checkpoint covering it, signed by the same key.
 * @throws SealogError E_TAMPER (the segment does not re-derive), E_KEY, E_IO.
 */
export async function appendSealed(
  file: string,
  signer: CheckpointKey,
  statement: Statement,
  now: number,
): Promise<SealedAppend> {
  const note = await signStatement(statement, signer.log);
  const store = await open(file, signer);
  try {
    const c = await store.append([statementEntry(note, statement, now)]);
    const seal = await sealHead(store, signer);
    if (!seal) throw new SealogError('E_IO', `${file}: another writer held the checkpoint lock`);
    return { seq: c.firstSeq, size: seal.size, note: seal.note, statement: note };
  } finally {
    await store.close();
  }
}

/**
 * A checkpoint of segment `file` at its final head, which must be `expected`
 * (what verify recomputed and the prune statement names): derived, then signed
 * and stored in the segment like any seal.
 * @throws SealogError E_TAMPER when the derived head is not `expected`.
 */
export async function signAtHead(
  file: string,
  signer: CheckpointKey,
  expected: { size: number; root: Uint8Array },
): Promise<string> {
  const store = await open(file, signer);
  try {
    const head = await store.head();
    if (head.size !== expected.size || !Buffer.from(head.root).equals(Buffer.from(expected.root))) {
      throw new SealogError(
        'E_TAMPER',
        `${file}: its head is size ${head.size}, not the size ${expected.size} verified before; run sealog verify on the directory`,
      );
    }
    const seal = await sealHead(store, signer);
    if (!seal || seal.size !== expected.size)
      throw new SealogError('E_IO', `${file}: could not seal it at size ${expected.size}`);
    return seal.note;
  } finally {
    await store.close();
  }
}
