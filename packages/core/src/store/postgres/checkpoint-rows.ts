import type { OwnKey } from '../../chain/trust.js';
import { SealogError } from '../../errors.js';
import type { LedgerHead } from '../types.js';
import { type PgSession, pgError, qualify } from './connect.js';

// The rows a PostgreSQL writer stores beside its records: checkpoints and RFC 3161
// timestamp tokens, and the one judgement made on another writer's checkpoint
// (whether it already seals the head about to be signed).

/** Another writer's checkpoint of the same head younger than this is not signed again. */
const RESIGN_AFTER_MS = 1000;

/** Inserts a signed checkpoint (with its resume state when the table has those columns). */
export function insertCheckpoint(
  s: PgSession,
  head: LedgerHead,
  note: string,
  createdAt: number,
  hasResume: boolean,
): Promise<unknown> {
  const t = qualify(s.target, 'checkpoints');
  return hasResume
    ? s.query(`INSERT INTO ${t} (size, note, created_at, chain_head, compact) VALUES ($1, $2, $3, $4, $5)`, [
        head.size,
        note,
        createdAt,
        head.chainHead,
        head.compact ?? null,
      ])
    : s.query(`INSERT INTO ${t} (size, note, created_at) VALUES ($1, $2, $3)`, [head.size, note, createdAt]);
}

/**
 * Stores a timestamp token beside the checkpoints.
 * @throws SealogError E_CONFIG (no checkpoint_timestamps table: a ledger made by an
 *   older sealog, opened by a role that may not add it), E_IO.
 */
export async function insertTimestamp(
  s: PgSession,
  row: { size: number; noteSha256: Uint8Array; token: Uint8Array; tsaTimeMs: number },
): Promise<void> {
  try {
    await s.query(
      `INSERT INTO ${qualify(s.target, 'checkpoint_timestamps')} (size, note_sha256, token, tsa_time, created_at) VALUES ($1, $2, $3, $4, $5)`,
      [row.size, Buffer.from(row.noteSha256), Buffer.from(row.token), Math.trunc(row.tsaTimeMs), Date.now()],
    );
  } catch (err) {
    // 42P01: a ledger made by an older sealog, opened by a role that may not add the
    // table; 42501: a writer role granted before the table existed.
    const code = (err as { code?: unknown }).code;
    if (code === '42P01' || code === '42501') {
      throw new SealogError(
        'E_CONFIG',
        `${s.target.display} cannot keep timestamp tokens (${code === '42P01' ? 'no checkpoint_timestamps table' : 'no INSERT on checkpoint_timestamps'}): run \`sealog init URL --writer ROLE\` as the owner of the ledger tables`,
        { cause: err },
      );
    }
    throw pgError(s.target, 'store a timestamp token in', err);
  }
}

/** The newest checkpoint row, unverified (attacker input: judge it with sealedAlready). */
export async function newestCheckpoint(
  s: PgSession,
): Promise<{ size: unknown; note: unknown; created_at: unknown } | undefined> {
  return (
    await s.query<{ size: unknown; note: unknown; created_at: unknown }>(
      `SELECT size, note, created_at FROM ${qualify(s.target, 'checkpoints')} ORDER BY id DESC LIMIT 1`,
    )
  ).rows[0];
}

/**
 * True when `latest` (another writer's newest row) is a checkpoint of exactly `head`
 * that this key really signed less than a second before `signed`, with the same body:
 * then ours need not be stored again. A forged row never counts, so it cannot cancel a seal.
 */
export function sealedAlready(
  latest: { size: unknown; note: unknown; created_at: unknown } | undefined,
  head: LedgerHead,
  signed: { note: string; createdAt: number },
  own: OwnKey | undefined,
): boolean {
  const age = typeof latest?.created_at === 'number' ? signed.createdAt - latest.created_at : -1;
  const same = own?.open(latest?.note, 'the newest checkpoint row');
  return (
    same !== undefined &&
    latest?.size === head.size &&
    same.size === head.size &&
    same.root.equals(head.root) &&
    age >= 0 &&
    age < RESIGN_AFTER_MS &&
    noteBody(String(latest.note)) === noteBody(signed.note)
  );
}

/** The signed text of a note (before the blank line that starts its signatures). */
function noteBody(note: string): string {
  const end = note.indexOf('\n\n');
  return end < 0 ? '' : note.slice(0, end);
}
