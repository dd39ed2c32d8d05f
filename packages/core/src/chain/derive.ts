import { parseCheckpoint } from '../checkpoint/body.js';
import { SealogError } from '../errors.js';
import { parseNote } from '../note/note.js';
import type { ErasedLeaves } from './erased.js';
import { ChainState } from './state.js';
import type { OwnKey, SignedHead } from './trust.js';

// How a writer (or `sealog checkpoint`) arrives at a state it may sign. It starts
// from a point it can prove (the newest checkpoint its own key signed whose
// stored compact range hashes to the signed root, else row 0) and hashes every
// row after it itself. Along the way every other head its key signed (newer
// checkpoint rows, anchor-file notes) must come out of the rows again. Nothing
// read back is adopted: a stored chain head, compact range or ledger_state row
// is at most a claim that the hashing confirms or refutes.

/** A stored checkpoint row that may serve as a starting point. All fields are attacker input. */
export interface ResumeRow {
  id: unknown;
  size: unknown;
  note: unknown;
  chain_head: unknown;
  compact: unknown;
}

/** A stored checkpoint row at or above the start: checked against the rehashed rows. */
export interface CheckpointRow {
  id: unknown;
  note: unknown;
}

/** Resume rows examined at most: each costs a signature check. Past them, start from row 0. */
export const MAX_RESUME_CANDIDATES = 64;
/**
 * Checkpoint rows whose claimed root differs from the rehashed one are signature-checked
 * (a valid one proves a rewrite). Past this many, forged rows are being used to make
 * the writer spend time: it refuses to sign rather than give up checking.
 */
export const MAX_MISMATCHED_CHECKPOINTS = 1000;

/**
 * The newest resume row whose note this key signed and whose compact range has
 * exactly the signed root, at a size the ledger still has rows for. A row that
 * fails any check is skipped, never trusted.
 */
export function pickStart(
  rows: readonly ResumeRow[],
  own: OwnKey,
  options: { rowCount: number; atMost?: number },
): { state: ChainState; from: SignedHead } | undefined {
  for (const row of rows.slice(0, MAX_RESUME_CANDIDATES)) {
    const head = own.open(row.note, `checkpoint row ${String(row.id)}`);
    if (!head || head.size > options.rowCount) continue;
    if (options.atMost !== undefined && head.size > options.atMost) continue;
    let state: ChainState;
    try {
      state = ChainState.decode(row.size, row.chain_head, row.compact);
    } catch {
      continue;
    }
    // The root binds the compact range (and so every leaf below it) to the signature.
    if (state.size !== head.size || !state.root().equals(head.root)) continue;
    return { state, from: head };
  }
  return undefined;
}

interface Claim {
  size: number;
  root: Buffer;
  note: string;
  where: string;
}

/** The (size, root) a note's body claims, unverified; undefined if it does not parse. */
function claimOf(row: CheckpointRow): Claim | undefined {
  if (typeof row.note !== 'string') return undefined;
  try {
    const cp = parseCheckpoint(parseNote(row.note).text);
    return {
      size: cp.size,
      root: Buffer.from(cp.root),
      note: row.note,
      where: `checkpoint row ${String(row.id)}`,
    };
  } catch {
    return undefined;
  }
}

/**
 * Re-derives a ledger from a proven start by hashing its rows in order. Feed every
 * stored row from `start.size - 1` (the row whose chain value the start claims)
 * to the end, then call {@link end}; the first disagreement is kept as the finding
 * and the derivation stops. Synchronous and backend-neutral: SQLite and PostgreSQL
 * feed it rows.
 */
export class Derivation {
  readonly state: ChainState;
  readonly #heads = new Map<number, Claim[]>();
  readonly #own: OwnKey | undefined;
  #mismatches = 0;
  #finding: SealogError | undefined;
  #linkChecked: boolean;
  readonly #display: string;
  readonly #erased: ErasedLeaves | undefined;

  /**
   * @param heads heads already verified as signed by this key (anchor notes)
   * @param rows stored checkpoint rows, unverified: checked by root, and by signature on a mismatch
   * @param erased leaves of erased rows that erasure statements this key signed authorise
   *   (chain/erased.ts); the statements' heads belong in `heads`
   */
  constructor(
    start: ChainState,
    display: string,
    trust: {
      own?: OwnKey;
      heads?: readonly SignedHead[];
      rows?: Iterable<CheckpointRow>;
      erased?: ErasedLeaves;
    } = {},
  ) {
    this.state = start.clone();
    this.#display = display;
    this.#own = trust.own;
    this.#erased = trust.erased;
    this.#linkChecked = start.size === 0;
    for (const h of trust.heads ?? []) this.#add({ ...h, note: '' });
    if (trust.own) {
      for (const row of trust.rows ?? []) {
        const c = claimOf(row);
        if (c) this.#add(c);
      }
    }
    this.#check();
  }

