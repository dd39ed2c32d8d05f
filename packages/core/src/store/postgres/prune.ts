import Database from 'better-sqlite3';
import { createWriterTrust } from '../../checkpoint/config.js';
import { sealHead } from '../../checkpoint/seal.js';
import { SealogError } from '../../errors.js';
import { type PrefixStatement, prefixEntry, signPrefix } from '../../prefix/statement.js';
import type { CheckpointKey } from '../../signer/types.js';
import { connectPg, parsePgUrl, pgError, qualify } from './connect.js';
import { PG_HOLD_FILTER } from './holds.js';
import { type PgPrunePlan, planPgPrune } from './prune-plan.js';
import { lockKey } from './schema.js';
import { snapshotPg } from './snapshot.js';
import { PgStore } from './store.js';
import { ensureTombstoneTable, insertTombstoneSql, latestTombstone } from './tombstones.js';
import { requireVerified } from './verified.js';

// `sealog prune postgres://…` (docs/lifecycle.md "PostgreSQL ledgers"), in this order:
//   1. verify one snapshot with the key's verifier keys; plan the cut on it (prune-plan.ts);
//   2. append a signed prune statement naming the head at the cut, and seal it;
//   3. in one transaction: insert the tombstone (the signed checkpoint at the cut,
//      its compact range and chain value) and delete the rows below the cut.
// A kill before 3 commits leaves every row and at most a sealed statement that
// authorises nothing yet (verify reads statements only through a tombstone);
// running prune again plans afresh. Step 3 is all or nothing.

export interface PgPruneOptions {
  signer: CheckpointKey;
  /** Verifier keys to verify with: the key's own, and any it took over from. */
  keys: readonly string[];
  cutoff: number;
  now: number;
  /** The retention the statement names (now - cutoff), ms. */
  retention: number;
  reason: string;
  dryRun: boolean;
  /** Progress lines (the crash tests kill at them). */
  onStage?: (stage: string) => void;
}

export interface PgPruneResult {
  plan: PgPrunePlan;
  /** Seq of the sealed statement, when rows were removed. */
  statementSeq?: number;
}

/**
 * Prunes the due prefix of the PostgreSQL ledger at `url`.
 * @throws SealogError E_TAMPER (the ledger does not verify: nothing removed), E_CONFIG
 *   (a legal hold statement, or another prune moved the cut meanwhile), E_IO, E_KEY.
 */
export async function prunePg(url: string, o: PgPruneOptions): Promise<PgPruneResult> {
  const target = parsePgUrl(url);
  const trust = createWriterTrust({}, o.signer, () => {});
  const snap = await snapshotPg(url);
  let plan: PgPrunePlan;
  let seen: number;
  try {
    const report = requireVerified(snap.path, o.keys, target.display, 'prune removes nothing');
    seen = report.size;
    const db = new Database(snap.path, { readonly: true });
    try {
      plan = planPgPrune(db, report, trust.own, o.cutoff);
    } finally {
      db.close();
    }
  } finally {
    snap.close();
  }
  o.onStage?.('verified');
  if (plan.cut === undefined || o.dryRun) return { plan };
  const cut = plan.cut;
  const head = cut.state.head();
  const statement: PrefixStatement = {
    origin: trust.own.origin,
    time: o.now,
    retention: o.retention,
    reason: o.reason,
    size: plan.size,
    root: head.root,
    oldest: cut.oldest,
    newest: cut.newest,
  };
  const note = await signPrefix(statement, o.signer.log);
  const store = await PgStore.open(url, { create: false, trust });
  let statementSeq: number;
  try {
    if (store.divergence) throw store.divergence;
    statementSeq = (await store.append([prefixEntry(note, statement, o.now)])).firstSeq;
    o.onStage?.('appended');
    const seal = await sealHead(store, o.signer);
    if (!seal || seal.size <= statementSeq)
      throw new SealogError('E_IO', `${target.display}: could not seal the prune statement; run prune again`);
  } finally {
    await store.close();
  }
  o.onStage?.('sealed');
  await cutPrefix(url, plan, head, { note: cut.note, statementSeq, now: o.now, seen });
  o.onStage?.('pruned');
  return { plan, statementSeq };
}

/** Step 3: the tombstone and the DELETE, in one transaction, under the prune lock. */
async function cutPrefix(
  url: string,
  plan: PgPrunePlan,
  head: { chainHead: Buffer; compact?: Buffer },
  t: { note: string; statementSeq: number; now: number; seen: number },
): Promise<void> {
  const target = parsePgUrl(url);
  const s = await connectPg(target);
  const records = qualify(target, 'records');
  try {
    await ensureTombstoneTable(s);
    await s.query('BEGIN');
    await s.query(`SELECT pg_advisory_xact_lock(${lockKey(target, 'prune')})`);
    // Another prune may have cut since our snapshot: then this plan is stale.
    const latest = await latestTombstone(s);
    const now = latest === undefined ? 0 : typeof latest === 'string' ? -1 : latest.size;
    if (now !== plan.from) {
      throw new SealogError(
        'E_CONFIG',
        `${target.display} was pruned by another run meanwhile (cut at ${now}, planned from ${plan.from}); nothing removed: run prune again`,
      );
    }
    // The append-only trigger stays for everyone else: switched off only inside this
    // transaction (ALTER TABLE is transactional and locks the table until COMMIT).
    await s.query(`ALTER TABLE ${records} DISABLE TRIGGER records_append_only`);
    // ALTER TABLE holds a lock no insert gets past until COMMIT. A hold appended since
    // our verified snapshot was not judged by the plan: the advisory lock that keeps
    // sealog hold out can be lost with its session (idle timeout, a pooler,
    // pg_terminate_backend), so this check does not rely on it (red-team finding).
    const held = await s.query<{ seq: string }>(
      `SELECT seq FROM ${records} WHERE seq >= $1 AND (${PG_HOLD_FILTER}) LIMIT 1`,
      [t.seen],
    );
    if (held.rows.length > 0) {
      throw new SealogError(
        'E_CONFIG',
        `${target.display}: row ${held.rows[0]!.seq} is a legal hold statement appended after prune verified the ledger; nothing removed: run prune again, so that it judges the hold`,
      );
    }
    await s.query(insertTombstoneSql(s), [
      plan.size,
      t.note,
      head.chainHead,
      head.compact ?? Buffer.alloc(0),
      t.statementSeq,
      t.now,
    ]);
    const gone = await s.query(`DELETE FROM ${records} WHERE seq < $1`, [plan.size]);
    if (gone.rowCount !== plan.size - plan.from) {
      throw new SealogError(
        'E_TAMPER',
        `${target.display}: ${gone.rowCount} rows below ${plan.size} instead of ${plan.size - plan.from}; nothing removed: run sealog verify`,
      );
    }
    await s.query(`ALTER TABLE ${records} ENABLE TRIGGER records_append_only`);
    await s.query('COMMIT');
  } catch (err) {
    await s.query('ROLLBACK').catch(() => {});
    throw err instanceof SealogError ? err : pgError(target, 'prune', err);
  } finally {
    await s.end();
  }
}
