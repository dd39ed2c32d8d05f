import type { Ed25519Signer } from '../note/keys.js';
import { asCheckpointKey } from '../signer/file.js';
import type { CheckpointKey } from '../signer/types.js';
import type { LedgerHead, SealSigner, Store } from '../store/types.js';
import { appendAnchorAsync } from './anchor.js';
import { signCheckpointWith } from './signed.js';

/** What one seal produced. */
export interface Seal {
  size: number;
  note: string;
  createdAtMs: number;
  /** The head this writer derived and signed (its compact range proves consistency to witnesses). */
  head: LedgerHead;
  /** False when another writer had just stored a checkpoint of this head (ours is only anchored). */
  stored: boolean;
}

/**
 * One seal, in stages: read the committed head → sign checkpoint + time
 * cosignature → store it in the ledger → append it to the anchor file. The
 * head comes from the store, which reports only committed records (of every
 * writer), so the checkpoint never covers anything uncommitted. Used by the
 * {@link Checkpointer} and by `sealog checkpoint`. On a store with a checkpoint
 * lock (PostgreSQL), resolves undefined when `wait` is false and another writer
 * holds the lock.
 * @throws SealogError E_KEY (origin ≠ key name), E_IO (store or anchor failed).
 */
export async function sealHead(
  store: Store,
  signer: CheckpointKey | Ed25519Signer,
  options: { origin?: string; anchorFile?: string; nowMs?: number; wait?: boolean } = {},
): Promise<Seal | undefined> {
  const key = asCheckpointKey(signer);
  const sign: SealSigner = async (head) => {
    const createdAt = options.nowMs ?? Date.now();
    const note = await signCheckpointWith(
      { origin: options.origin ?? key.name, size: head.size, root: head.root },
      key,
      Math.floor(createdAt / 1000),
    );
    return { note, createdAt };
  };
  if (store.sealLocked) {
    // A store shared across hosts: whichever writer holds its checkpoint lock signs.
    const locked = await store.sealLocked(sign, { wait: options.wait ?? true });
    if (!locked) return undefined;
    // Anchored even when another writer stored the same head: this anchor may be another file.
    if (options.anchorFile !== undefined) await appendAnchorAsync(options.anchorFile, locked.note);
    return {
      size: locked.size,
      note: locked.note,
      createdAtMs: locked.createdAt,
      head: locked.head,
      stored: locked.fresh,
    };
  }
  // The head is the one the store derived by hashing entries itself; rows other
  // writers committed are hashed first, so the seal covers them too.
  await store.refresh?.();
  const head = await store.head();
  const { note, createdAt } = await sign(head);
  await store.addCheckpoint(head, note, createdAt);
  if (options.anchorFile !== undefined) await appendAnchorAsync(options.anchorFile, note);
  return { size: head.size, note, createdAtMs: createdAt, head, stored: true };
}
