import type { Ed25519Signer } from '../note/keys.js';
import type { Store } from '../store/types.js';
import { appendAnchor } from './anchor.js';
import { signCheckpoint } from './signed.js';

/** What one seal produced. */
export interface Seal {
  size: number;
  note: string;
  createdAtMs: number;
}

/**
 * One seal, in stages: read the committed head → sign checkpoint + time
 * cosignature → store it in the ledger → append it to the anchor file. The
 * head comes from the store, which reports only committed records (of every
 * writer), so the checkpoint never covers anything uncommitted. Used by the
 * {@link Checkpointer} and by `sealog checkpoint`.
 * @throws SealogError E_KEY (origin ≠ key name), E_IO (store or anchor failed).
 */
export async function sealHead(
  store: Store,
  signer: Ed25519Signer,
  options: { origin?: string; anchorFile?: string; nowMs?: number } = {},
): Promise<Seal> {
  const head = await store.head();
  const createdAtMs = options.nowMs ?? Date.now();
  const note = signCheckpoint(
    { origin: options.origin ?? signer.name, size: head.size, root: head.root },
    signer,
    Math.floor(createdAtMs / 1000),
  );
  await store.addCheckpoint(head.size, note, createdAtMs);
  if (options.anchorFile !== undefined) appendAnchor(options.anchorFile, note);
  return { size: head.size, note, createdAtMs };
}
