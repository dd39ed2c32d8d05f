import Database from 'better-sqlite3';
import type { OwnKey } from '../../chain/trust.js';
import { SealogError } from '../../errors.js';
import { parseVerifierKey, type VerifierKey } from '../../note/keys.js';
import {
  type HoldStatement,
  holdNoteHash,
  MAX_STATEMENT_NOTE_BYTES,
  parseStatement,
  statementNoteOf,
  statementSignedBy,
} from '../../segments/statements.js';
import type { HoldSummary } from '../../segments/verify-types.js';
import type { VerifyReport } from '../../verify/types.js';

// Legal holds on a single-table ledger (PostgreSQL, read from a verified
// snapshot copy; docs/lifecycle.md "Legal hold on a PostgreSQL ledger"). They
// are the segment statements (`sealog hold/v1` with a `range`, `sealog hold
// release/v2`), stored as `_sealog.legalHold` / `_sealog.holdRelease` entries.
// Every such row is a claim: anyone who can INSERT into `records` can chain a
// row that looks like one (a forged release is the attack that matters: it
// would unlock prune). A hold or release counts only when a trusted key signed
// it and a valid checkpoint covers it; a release must name the hold's note
// hash, come after it and not be dated before it. Anything else is a problem,
// reported, and prune refuses while there is one.

/** Most hold and release statements read from one ledger. */
export const MAX_PG_HOLD_STATEMENTS = 10_000;
// Only sealog's own entry form ({"_sealog":{"legalHold":…} in canonical JSON,
// which an app's record never starts with: the pipeline drops its `_sealog`), so
// an app field named legalHold is no candidate and cannot fill the limit below.
const HOLD_PREFIX = '{"_sealog":{"legalHold":';
const RELEASE_PREFIX = '{"_sealog":{"holdRelease":';
const FILTER = `substr(entry, 1, ${HOLD_PREFIX.length}) = CAST('${HOLD_PREFIX}' AS BLOB) OR substr(entry, 1, ${RELEASE_PREFIX.length}) = CAST('${RELEASE_PREFIX}' AS BLOB)`;
/** The same test in PostgreSQL, for rows read from the server. */
export const PG_HOLD_FILTER = `substr(entry, 1, ${HOLD_PREFIX.length}) = '${HOLD_PREFIX}'::bytea OR substr(entry, 1, ${RELEASE_PREFIX.length}) = '${RELEASE_PREFIX}'::bytea`;

export interface PgHolds {
  /** Holds signed by a trusted key, oldest first (`at.segment` is 0: one table). */
  holds: HoldSummary[];
  /** Rows that look like statements but count for nothing, or are not sealed yet. */
  problems: { seq: number; kind: 'forged' | 'unsealed'; message: string }[];
}

/** Who may sign a statement: `(note, origin) => signed by a trusted key for that origin`. */
export type StatementTrust = (note: string, origin: string) => boolean;

/** Trust by the verifier keys given (`name+id+base64`); unparsable ones trust nothing. */
export function trustKeys(keys: readonly string[]): StatementTrust {
  const parsed: VerifierKey[] = [];
  for (const k of keys) {
    try {
      parsed.push(parseVerifierKey(k));
    } catch {
      // not a key: trusts nothing
    }
  }
  return (note, origin) => statementSignedBy(note, origin, parsed);
}

/** Trust by the signing key's own verifier key only (what prune plans with). */
export const trustOwn =
  (own: OwnKey): StatementTrust =>
  (note, origin) =>
    origin === own.origin && own.signs(note);

/**
 * The holds and releases of the verified snapshot `db`. `report` is its verify
 * report (what is sealed); `origin` the ledger's. Never throws on row content:
 * every row is attacker input, bounded in SQL (size, count) and parsed strictly.
 */
