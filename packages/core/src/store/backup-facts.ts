import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { isSealogError } from '../errors.js';
import { ioError } from './open.js';

// What a backup compares between the snapshot it copied and the copy it made.
// Both sides are read from files an attacker may have edited, so nothing here
// assumes a type: values are fingerprinted as they are (type and bytes), and a
// schema that no longer answers these queries is an E_IO naming the file.

/** What a ledger held in one snapshot. Fields a source could not report are absent. */
export interface LedgerFacts {
  /** Record rows. */
  records: number;
  /** Checkpoint rows. */
  checkpoints: number;
  /** Highest seq, as stored (a number for any real ledger). */
  lastSeq?: unknown;
  /** SHA-256 (hex) of the last row's seq and chain value, as stored. */
  lastChain?: string;
  /** The newest checkpoint row: its stored size, and SHA-256 (hex) of its note. */
  newestCheckpoint?: { size: unknown; note: string };
}

/**
 * Reads the facts inside the caller's read transaction (the same snapshot).
 * @throws SealogError E_IO / E_NOT_LEDGER when the file does not answer.
 */
export function readFacts(db: Database.Database, path: string): LedgerFacts {
  try {
    const rec = db.prepare('SELECT count(*) AS n, max(seq) AS m FROM records').get() as {
      n: number;
      m: unknown;
    };
    const last = db.prepare('SELECT seq, chain FROM records ORDER BY seq DESC LIMIT 1').get() as
      | { seq: unknown; chain: unknown }
      | undefined;
    const cps = (db.prepare('SELECT count(*) AS n FROM checkpoints').get() as { n: number }).n;
    const newest = db.prepare('SELECT size, note FROM checkpoints ORDER BY id DESC LIMIT 1').get() as
      | { size: unknown; note: unknown }
      | undefined;
    const facts: LedgerFacts = { records: rec.n, checkpoints: cps, lastSeq: rec.m };
    if (last) facts.lastChain = fingerprint(last.seq, last.chain);
    if (newest) facts.newestCheckpoint = { size: newest.size, note: fingerprint(newest.note) };
    return facts;
  } catch (err) {
    throw isSealogError(err) ? err : ioError(path, 'read', err);
  }
}

/** SHA-256 over each value's type and bytes, so `1` and `'1'` differ. */
function fingerprint(...values: unknown[]): string {
  const h = createHash('sha256');
  for (const v of values) {
    const bytes = Buffer.isBuffer(v) ? v : Buffer.from(String(v));
    h.update(`${Buffer.isBuffer(v) ? 'blob' : typeof v}:${bytes.length}:`);
    h.update(bytes);
  }
  return h.digest('hex');
}

/**
 * Where `copy` differs from `source`, one phrase per field, comparing only the
 * fields `source` reports. Empty when the copy holds the snapshot.
 */
export function sameFacts(source: LedgerFacts, copy: LedgerFacts): string[] {
  const diff: string[] = [];
  const show = (v: unknown) => (typeof v === 'number' || v === null ? String(v) : typeof v);
  if (source.records !== copy.records)
    diff.push(`records: ${source.records} in the source, ${copy.records} copied`);
  if (source.checkpoints !== copy.checkpoints) {
    diff.push(`checkpoints: ${source.checkpoints} in the source, ${copy.checkpoints} copied`);
  }
  if ('lastSeq' in source && !Object.is(source.lastSeq, copy.lastSeq)) {
    diff.push(`last seq: ${show(source.lastSeq)} in the source, ${show(copy.lastSeq)} copied`);
  }
  if ('lastChain' in source && source.lastChain !== copy.lastChain) diff.push('the last record differs');
  if ('newestCheckpoint' in source) {
    const a = source.newestCheckpoint;
    const b = copy.newestCheckpoint;
    if (!Object.is(a?.size, b?.size) || a?.note !== b?.note) diff.push('the newest checkpoint differs');
  }
  return diff;
}
