import { encodeBase64 } from '../note/encoding.js';
import type { VerifierKey } from '../note/keys.js';
import {
  type HoldScope,
  type HoldStatement,
  holdNoteHash,
  type PruneStatement,
  parseStatement,
  type ReleaseStatement,
  type Statement,
  statementSignedBy,
} from './statements.js';
import type { StoredStatement } from './verify-read.js';

// Judging the retention statements found in the present segments of a
// segmented ledger: which are signed by a trusted key (only those count),
// which legal holds are active at a point of the history, and whether a hold
// covers a segment. Shared by `verifySegments` and `sealog prune`/`hold`.

/** Where a statement lies: its segment and row. Statements are ordered by (segment, seq). */
export interface Position {
  segment: number;
  seq: number;
}

export const before = (a: Position, b: Position): boolean =>
  a.segment < b.segment || (a.segment === b.segment && a.seq < b.seq);

export interface JudgedStatement<S extends Statement = Statement> {
  at: Position;
  statement: S;
  note: string;
  /** Covered by a valid checkpoint of its segment (or the next segment's sealed binding). */
  sealed: boolean;
  /** Base64 SHA-256 of `note` (the name a release gives the hold it ends). */
  hash: string;
}

export interface StatementProblem {
  at: Position;
  message: string;
}

/** The statements of the present segments, judged: accepted ones by type, and problems. */
export interface JudgedStatements {
  prunes: JudgedStatement<PruneStatement>[];
  holds: JudgedStatement<HoldStatement>[];
  releases: JudgedStatement<ReleaseStatement>[];
  problems: StatementProblem[];
  /** Signature checks made: one per distinct note (copies are dropped first), at most MAX_STATEMENTS_PER_DIRECTORY. */
  signatureChecks: number;
}

/**
 * Most distinct retention statements judged over a whole directory; more is a
 * `bad-statement` finding (the rest are not judged, so the directory fails).
 */
export const MAX_STATEMENTS_PER_DIRECTORY = 20_000;

/**
 * Parses each stored statement and keeps those whose type matches their entry
 * and that a trusted log key named `origin` signed. Anything else is a problem:
 * an unsigned or wrongly signed statement is reported, never obeyed.
 * `sealedBelow(segment)` is how many rows of that segment a valid checkpoint covers.
 */
export function judgeStatements(
  found: readonly { segment: number; statements: readonly StoredStatement[] }[],
  origin: string | undefined,
  keys: readonly VerifierKey[],
  sealedBelow: (segment: number) => number,
): JudgedStatements {
  const out: JudgedStatements = { prunes: [], holds: [], releases: [], problems: [], signatureChecks: 0 };
  // A byte-identical copy of a note says nothing the first one did not: dropped
  // before any parse or signature check (a directory padded with copies of one
  // signed statement costs one check). Segments are read oldest first, so the
  // copy kept is the earliest, the one a checkpoint is likeliest to cover.
  const seen = new Set<string>();
  let judged = 0;
  outer: for (const { segment, statements } of [...found].sort((a, b) => a.segment - b.segment)) {
    for (const st of statements) {
      const at = { segment, seq: st.seq };
      if (seen.has(st.note)) continue;
      seen.add(st.note);
      if (++judged > MAX_STATEMENTS_PER_DIRECTORY) {
        out.problems.push({
          at,
          message: `more than ${MAX_STATEMENTS_PER_DIRECTORY} distinct retention statements in the directory; the rest were not judged`,
        });
        break outer;
      }
      let s: Statement;
      try {
        s = parseStatement(st.note);
      } catch (err) {
        out.problems.push({ at, message: (err as Error).message });
        continue;
      }
      if (s.type !== st.type) {
        out.problems.push({ at, message: `a ${s.type} statement stored as another kind of entry` });
        continue;
      }
      if (origin !== undefined && s.origin !== origin) {
        out.problems.push({ at, message: `a ${s.type} statement for origin ${JSON.stringify(s.origin)}` });
        continue;
      }
      out.signatureChecks++;
      if (!statementSignedBy(st.note, s.origin, keys)) {
        out.problems.push({
          at,
          message: `a ${s.type} statement not signed by a trusted key: forged, or signed by another key`,
        });
        continue;
      }
      const hash = s.type === 'hold' ? encodeBase64(holdNoteHash(st.note)) : '';
      const j = { at, note: st.note, sealed: st.seq < sealedBelow(segment), hash };
      if (s.type === 'prune') out.prunes.push({ ...j, statement: s });
      else if (s.type === 'hold') out.holds.push({ ...j, statement: s });
      else out.releases.push({ ...j, statement: s });
    }
  }
  return out;
}

type Judged = Pick<JudgedStatements, 'holds' | 'releases'>;

/** Releases by the hold they name (id and note hash), built once per judged set. */
const releaseIndex = new WeakMap<Judged, Map<string, JudgedStatement<ReleaseStatement>[]>>();

const holdKey = (id: string, hash: string) => `${hash} ${id}`;

function releasesNaming(j: Judged, h: JudgedStatement<HoldStatement>): JudgedStatement<ReleaseStatement>[] {
  let index = releaseIndex.get(j);
  if (index === undefined) {
    index = new Map();
    for (const r of j.releases) {
      const k = holdKey(r.statement.id, encodeBase64(r.statement.hold));
      const list = index.get(k);
      if (list === undefined) index.set(k, [r]);
      else list.push(r);
    }
    releaseIndex.set(j, index);
  }
  return index.get(holdKey(h.statement.id, h.hash)) ?? [];
}

/**
 * The releases that end hold `h`, in ledger order: each names it (its id and
 * the SHA-256 of its note), is sealed, is recorded after it, and is not dated
 * before it. A copy of a release signed for another ledger or for an earlier
 * hold of the same id names another note and ends nothing; an unsealed one
 * (planted in the newest segment's tail) ends nothing until a checkpoint covers it.
 */
export function releasesOf(
  j: Judged,
  h: JudgedStatement<HoldStatement>,
): JudgedStatement<ReleaseStatement>[] {
  return releasesNaming(j, h).filter(
    (r) => r.sealed && before(h.at, r.at) && r.statement.time >= h.statement.time,
  );
}

/**
 * The holds in force just before `at` (or at the end when `at` is undefined):
 * recorded before it and not ended by a release (releasesOf) recorded before `at`.
 * Linear in holds and releases (releases are indexed by the hold they name).
 */
export function holdsInForce(j: Judged, at?: Position): JudgedStatement<HoldStatement>[] {
  return j.holds.filter(
    (h) =>
      (at === undefined || before(h.at, at)) &&
      !releasesOf(j, h).some((r) => at === undefined || before(r.at, at)),
  );
}

/** Whether a hold's scope covers a segment with that index and row-time span. */
export function holdCovers(
  scope: HoldScope,
  segment: { index: number; oldest?: number; newest?: number },
): boolean {
  if ('segment' in scope) return scope.segment === segment.index;
  // A segment whose times are unknown is covered: when in doubt, keep.
  if (segment.oldest === undefined || segment.newest === undefined) return true;
  return segment.oldest <= scope.to && scope.from <= segment.newest;
}

/** How a hold reads in messages: its id, scope and reason. */
export function describeHold(h: HoldStatement): string {
  const scope =
    'segment' in h.scope
      ? `segment ${h.scope.segment}`
      : `${new Date(h.scope.from).toISOString()} to ${new Date(h.scope.to).toISOString()}`;
  return `legal hold ${h.id} (${scope}; reason: ${JSON.stringify(h.reason)})`;
}
