import type { NoteStamp } from './timestamped.js';
import type { SeenCheckpoint } from './witnessed.js';

// What verify keeps of the checkpoint rows it reads (red-team review F6). A
// ledger padded with a million junk rows used to cost a million objects (and
// a million note texts under --tsa-anchor, F5). Rows now cost 21 bytes each
// in typed arrays; what a row's note proves is kept once per distinct note
// that opened (its log signature verified), which an attacker without the log
// key cannot multiply: copies of one note share one entry.

/** A distinct checkpoint note whose log signature verified, shared by every row that holds it. */
export interface SeenNote extends SeenCheckpoint {
  /** SHA-256 of the note bytes as stored, hex: what a token's imprint must be. */
  sha256: string;
  /** The first row holding it, for findings about the note itself (tokens). */
  where: string;
  checkpointId?: number;
  /** Stamps of valid tokens over these bytes (docs/verify.md §1.5). */
  stamps?: NoteStamp[];
  /** Rows with this note that are valid; set by judgeRows. */
  validRows: number;
  /** Whether one of them is a ledger row. */
  validStored: boolean;
  /** Set when only keys that may not sign at its size signed it (key rotation): why. */
  retired?: string;
}

const TRUSTED = 1;
const VALID = 2;

/**
 * The rows verify read, in its order (ledger rows by id, then the notes given
 * from outside): id, size column and note per row, in growable typed arrays.
 */
export class CheckpointRows {
  count = 0;
  /** Ledger rows; they come first. */
  stored = 0;
  #id = new Float64Array(1024);
  #column = new Float64Array(1024);
  #note = new Int32Array(1024);
  #flags = new Uint8Array(1024);

  /**
   * Adds a row. `id` and `column` are NaN when the file's value is not a
   * safe integer; `note` is the index into the note list, -1 if the note did not open.
   */
  push(id: number, column: number, note: number, trusted: boolean): void {
    if (this.count === this.#id.length) this.#grow();
    const i = this.count++;
    this.#id[i] = id;
    this.#column[i] = column;
    this.#note[i] = note;
    this.#flags[i] = trusted ? TRUSTED : 0;
    if (!trusted) this.stored++;
  }

  #grow(): void {
    const n = this.#id.length * 2;
    const grow = <T extends Float64Array | Int32Array | Uint8Array>(a: T, b: T): T => {
      b.set(a);
      return b;
    };
    this.#id = grow(this.#id, new Float64Array(n));
    this.#column = grow(this.#column, new Float64Array(n));
    this.#note = grow(this.#note, new Int32Array(n));
    this.#flags = grow(this.#flags, new Uint8Array(n));
  }

  /** The row's checkpoints.id, undefined for a given note or an id that is not a safe integer. */
  id(i: number): number | undefined {
    const v = this.#id[i]!;
    return Number.isNaN(v) ? undefined : v;
  }

  /** The row's size column, undefined when it is not a safe integer (or the row was given). */
  column(i: number): number | undefined {
    const v = this.#column[i]!;
    return Number.isNaN(v) ? undefined : v;
  }

  note(i: number): number {
    return this.#note[i]!;
  }

  trusted(i: number): boolean {
    return (this.#flags[i]! & TRUSTED) !== 0;
  }

  valid(i: number): boolean {
    return (this.#flags[i]! & VALID) !== 0;
  }

  setValid(i: number): void {
    this.#flags[i]! |= VALID;
  }
}
