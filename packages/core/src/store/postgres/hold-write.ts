import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { createWriterTrust } from '../../checkpoint/config.js';
import { sealHead } from '../../checkpoint/seal.js';
import { SealogError } from '../../errors.js';
import { type HoldScope, type Statement, signStatement, statementEntry } from '../../segments/statements.js';
import type { CheckpointKey } from '../../signer/types.js';
import { connectPg, type PgSession, parsePgUrl, pgError } from './connect.js';
import { type PgHolds, readPgHoldsFile, trustKeys } from './holds.js';
import { LOCK_NAMESPACE } from './schema.js';
import { snapshotPg } from './snapshot.js';
import { PgStore } from './store.js';
import {
  refuseHoldAfterPrune,
  refuseHoldOverUnfinishedPrune,
  type UnfinishedPrune,
  unfinishedPrunes,
} from './unfinished-prune.js';
import { requireVerified } from './verified.js';

// `sealog hold add|release postgres://…` (docs/lifecycle.md "Legal hold on a
// PostgreSQL ledger"): verify one snapshot with the key's verifier keys, read
// the holds on it, then append the signed statement and seal it with a
// checkpoint the key signs over the head the store derives (as prune does for
// its statement). The whole run, and `sealog prune postgres://…`, hold one
// advisory lock, so a hold cannot land between prune's plan and its cut.

export interface PgHoldOptions {
  signer: CheckpointKey;
  /** Verifier keys to verify and to read existing holds with. */
  keys: readonly string[];
  now: number;
  reason: string;
  /** Add: the hold's name (default: random). Release: the hold to end. */
  id?: string;
  /** Add only: the record times the hold covers. */
  scope?: Extract<HoldScope, { from: number }>;
}

export interface PgHoldResult {
  id: string;
  /** Seq of the statement's row, and the size of the checkpoint sealing it. */
  seq: number;
  size: number;
  statement: string;
}

/** The advisory lock that serialises hold and prune on one ledger's schema. */
const holdLockSql = (schema: string) => `${LOCK_NAMESPACE}, hashtext('${schema}:hold')`;

/**
 * Takes the ledger's hold lock for the caller's whole run, or fails at once.
 * @throws SealogError E_CONFIG when another hold or prune holds it.
 */
export async function lockPgHolds(url: string, who: string): Promise<{ release(): Promise<void> }> {
  const target = parsePgUrl(url);
  const s: PgSession = await connectPg(target);
  try {
    const r = await s.query<{ ok: boolean }>(
      `SELECT pg_try_advisory_lock(${holdLockSql(target.schema)}) AS ok`,
    );
    if (r.rows[0]?.ok !== true)
      throw new SealogError(
        'E_CONFIG',
        `another sealog prune or hold is working on ${target.display}; nothing was changed by ${who}: run it again once that one is done`,
      );
  } catch (err) {
    await s.end();
    throw err instanceof SealogError ? err : pgError(target, 'lock', err);
  }
  // Ending the session releases the lock (a killed process's too).
  return { release: () => s.end() };
}

/** Verifies one snapshot with `keys` and reads its holds. @throws SealogError E_TAMPER when it does not verify. */
export async function verifiedPgHolds(
  url: string,
  keys: readonly string[],
): Promise<PgHolds & { origin: string | undefined; unfinished: UnfinishedPrune[]; size: number }> {
  const snap = await snapshotPg(url);
  try {
    const report = requireVerified(snap.path, keys, snap.display, 'no hold statement was written');
    const db = new Database(snap.path, { readonly: true });
    let unfinished: UnfinishedPrune[];
    try {
      unfinished = unfinishedPrunes(db, trustKeys(keys));
    } finally {
      db.close();
    }
    return {
      ...readPgHoldsFile(snap.path, report, keys),
      origin: report.origin,
      unfinished,
      size: report.size,
    };
  } finally {
    snap.close();
  }
}

/**
 * Places (`scope` given) or releases (`scope` absent) a legal hold on the
 * PostgreSQL ledger at `url`.
 * @throws SealogError E_CONFIG (id taken, no such active hold, lock held), E_TAMPER, E_KEY, E_IO.
 */
export async function holdPg(url: string, o: PgHoldOptions): Promise<PgHoldResult> {
  const display = parsePgUrl(url).display;
  const lock = await lockPgHolds(url, o.scope ? 'sealog hold add' : 'sealog hold release');
  try {
    const { holds, origin, unfinished, size: seen } = await verifiedPgHolds(url, o.keys);
    const id = o.id ?? `hold-${randomBytes(4).toString('hex')}`;
    const same = holds.filter((h) => h.id === id);
    let statement: Statement;
    const base = { origin: origin ?? o.signer.name, id, time: o.now, reason: o.reason };
    if (o.scope === undefined) {
      const target = same.filter((h) => h.active && h.sealed).at(-1);
      if (target === undefined)
        throw new SealogError(
          'E_CONFIG',
          `no active legal hold ${JSON.stringify(id)} in ${display}; sealog hold list shows them`,
        );
      statement = { type: 'release', ...base, hold: Buffer.from(target.hash, 'base64') };
    } else {
      const unsealed = same.find((h) => !h.sealed);
      if (unsealed !== undefined)
        throw new SealogError(
          'E_CONFIG',
          `legal hold ${JSON.stringify(id)} is recorded at row ${unsealed.at.seq} but no checkpoint covers it yet (an interrupted hold add): seal it with sealog checkpoint ${display} --key …; nothing was written`,
        );
      if (same.length > 0)
        throw new SealogError(
          'E_CONFIG',
          `a legal hold ${JSON.stringify(id)} already exists; choose another --id`,
        );
      refuseHoldOverUnfinishedPrune(unfinished, o.scope, display);
      statement = { type: 'hold', ...base, scope: o.scope };
    }
    const note = await signStatement(statement, o.signer.log);
    const store = await PgStore.open(url, {
      create: false,
      trust: createWriterTrust({}, o.signer, () => {}),
    });
    try {
      if (store.divergence) throw store.divergence;
      const seq = (await store.append([statementEntry(note, statement, o.now)])).firstSeq;
      const seal = await sealHead(store, o.signer);
      if (!seal || seal.size <= seq)
        throw new SealogError(
          'E_IO',
          `${display}: the hold statement is at row ${seq} but could not be sealed; seal it with sealog checkpoint ${display} --key …`,
        );
      if (o.scope !== undefined) await refuseHoldAfterPrune(url, seen, seq, o.scope, trustKeys(o.keys));
      return { id, seq, size: seal.size, statement: note };
    } finally {
      await store.close();
    }
  } finally {
    await lock.release();
  }
}