export function readPgHolds(
  db: Database.Database,
  report: Pick<VerifyReport, 'sealed'>,
  origin: string | undefined,
  trusted: StatementTrust,
): PgHolds {
  const rows = db
    .prepare(
      `SELECT seq, iif(length(entry) <= ${4 * MAX_STATEMENT_NOTE_BYTES}, entry, NULL) FROM records WHERE ${FILTER} ORDER BY seq LIMIT ${MAX_PG_HOLD_STATEMENTS + 1}`,
    )
    .raw(true)
    .all() as [number, unknown][];
  return judgeHoldRows(rows, report, origin, trusted);
}

/**
 * {@link readPgHolds} on rows already selected: `[seq, entry]` in seq order, the
 * entry a Buffer of at most 4 × MAX_STATEMENT_NOTE_BYTES (anything else is
 * reported), at most MAX_PG_HOLD_STATEMENTS + 1 of them.
 */
export function judgeHoldRows(
  rows: readonly [number, unknown][],
  report: Pick<VerifyReport, 'sealed'>,
  origin: string | undefined,
  trusted: StatementTrust,
): PgHolds {
  const out: PgHolds = { holds: [], problems: [] };
  const problem = (seq: number, message: string, kind: 'forged' | 'unsealed' = 'forged') =>
    out.problems.push({ seq, kind, message });
  if (rows.length > MAX_PG_HOLD_STATEMENTS)
    problem(
      rows[MAX_PG_HOLD_STATEMENTS]![0],
      `more than ${MAX_PG_HOLD_STATEMENTS} hold statements: not read`,
    );
  const notes = new Map<string, HoldStatement & { note: string }>();
  /** Sealed releases of holds not (or no longer) in the ledger, by hold hash: their row. */
  const orphanReleases = new Map<string, number>();
  for (const [seq, entry] of rows.slice(0, MAX_PG_HOLD_STATEMENTS)) {
    if (!Buffer.isBuffer(entry)) {
      if (typeof entry !== 'string') problem(seq, 'a row too large to be a hold statement mentions one');
      continue;
    }
    const claimed = statementNoteOf(entry.toString('utf8'));
    if (claimed === undefined || claimed.type === 'prune') continue; // user data naming the words
    const what = claimed.type === 'hold' ? 'legal hold' : 'hold release';
    let s: ReturnType<typeof parseStatement>;
    try {
      s = parseStatement(claimed.note);
    } catch (err) {
      problem(seq, `malformed ${what} statement (${(err as Error).message}): it counts for nothing`);
      continue;
    }
    if (s.type !== claimed.type || (origin !== undefined && s.origin !== origin)) {
      problem(
        seq,
        `a ${what} entry whose statement is another type or for another origin: it counts for nothing`,
      );
      continue;
    }
    if (!trusted(claimed.note, s.origin)) {
      problem(seq, `a ${what} statement not signed by a given key (forged?): it counts for nothing`);
      continue;
    }
    const sealed = seq < report.sealed;
    if (!sealed)
      problem(
        seq,
        `a signed ${what} statement no valid checkpoint covers yet: seal it (sealog checkpoint)`,
        'unsealed',
      );
    if (s.type === 'hold') {
      if ('segment' in s.scope) {
        problem(
          seq,
          `legal hold ${s.id} names segment ${s.scope.segment}: a PostgreSQL ledger has no segments`,
        );
        continue;
      }
      const hash = Buffer.from(holdNoteHash(claimed.note)).toString('base64');
      if (notes.has(hash)) continue; // a byte-identical copy is judged once
      const releasedAt = orphanReleases.get(hash);
      if (releasedAt !== undefined) {
        // Its release is stored before it: a copy of a released hold (the original
        // pruned away) appended again, which would otherwise read as active (red team).
        problem(
          seq,
          `legal hold ${s.id} was released at row ${releasedAt}, before this copy of it: it counts for nothing`,
        );
        continue;
      }
      notes.set(hash, { ...s, note: claimed.note });
      out.holds.push({
        id: s.id,
        reason: s.reason,
        time: s.time,
        scope: s.scope,
        at: { segment: 0, seq },
        sealed,
        hash,
        active: true,
      });
    } else if (s.type === 'release' && sealed) {
      const hash = Buffer.from(s.hold).toString('base64');
      const h = out.holds.find((x) => x.hash === hash);
      // A release of a hold this ledger no longer holds (pruned with it) ends nothing
      // now, and marks any later copy of that hold as replayed.
      if (h === undefined) {
        if (!orphanReleases.has(hash)) orphanReleases.set(hash, seq);
        continue;
      }
      if (h.id !== s.id || s.time < h.time || seq <= h.at.seq) continue;
      h.active = false;
      h.released = { time: s.time, reason: s.reason, at: { segment: 0, seq } };
    }
  }
  return out;
}

