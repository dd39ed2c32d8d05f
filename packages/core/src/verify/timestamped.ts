import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { SealogError } from '../errors.js';
import type { VerifierKey } from '../note/keys.js';
import { readTimestamps } from '../store/timestamps.js';
import { readTrustAnchors } from '../timestamp/certs.js';
import { readTsaSigners } from '../timestamp/chain.js';
import { MAX_TIMESTAMP_TOKEN_BYTES } from '../timestamp/der.js';
import { isOid } from '../timestamp/oids.js';
import { parseTimestampToken } from '../timestamp/token.js';
import { verifyTimestampImprint } from '../timestamp/verify.js';
import type { SeenNote } from './rows.js';
import type { Finding, VerifyOptions } from './types.js';

// The verifier's TSA policy (issue 16, docs/verify.md §1.5). A stolen log key
// re-signs a rewritten history with any time it likes; an RFC 3161 token
// fetched when a note was sealed binds the note's exact bytes to a TSA's time,
// and no token dated before the theft exists for a rewritten note. Tokens are
// attacker input (ledger rows, files): each is matched to a note by its own
// imprint (SHA-256 of the note as stored), verified offline, and never throws.

/** How far the TSA time may precede the log's signed time (clock skew between log and TSA). */
export const TSA_EARLY_TOLERANCE_MS = 5 * 60 * 1000;
/** How long after the log's signed time a token still vouches for it (a TSA outage the writer retried through). */
export const TSA_LATE_TOLERANCE_MS = 60 * 60 * 1000;

/** The TSA anchors, mode and policy the verifier was given, checked. */
export interface TsaPolicy {
  anchors: string[];
  /** Pinned TSA signing certificates (PEM), and their subjects for the report. */
  signers?: { pems: string[]; subjects: string[] };
  mode: 'best-effort' | 'required';
  policy?: string;
  trusted: readonly { size: number; noteSha256: Uint8Array; token: Uint8Array }[];
}

/**
 * Checks the TSA options. Returns undefined when no anchors are given.
 * @throws SealogError E_CONFIG: `tsa`, `tsaPolicy`, `tsaSigners` or
 *   `trustedTimestamps` without `tsaAnchors`; anchors without a log key;
 *   anchors or signers with no PEM certificate or an unreadable one; a pinned
 *   signer that is not a timestamping certificate; a mode or policy that is not one.
 */
export function parseTsaPolicy(options: VerifyOptions, keys: readonly VerifierKey[]): TsaPolicy | undefined {
  const given = options.tsaAnchors;
  const mode = options.tsa;
  if (mode !== undefined && mode !== 'best-effort' && mode !== 'required')
    throw new SealogError('E_CONFIG', `tsa must be "best-effort" or "required", got ${JSON.stringify(mode)}`);
  if (given === undefined) {
    if (
      mode !== undefined ||
      options.tsaPolicy !== undefined ||
      options.tsaSigners !== undefined ||
      options.trustedTimestamps !== undefined
    ) {
      throw new SealogError(
        'E_CONFIG',
        'timestamp tokens are checked only under TSA trust anchors: give the TSA root certificate(s) (tsaAnchors, --tsa-anchor)',
      );
    }
    return undefined;
  }
  if (keys.length === 0) {
    throw new SealogError(
      'E_CONFIG',
      "timestamp tokens are matched to checkpoints signed by the log's key: give the log's verifier key too (--key or --key-file)",
    );
  }
  const anchors = typeof given === 'string' ? [given] : [...given];
  readTrustAnchors(anchors); // E_CONFIG now, not at the first token
  if (options.tsaPolicy !== undefined && !isOid(options.tsaPolicy))
    throw new SealogError('E_CONFIG', `tsaPolicy ${JSON.stringify(options.tsaPolicy)} is not a dotted OID`);
  const trusted = options.trustedTimestamps ?? [];
  if (!Array.isArray(trusted)) throw new SealogError('E_CONFIG', 'trustedTimestamps must be a list');
  const policy: TsaPolicy = { anchors, mode: mode ?? 'best-effort', trusted };
  if (options.tsaPolicy !== undefined) policy.policy = options.tsaPolicy;
  if (options.tsaSigners !== undefined) {
    const pems = typeof options.tsaSigners === 'string' ? [options.tsaSigners] : [...options.tsaSigners];
    policy.signers = { pems, subjects: readTsaSigners(pems).map((c) => c.subject) }; // E_CONFIG now
  }
  return policy;
}

