import { type Checkpoint, parseCheckpoint } from '../checkpoint/body.js';
import { isSealogError, SealogError } from '../errors.js';
import { EMPTY_ROOT, sha256 } from '../hash.js';
import { verifyConsistency } from '../merkle.js';
import { bytesEqual, encodeBase64, toHex } from '../note/encoding.js';
import { type Cosigner, SIG_TYPE_ED25519, type VerifierKey } from '../note/keys.js';
import { cosign, type ParsedNote, parseNote, verifyNote } from '../note/note.js';
import { parseAddCheckpointRequest } from './request.js';
import type { WitnessHead, WitnessState } from './state.js';

/** A log the witness cosigns for: its origin line and the keys that sign its checkpoints (type 0x01). */
export interface WitnessLog {
  origin: string;
  keys: readonly VerifierKey[];
}

/** Why a request ended as it did (for the operator's log; the HTTP status is what the client sees). */
export type WitnessOutcome =
  | 'cosigned'
  | 'malformed'
  | 'unknown-log'
  | 'bad-signature'
  | 'conflict'
  | 'inconsistent'
  /** Not an add-checkpoint or checkpoint request (404/405), or a body over the limit (413). */
  | 'http'
  | 'error';

/** One answer of the witness, independent of HTTP plumbing. */
export interface WitnessReply {
  status: number;
  contentType: string;
  body: string;
  outcome: WitnessOutcome;
  origin?: string;
  size?: number;
  /**
   * A checkpoint validly signed by the log but refused as inconsistent: proof
   * of misbehaviour worth keeping (tlog-witness §add-checkpoint: the witness
   * MAY log it). Never set for unsigned junk.
   */
  evidence?: string;
}

/** tlog-witness §add-checkpoint: a 409 body is the size, in decimal, newline; this type. */
export const TLOG_SIZE_CONTENT_TYPE = 'text/x.tlog.size';
const TEXT = 'text/plain; charset=utf-8';
const SIG_PREFIX = '\u2014 ';

function reply(
  status: number,
  outcome: WitnessOutcome,
  message: string,
  extra: Partial<WitnessReply> = {},
): WitnessReply {
  return { status, contentType: TEXT, body: `${message}\n`, outcome, ...extra };
}

/** The signature lines of `parsed` made by one of `keys`, as they appeared. */
function linesBy(parsed: ParsedNote, keys: readonly VerifierKey[]): string {
  let out = '';
  for (const s of parsed.signatures) {
    if (!keys.some((k) => k.name === s.name && bytesEqual(k.keyId, s.keyId))) continue;
    const raw = new Uint8Array(4 + s.signature.length);
    raw.set(s.keyId, 0);
    raw.set(s.signature, 4);
    out += `${SIG_PREFIX}${s.name} ${encodeBase64(raw)}\n`;
  }
  return out;
}

/**
 * A C2SP tlog-witness: checks add-checkpoint requests against the configured
 * logs and its state, and answers with a cosignature/v1 line when the
 * checkpoint is validly signed and consistent with everything it cosigned
 * before. Stateless apart from {@link WitnessState}; HTTP lives in server.ts.
 */
export class Witness {
  readonly cosigner: Cosigner;
  readonly #state: WitnessState;
  readonly #logs = new Map<string, WitnessLog>();
  readonly #byHash = new Map<string, string>();
  readonly #now: () => number;

