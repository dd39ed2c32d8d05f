import { ChainState } from '../../chain/state.js';
import { SealogError } from '../../errors.js';

/**
 * Recomputes a ledger's chain and tree while it is copied (`sealog migrate`), so a
 * damaged or tampered source is refused instead of carried into the new store
 * under a fresh-looking head. Not a verifier: it stops at the first fault. The
 * state is the one ChainState every writer derives, extended by hashing entries.
 */
export class ChainCheck {
  readonly state = new ChainState();
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
    const n = this.state.size;
    if (seq !== n) this.#fail(`expected seq ${n}, found ${String(seq)}`);
    if (!Buffer.isBuffer(entry)) this.#fail(`the entry at seq ${n} is not bytes`);
    const computed = this.state.append(entry);
    if (!Buffer.isBuffer(chain) || !chain.equals(computed)) this.#fail(`the chain breaks at seq ${n}`);
  }

  /** Checks the stored head row, when the source has one, against what was recomputed. */
  end(state?: { size?: unknown; chain_head?: unknown }): void {
    if (!state) return;
    if (state.size !== this.state.size) {
      this.#fail(`its head says ${String(state.size)} records, ${this.state.size} were read`);
    }
    if (!Buffer.isBuffer(state.chain_head) || !state.chain_head.equals(this.state.chainHead)) {
      this.#fail('its stored chain head differs from the last record');
    }
  }
}
