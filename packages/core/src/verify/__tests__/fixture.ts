import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { appendAnchor } from '../../checkpoint/anchor.js';
import { signCheckpoint } from '../../checkpoint/signed.js';
import { canonicalJson } from '../../encode.js';
import { chainHash, leafHash, ZERO_HASH } from '../../hash.js';
import { CompactRange } from '../../merkle.js';
import { generateKey, parseSignerKey } from '../../note/keys.js';
import { SqliteStore } from '../../store/sqlite.js';

// A real ledger file on disk, written by the real store and signed by the real
// checkpoint code, plus helpers to edit it the way an attacker would.

export interface Fixture {
  dir: string;
  path: string;
  anchor: string;
  origin: string;
  /** Log verifier key (0x01). */
  vkey: string;
  /** Time cosigner verifier key (0x04). */
  cosignerVkey: string;
  privateKey: string;
}

let counter = 0;

/** Entry bytes of record i (canonical JSON, as the writer stores them). */
export function entryOf(i: number): Buffer {
  return Buffer.from(canonicalJson({ i, level: 30, msg: `event ${i}`, time: 1_700_000_000_000 + i }));
}

/**
 * Writes `records` records in batches of `every`, sealing after each batch
 * (and a final seal unless `sealTail` is false: then the last partial batch stays unsealed).
 */
export function makeLedger(opts: {
  records: number;
  every: number;
  origin?: string;
  sealTail?: boolean;
  dir?: string;
}): Fixture {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'sealog-verify-'));
  const origin = opts.origin ?? 'audit.example/log';
  const key = generateKey(origin);
  counter++;
  const f: Fixture = {
    dir,
    path: join(dir, `ledger-${counter}.db`),
    anchor: join(dir, `anchor-${counter}.txt`),
    origin,
    vkey: key.verifierKey,
    cosignerVkey: key.cosignerVerifierKey,
    privateKey: key.privateKey,
  };
  const store = new SqliteStore(f.path);
  const signer = parseSignerKey(key.privateKey);
  const seal = () => {
    const head = store.head();
    const note = signCheckpoint(
      { origin, size: head.size, root: head.root },
      signer,
      1_700_000_000 + head.size,
    );
    store.addCheckpoint(head, note, Date.now());
    appendAnchor(f.anchor, note);
  };
  let i = 0;
  while (i < opts.records) {
    const n = Math.min(opts.every, opts.records - i);
    store.append(
      Array.from({ length: n }, (_, k) => ({ entry: entryOf(i + k), ts: 1_700_000_000_000 + i + k })),
    );
    i += n;
    if (n === opts.every || opts.sealTail !== false) seal();
  }
  store.close();
  return f;
}

/** Opens the file read-write with the append-only triggers dropped, runs `fn`, closes. */
export function tamper(path: string, fn: (db: Database.Database) => void): void {
  const db = new Database(path);
  try {
    for (const t of [
      'records_no_update',
      'records_no_delete',
      'checkpoints_no_update',
      'checkpoints_no_delete',
    ]) {
      db.exec(`DROP TRIGGER IF EXISTS ${t}`);
    }
    fn(db);
  } finally {
    db.close();
  }
}

/**
 * Recomputes every chain and ledger_state from the stored entries, the way
 * someone without the signing key would cover an edit.
 */
export function rechain(db: Database.Database): void {
  const rows = db.prepare('SELECT seq, entry FROM records ORDER BY seq').all() as {
    seq: number;
    entry: Buffer;
  }[];
  let chain: Buffer = ZERO_HASH;
  const range = new CompactRange();
  const upd = db.prepare('UPDATE records SET chain = ? WHERE seq = ?');
  db.transaction(() => {
    for (const r of rows) {
      const leaf = leafHash(r.entry);
      chain = chainHash(chain, leaf);
      range.append(leaf);
      upd.run(chain, r.seq);
    }
    db.prepare('UPDATE ledger_state SET size = ?, chain_head = ?, compact = ? WHERE id = 0').run(
      range.size,
      chain,
      range.encode(),
    );
  })();
}

/** Swaps the rows at seq a and b (entry, chain, ts move together). */
export function swapRows(db: Database.Database, a: number, b: number): void {
  db.transaction(() => {
    db.prepare('UPDATE records SET seq = -1 WHERE seq = ?').run(a);
    db.prepare('UPDATE records SET seq = ? WHERE seq = ?').run(a, b);
    db.prepare('UPDATE records SET seq = ? WHERE seq = -1').run(b);
  })();
}

/** Shifts rows with seq ≥ from by `by` (positive = open a hole, negative = close one). */
export function renumber(db: Database.Database, from: number, by: number): void {
  const seqs = (
    db.prepare('SELECT seq FROM records WHERE seq >= ? ORDER BY seq').all(from) as { seq: number }[]
  ).map((r) => r.seq);
  if (by > 0) seqs.reverse();
  const upd = db.prepare('UPDATE records SET seq = ? WHERE seq = ?');
  db.transaction(() => {
    for (const s of seqs) upd.run(s + by, s);
  })();
}