  #add(c: Claim): void {
    if (c.size < this.state.size) return; // covered by the signed start itself
    const list = this.#heads.get(c.size);
    if (list) list.push(c);
    else this.#heads.set(c.size, [c]);
  }

  /** The first disagreement found, if any (an E_TAMPER error naming the row or size). */
  get finding(): SealogError | undefined {
    return this.#finding;
  }

  /** One stored row, in seq order. Returns false once a finding stops the derivation. */
  row(seq: unknown, entry: unknown, chain: unknown): boolean {
    if (this.#finding) return false;
    const n = this.state.size;
    const s = typeof seq === 'bigint' ? Number(seq) : seq;
    if (!this.#linkChecked) {
      // The row just below the start: its stored chain value must be the one the start claims.
      this.#linkChecked = true;
      if (s !== n - 1 || !Buffer.isBuffer(chain) || !chain.equals(this.state.chainHead)) {
        return this.#fail(
          `row ${n - 1}: its stored chain value is not the one sealed with the checkpoint at size ${n}`,
        );
      }
      return true;
    }
    if (s !== n)
      return this.#fail(`expected row ${n}, found ${String(s)} (a row is missing, inserted or renumbered)`);
    if (!Buffer.isBuffer(entry)) return this.#fail(`row ${n}: entry is not bytes`);
    // An erased row (the exact marker of a statement this key signed): the statement's leaf.
    const erased = this.#erased?.leafOf(n, entry);
    const computed = erased ? this.state.appendLeaf(erased.leaf) : this.state.append(entry);
    if (!Buffer.isBuffer(chain) || !chain.equals(computed)) {
      return this.#fail(
        `row ${n}: stored chain value differs from the one recomputed from the entries (entry or chain modified)`,
      );
    }
    return this.#check();
  }

  /** After the last row: a head this key signed beyond the rows means records were cut off. */
  end(): SealogError | undefined {
    if (!this.#finding && !this.#linkChecked) {
      this.#fail(`row ${this.state.size - 1}, sealed by a checkpoint, is missing`);
    }
    if (this.#finding) return this.#finding;
    for (const size of [...this.#heads.keys()].sort((a, b) => b - a)) {
      if (size <= this.state.size) break;
      for (const c of this.#heads.get(size)!) {
        if (!this.#signed(c)) continue;
        this.#fail(
          `${c.where} holds a checkpoint signed by this key at size ${size}, but the ledger has only ${this.state.size} records: ` +
            'records were cut off, or that checkpoint belongs to another ledger sealed with the same key (one key name and anchor file per ledger)',
        );
        return this.#finding;
      }
    }
    return this.#finding;
  }

  /** At a size some head claims: a differing root that this key really signed is a rewrite. */
  #check(): boolean {
    const claims = this.#heads.get(this.state.size);
    if (!claims) return true;
    const root = this.state.root();
    for (const c of claims) {
      if (c.root.equals(root) || !this.#signed(c)) continue;
      return this.#fail(
        `${c.where} holds a checkpoint signed by this key at size ${c.size} whose root differs from the one recomputed from the records: ` +
          'history up to that size was rewritten, or that checkpoint belongs to another ledger sealed with the same key (one key name and anchor file per ledger)',
      );
    }
    return !this.#finding;
  }

  /** Anchor heads come verified; a stored row is checked now, at most MAX_MISMATCHED_CHECKPOINTS times. */
  #signed(c: Claim): boolean {
    if (c.note === '') return true;
    if (!this.#own) return false;
    if (++this.#mismatches > MAX_MISMATCHED_CHECKPOINTS) {
      this.#fail(
        `more than ${MAX_MISMATCHED_CHECKPOINTS} stored checkpoints disagree with the records (forged rows, or a rewrite)`,
      );
      return false;
    }
    return this.#own.open(c.note, c.where) !== undefined;
  }

  #fail(what: string): false {
    this.#finding ??= new SealogError(
      'E_TAMPER',
      `ledger ${this.#display}: ${what}; nothing will be signed over it: run \`sealog verify\` with the verifier key`,
    );
    return false;
  }
}