/** A token that verified over a note. */
export interface NoteStamp {
  tsa: string;
  genTimeMs: number;
  accuracyMs: number;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Tokens checked per note at most; a writer stores one per note (a retry may add another). */
const MAX_TOKENS_PER_NOTE = 4;

/**
 * Reads every token (the ledger's rows, then the given ones), verifies each
 * distinct token over the note its imprint names, and pushes a NoteStamp onto
 * every note with those bytes. Notes are the distinct ones whose log signature
 * verified, known by their SHA-256 alone (red-team review F5: their bytes are
 * not kept); a note that did not open is a failing finding of its own, and a
 * token for it counts as matching none. A token that cannot be read or does
 * not verify is a `bad-timestamp` finding; tokens matching no note are one
 * `orphan-timestamp` finding per source. Never throws on token contents
 * (a changed table is thrown by readTimestamps and becomes E_IO in verifyLedger).
 */
export function stampNotes(
  db: Database.Database,
  notes: readonly SeenNote[],
  policy: TsaPolicy,
  add: (f: Finding) => void,
): { tokens: number; verified: number; unmatched: number } {
  const byHash = new Map<string, SeenNote[]>();
  for (const n of notes) {
    const list = byHash.get(n.sha256) ?? [];
    list.push(n);
    byHash.set(n.sha256, list);
  }
  const seen = new Set<string>();
  const perNote = new Map<string, number>();
  const counts = { tokens: 0, verified: 0, unmatched: 0 };
  // Orphans per source: how many, and the first few sizes for the message.
  const orphans = { ledger: { count: 0, sizes: [] as number[] }, given: { count: 0, sizes: [] as number[] } };
  const orphan = (from: 'ledger' | 'given', size: number) => {
    counts.unmatched++;
    orphans[from].count++;
    if (orphans[from].sizes.length < 5) orphans[from].sizes.push(size);
  };
  const check = (
    token: Uint8Array,
    declared: Uint8Array,
    size: number,
    from: 'ledger' | 'given',
    label: string,
  ): void => {
    const id = sha256(token);
    if (seen.has(id)) return; // the same token in the ledger and the anchor's token file
    seen.add(id);
    counts.tokens++;
    // Parsing a token costs ~20 ms (pkijs): one that declares a note verify never saw
    // is counted as an orphan unparsed, so a flood of rows cannot make verify slow
    // (red-team review, session 6). It could stamp nothing whatever it holds.
    const declaredHex = Buffer.from(declared).toString('hex');
    const target = byHash.get(declaredHex);
    if (target === undefined) {
      orphan(from, size);
      return;
    }
    // Enough tokens for one note are enough: more only cost time.
    if ((perNote.get(declaredHex) ?? 0) >= MAX_TOKENS_PER_NOTE) return;
    perNote.set(declaredHex, (perNote.get(declaredHex) ?? 0) + 1);
    let imprint: string;
    try {
      imprint = Buffer.from(parseTimestampToken(token).imprint).toString('hex');
    } catch (err) {
      add({ kind: 'bad-timestamp', message: `${label}: the token does not parse: ${text(err)}` });
      return;
    }
    if (Buffer.from(declared).toString('hex') !== imprint) {
      add({
        kind: 'bad-timestamp',
        message: `${label}: its note hash is not the token's imprint (the row or line was edited)`,
      });
      return;
    }
    const matched = byHash.get(imprint);
    if (!matched) {
      orphan(from, size);
      return;
    }
    const first = matched[0]!;
    try {
      const v = verifyTimestampImprint(token, Buffer.from(imprint, 'hex'), {
        trustAnchors: policy.anchors,
        ...(policy.signers !== undefined ? { signers: policy.signers.pems } : {}),
        ...(policy.policy !== undefined ? { policy: policy.policy } : {}),
      });
      counts.verified++;
      const stamp: NoteStamp = { tsa: v.tsa, genTimeMs: v.genTime.getTime(), accuracyMs: v.accuracyMs ?? 0 };
      for (const n of matched) {
        n.stamps ??= [];
        n.stamps.push(stamp);
      }
    } catch (err) {
      const f: Finding = {
        kind: 'bad-timestamp',
        message: `${label} for ${first.where}: the token does not verify under the given TSA anchors${policy.signers ? ' and pinned signers (--tsa-signer)' : ''}: ${text(err)}`,
      };
      if (first.checkpointId !== undefined) f.checkpointId = first.checkpointId;
      add(f);
    }
  };
  for (const row of readTimestamps(db)) {
    const label = `timestamp row ${row.id} (size ${row.size})`;
    if (row.problem !== undefined) {
      add({ kind: 'bad-timestamp', message: `${label}: ${row.problem}` });
      continue;
    }
    check(row.token, row.noteSha256, row.size, 'ledger', label);
  }
  for (const [i, t] of policy.trusted.entries()) {
    const label = `given timestamp #${i + 1} (size ${String(t?.size)})`;
    // Given tokens come from files anyone may have written: types are not trusted.
    if (
      !(t?.token instanceof Uint8Array) ||
      !(t.noteSha256 instanceof Uint8Array) ||
      t.token.length === 0 ||
      t.token.length > MAX_TIMESTAMP_TOKEN_BYTES
    ) {
      add({
        kind: 'bad-timestamp',
        message: `${label}: not a token of 1..${MAX_TIMESTAMP_TOKEN_BYTES} bytes`,
      });
      continue;
    }
    check(t.token, t.noteSha256, t.size, 'given', label);
  }
  for (const [from, { count, sizes }] of Object.entries(orphans)) {
    if (count === 0) continue;
    const where = from === 'ledger' ? 'in the ledger' : 'given';
    const shown = sizes.join(', ') + (count > sizes.length ? ', …' : '');
    add({
      kind: 'orphan-timestamp',
      message: `${count} token(s) ${where} match no checkpoint note verify saw with a valid log signature (sizes ${shown}): their notes are elsewhere (an anchor file not given) or were rewritten`,
    });
  }
  return counts;
}

/** Whether a token's time vouches for the log's signed time (seconds), and why not. */
export function timeAgreement(stamp: NoteStamp, logTime: number | undefined): string | undefined {
  if (logTime === undefined) return undefined; // the log's time was not checked: nothing to compare
  const log = logTime * 1000;
  const iso = (ms: number) => new Date(ms).toISOString();
  if (stamp.genTimeMs + stamp.accuracyMs < log - TSA_EARLY_TOLERANCE_MS) {
    return `the TSA saw the note at ${iso(stamp.genTimeMs)}, more than ${TSA_EARLY_TOLERANCE_MS / 60_000} min before the log says it signed it (${iso(log)}): the log's clock or time line is wrong`;
  }
  if (stamp.genTimeMs - stamp.accuracyMs > log + TSA_LATE_TOLERANCE_MS) {
    return `the TSA saw the note only at ${iso(stamp.genTimeMs)}, more than ${TSA_LATE_TOLERANCE_MS / 60_000} min after the log says it signed it (${iso(log)}): the token does not vouch for that time (a long TSA outage, or a note signed with a backdated time)`;
  }
  return undefined;
}

function text(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