/**
 * The first sealed hold stored before row `at` whose time range overlaps
 * [oldest, newest] and that no release before `at` ended: a hold that was
 * active when a statement at `at` was signed over records of those times.
 */
export function holdActiveAt(
  holds: readonly HoldSummary[],
  times: { oldest: number; newest: number },
  at: number,
): HoldSummary | undefined {
  return holds.find(
    (h) =>
      h.sealed &&
      h.at.seq < at &&
      'from' in h.scope &&
      h.scope.from <= times.newest &&
      h.scope.to >= times.oldest &&
      (h.released === undefined || h.released.at.seq > at),
  );
}

/** {@link readPgHolds} on the ledger file `path` (a verified snapshot copy), trusting `keys`. */
export function readPgHoldsFile(
  path: string,
  report: Pick<VerifyReport, 'sealed' | 'origin'>,
  keys: readonly string[],
): PgHolds {
  const db = new Database(path, { readonly: true });
  try {
    return readPgHolds(db, report, report.origin, trustKeys(keys));
  } finally {
    db.close();
  }
}

/**
 * Refuses (E_CONFIG, nothing removed) a prune of rows [from, size) of the
 * verified snapshot `db` while a hold statement is forged, malformed or not
 * sealed, or an active hold's range overlaps the span of those rows' times
 * ({@link holdActiveAt}, the rule verify judges a tombstone by) or is stored in them.
 */
export function refuseHeldPrune(
  db: Database.Database,
  report: Pick<VerifyReport, 'sealed'>,
  own: OwnKey,
  from: number,
  size: number,
): void {
  const { holds, problems } = readPgHolds(db, report, own.origin, trustOwn(own));
  // The rule verify and writers judge a tombstone by (holdActiveAt): a hold whose
  // range overlaps the span of the cut's record times, even where no record falls
  // inside it, so that a prune this allows is never called a cut under a hold.
  const [oldest, newest] = db
    .prepare('SELECT min(ts), max(ts) FROM records WHERE seq >= ? AND seq < ?')
    .raw(true)
    .get(from, size) as [number, number];
  const over = holdActiveAt(holds, { oldest, newest }, Number.MAX_SAFE_INTEGER);
  const here = holds.find((h) => h.active && h.at.seq >= from && h.at.seq < size);
  const h = over ?? here;
  if (h !== undefined) {
    throw new SealogError(
      'E_CONFIG',
      `refused: legal hold ${h.id} (${JSON.stringify(h.reason)}, placed ${new Date(h.time).toISOString()}) ${h === over ? `covers times from ${new Date(oldest).toISOString()} to ${new Date(newest).toISOString()}, which the records this prune would remove span` : `is recorded at row ${h.at.seq}, which this prune would remove`}; nothing was removed. Release it (sealog hold release … --id ${h.id}) when it ends`,
    );
  }
  const p = problems[0];
  if (p !== undefined) {
    throw new SealogError(
      'E_CONFIG',
      `refused: row ${p.seq}: ${p.message}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}; prune cannot tell what it holds, so nothing was removed. Run sealog hold list on the ledger`,
    );
  }
}