  /**
   * @param options.now clock in ms (default Date.now); cosignature times are its whole seconds.
   * @throws SealogError E_CONFIG for a duplicate origin, a log without keys, or a log key that is not type 0x01.
   */
  constructor(options: {
    cosigner: Cosigner;
    state: WitnessState;
    logs: readonly WitnessLog[];
    now?: () => number;
  }) {
    this.cosigner = options.cosigner;
    this.#state = options.state;
    this.#now = options.now ?? Date.now;
    for (const log of options.logs) {
      if (this.#logs.has(log.origin))
        throw new SealogError('E_CONFIG', `log origin ${JSON.stringify(log.origin)} is configured twice`);
      if (log.keys.length === 0 || log.keys.some((k) => k.type !== SIG_TYPE_ED25519))
        throw new SealogError(
          'E_CONFIG',
          `log ${JSON.stringify(log.origin)} needs one or more Ed25519 (type 0x01) log keys`,
        );
      this.#logs.set(log.origin, log);
      // tlog-witness §"Monitor Retrieval Mechanism": SHA-256 of the origin, lowercase hex.
      this.#byHash.set(toHex(sha256(Buffer.from(log.origin, 'utf8'))), log.origin);
    }
  }

  /**
   * Handles one add-checkpoint request body (tlog-witness §add-checkpoint),
   * checks in the spec's order: malformed → 400; unknown origin → 404; no
   * valid signature by a trusted key, or a failing one → 403; old size above
   * the checkpoint size → 400; old size ≠ the size last cosigned → 409 with
   * that size; size 0 with a non-empty root, a proof after old size 0, a
   * consistency proof that fails, or a different root at the same size → 422;
   * else the new head is stored (before answering) and 200 carries one
   * cosignature/v1 line. The state changes only on 200.
   * Never throws: a storage failure is a 500.
   */
  addCheckpoint(body: Uint8Array): WitnessReply {
    try {
      return this.#addCheckpoint(body);
    } catch (err) {
      const message = isSealogError(err) ? `${err.code}: ${err.message}` : 'internal error';
      return reply(500, 'error', `witness failed: ${message}`);
    }
  }

  #addCheckpoint(body: Uint8Array): WitnessReply {
    let parsed: ParsedNote;
    let checkpoint: Checkpoint;
    let oldSize: number;
    let proof: Uint8Array[];
    let note: Uint8Array;
    try {
      ({ oldSize, proof, note } = parseAddCheckpointRequest(body));
      parsed = parseNote(note);
      checkpoint = parseCheckpoint(parsed.text);
    } catch (err) {
      if (isSealogError(err) && err.code === 'E_FORMAT') return reply(400, 'malformed', err.message);
      throw err;
    }
    const { origin, size, root } = checkpoint;
    const log = this.#logs.get(origin);
    if (!log) return reply(404, 'unknown-log', 'unknown log origin', { origin });
    try {
      // signed-note §Signatures: unknown keys ignored, a trusted key's line must verify, one must.
      verifyNote(note, log.keys);
    } catch (err) {
      if (isSealogError(err) && (err.code === 'E_TAMPER' || err.code === 'E_FORMAT'))
        return reply(403, 'bad-signature', 'no valid signature by a key trusted for this log', {
          origin,
          size,
        });
      throw err;
    }
    if (oldSize > size)
      return reply(400, 'malformed', 'old size is larger than the checkpoint size', { origin, size });
    const evidence = new TextDecoder().decode(note);
    return this.#state.advance(origin, (current: WitnessHead | undefined) => {
      const known = current?.size ?? 0;
      if (oldSize !== known) {
        return {
          result: {
            status: 409,
            contentType: TLOG_SIZE_CONTENT_TYPE,
            body: `${known}\n`,
            outcome: 'conflict' as const,
            origin,
            size,
          },
        };
      }
      const refuse = (message: string) => ({
        result: reply(422, 'inconsistent', message, { origin, size, evidence }),
      });
      if (size === 0 && !bytesEqual(root, EMPTY_ROOT))
        return refuse('a size 0 checkpoint must have the empty root');
      if (oldSize === 0) {
        if (proof.length !== 0) return refuse('old size 0 takes no consistency proof');
      } else if (!current || !verifyConsistency(oldSize, size, current.root, root, proof)) {
        return refuse(
          oldSize === size
            ? 'root differs from the one cosigned at this size'
            : 'consistency proof does not verify',
        );
      }
      const nowMs = this.#now();
      const time = Math.floor(nowMs / 1000);
      // tlog-witness: "the timestamp MUST NOT be zero".
      if (!Number.isSafeInteger(time) || time <= 0)
        throw new SealogError('E_CONFIG', 'the witness clock is not set');
      const line = cosign(parsed.text, this.cosigner, time);
      const stored = `${parsed.text}\n${linesBy(parsed, log.keys)}${line}`;
      return {
        head: { origin, size, root, updatedMs: nowMs, note: stored },
        result: { status: 200, contentType: TEXT, body: line, outcome: 'cosigned' as const, origin, size },
      };
    });
  }

  /**
   * tlog-witness §"Monitor Retrieval Mechanism": the latest cosigned
   * checkpoint of the log whose origin hashes to `originHash` (lowercase hex),
   * with the log's verified signatures and ours; 404 if none.
   */
  checkpoint(originHash: string): WitnessReply {
    try {
      const origin = this.#byHash.get(originHash);
      const head = origin === undefined ? undefined : this.#state.get(origin);
      if (!head) return reply(404, 'unknown-log', 'no checkpoint cosigned for this log');
      return {
        status: 200,
        contentType: TEXT,
        body: head.note,
        outcome: 'cosigned',
        origin: head.origin,
        size: head.size,
      };
    } catch (err) {
      const message = isSealogError(err) ? `${err.code}: ${err.message}` : 'internal error';
      return reply(500, 'error', `witness failed: ${message}`);
    }
  }
}
