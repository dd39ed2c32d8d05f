import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { splitAnchorText } from '../checkpoint/anchor.js';
import { openCheckpoint } from '../checkpoint/signed.js';
import { SealogError } from '../errors.js';
import type { VerifierKey } from '../note/keys.js';
import { parseVerifierKey } from '../note/keys.js';
import { verifyNote } from '../note/note.js';

/** A tree head this writer's own key signed: a point the writer can prove. */
export interface SignedHead {
  size: number;
  root: Buffer;
  /** Where it was found, for findings: "checkpoint row 12", "anchor file /x". */
  where: string;
}

/** Anchor files are read from the end: the newest notes are the ones that matter. */
export const MAX_ANCHOR_READ_BYTES = 4 * 1024 * 1024;

/**
 * The writer's trust root: its own verifier key and origin. A stored checkpoint,
 * an anchor note or a resume row counts only if this key's signature on it
 * verifies: rows, anchors and other processes' claims are checked, never adopted.
 */
export class OwnKey {
  readonly #key: VerifierKey;
  readonly origin: string;

  /** @param verifierKey the signer's own verifier key string. */
  constructor(verifierKey: string, origin: string) {
    this.#key = parseVerifierKey(verifierKey);
    this.origin = origin;
  }

  /**
   * The head a note signs, if this key signed it for this origin; undefined for
   * anything else (forged, foreign, malformed). Never throws: the note is attacker input.
   */
  open(note: unknown, where: string): SignedHead | undefined {
    if (typeof note !== 'string') return undefined;
    try {
      const { checkpoint } = openCheckpoint(note, [this.#key], { origin: this.origin });
      return { size: checkpoint.size, root: Buffer.from(checkpoint.root), where };
    } catch {
      return undefined;
    }
  }

  /** True when this key signed `note` (any signed note, e.g. an erasure statement) under the origin's name. Never throws. */
  signs(note: string): boolean {
    try {
      return verifyNote(note, [this.#key]).verified.some((v) => v.name === this.origin);
    } catch {
      return false;
    }
  }
}

/**
 * The heads this key signed in an anchor file, kept current: each {@link read}
 * parses only what was appended since the last one (other writers of the ledger
 * append their checkpoints there too). The attacker is assumed unable to write
 * the anchor file; a file that shrank is read again from its tail.
 */
export class AnchorHeads {
  readonly path: string;
  readonly #own: OwnKey;
  #offset = 0;
  #heads: SignedHead[] = [];

  constructor(own: OwnKey, path: string) {
    this.#own = own;
    this.path = path;
  }

  /**
   * For the commit path: {@link read}, or the heads read so far when the file cannot be
   * read now. A failing anchor must not stop records being committed; the seal, which
   * appends to it, reports the failure.
   */
  readOrKnown(): readonly SignedHead[] {
    try {
      return this.read();
    } catch {
      return this.#heads;
    }
  }

  /** Every head read so far, after reading what was appended. @throws SealogError E_IO. */
  read(): readonly SignedHead[] {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return this.#heads;
      throw new SealogError('E_IO', `cannot read anchor file ${this.path}`, { cause: err });
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new SealogError('E_IO', `anchor file ${this.path} is not a regular file`);
      if (st.size < this.#offset) {
        this.#offset = 0;
        this.#heads = [];
      }
      // Only the newest MAX_ANCHOR_READ_BYTES of what is new: they hold the newest heads.
      const from = Math.max(this.#offset, st.size - MAX_ANCHOR_READ_BYTES);
      const len = st.size - from;
      if (len <= 0) return this.#heads;
      const buf = Buffer.alloc(len);
      let got = 0;
      while (got < len) {
        const n = readSync(fd, buf, got, len - got, from + got);
        if (n === 0) break;
        got += n;
      }
      const text = buf.subarray(0, got).toString('utf8');
      // Only notes that have ended are consumed; one still being written is read again.
      const { notes, rest } = splitAnchorText(text);
      for (const note of notes) {
        const h = this.#own.open(note, `anchor file ${this.path}`);
        if (h) this.#heads.push(h);
      }
      this.#offset = from + Buffer.byteLength(text.slice(0, text.length - rest.length), 'utf8');
      return this.#heads;
    } catch (err) {
      if (err instanceof SealogError) throw err;
      throw new SealogError('E_IO', `cannot read anchor file ${this.path}`, { cause: err });
    } finally {
      closeSync(fd);
    }
  }
}
