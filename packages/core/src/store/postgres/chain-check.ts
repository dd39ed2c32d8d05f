import { SealogError } from '../../errors.js';
import { chainHash, leafHash, ZERO_HASH } from '../../hash.js';
import { CompactRange } from '../../merkle.js';

/**
 * Recomputes a ledger's chain and tree while it is copied (`sealog migrate`), so a
 * damaged or tampered source is refused instead of carried into the new store
 * under a fresh-looking head. Not a verifier: it stops at the first fault.
 */
export class ChainCheck {
  readonly range = new CompactRange();
  chain: Buffer = ZERO_HASH;
  readonly #source: string;

  constructor(source: string) {
    this.#source = source;
  }

  #fail(what: string): never {
    throw new SealogError(
      'E_TAMPER',
      `${this.#source} does not verify (${what}); run \`sealog verify\` on it, migrate copies only intact ledgers`,
    );
  }

  row(seq: unknown, entry: unknown, chain: unknown): void {
    const n = this.range.size;
    if (seq !== n) this.#fail(`expected seq ${n}, found ${String(seq)}`);
    if (!Buffer.isBuffer(entry)) this.#fail(`the entry at seq ${n} is not bytes`);
    const leaf = leafHash(entry);
    this.chain = chainHash(this.chain, leaf);
    if (!Buffer.isBuffer(chain) || !chain.equals(this.chain)) this.#fail(`the chain breaks at seq ${n}`);
    this.range.append(leaf);
  }

  /** Checks the stored head row, when the source has one, against what was recomputed. */
  end(state?: { size?: unknown; chain_head?: unknown }): void {
    if (!state) return;
    if (state.size !== this.range.size) {
      this.#fail(`its head says ${String(state.size)} records, ${this.range.size} were read`);
    }
    if (!Buffer.isBuffer(state.chain_head) || !state.chain_head.equals(this.chain)) {
      this.#fail('its stored chain head differs from the last record');
    }
  }
}
