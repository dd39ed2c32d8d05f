import type { VerifierKey } from '../note/keys.js';
import {
  type HoldScope,
  type HoldStatement,
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
}

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
  const out: JudgedStatements = { prunes: [], holds: [], releases: [], problems: [] };
  for (const { segment, statements } of [...found].sort((a, b) => a.segment - b.segment)) {
    for (const st of statements) {
      const at = { segment, seq: st.seq };
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
      if (!statementSignedBy(st.note, s.origin, keys)) {
        out.problems.push({
          at,
          message: `a ${s.type} statement not signed by a trusted key: forged, or signed by another key`,
        });
        continue;
      }
      const j = { at, note: st.note, sealed: st.seq < sealedBelow(segment) };
      if (s.type === 'prune') out.prunes.push({ ...j, statement: s });
      else if (s.type === 'hold') out.holds.push({ ...j, statement: s });
      else out.releases.push({ ...j, statement: s });
    }
  }
  return out;
}

/**
 * The holds in force just before `at` (or at the end when `at` is undefined):
 * recorded before it and not released by a release of the same id recorded
 * after the hold and before `at`.
 */
export function holdsInForce(
  j: Pick<JudgedStatements, 'holds' | 'releases'>,
  at?: Position,
): JudgedStatement<HoldStatement>[] {
  return j.holds.filter(
    (h) =>
      (at === undefined || before(h.at, at)) &&
      !j.releases.some(
        (r) =>
          r.statement.id === h.statement.id && before(h.at, r.at) && (at === undefined || before(r.at, at)),
      ),
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
