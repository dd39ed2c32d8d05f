// A signed SQLite ledger for the benchmarks that read one (verify, export,
// writer-open): the key that seals it, and the CLI that the runs measure.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson, generateKey, parseSignerKey, SqliteStore, signCheckpoint } from '@sealog/core';
import { AUDIT_MSG, auditRecord } from '../lib.mjs';

/** The built CLI (packages/cli/dist/bin.js), run as a process of its own. */
export const CLI = join(import.meta.dirname, '..', '..', 'packages', 'cli', 'dist', 'bin.js');

/** Records are appended at most this many at a time. */
const BATCH = 10_000;

/** Record `k` as pino logs it: level, msg, time and the audit fields. */
export const loggedRecord = (k) => ({ ...auditRecord(k), level: 30, msg: AUDIT_MSG, time: 1.7e12 + k });

/**
 * The checkpoint key of a benchmark ledger; with `dir`, its verifier key is also
 * written to `<dir>/verifier.keys` (`keyFile`) for the CLI's --key-file.
 */
export function ledgerKey(dir) {
  const key = generateKey('bench.example/log');
  const signer = parseSignerKey(key.privateKey);
  if (!dir) return { key, signer };
  const keyFile = join(dir, 'verifier.keys');
  writeFileSync(keyFile, `${key.verifierKey}\n`);
  return { key, signer, keyFile };
}

/**
 * Writes a ledger of `n` records at `path`, appended in batches of up to 10,000
 * and sealed by `signer` every `sealEvery` records (default: once, at the end).
 */
export function makeLedger(path, n, signer, { sealEvery = n, record = loggedRecord } = {}) {
  const store = new SqliteStore(path);
  const batch = [];
  for (let k = 0; k < n; k++) {
    const rec = record(k);
    // ts is the entry's own time, as the writer stores it: verify checks it (docs/verify.md §3a).
    batch.push({ entry: Buffer.from(canonicalJson(rec)), ts: rec.time });
    const seal = (k + 1) % sealEvery === 0 || k + 1 === n;
    if (!seal && batch.length < BATCH) continue;
    const head = store.append(batch.splice(0));
    if (!seal) continue;
    const note = signCheckpoint({ origin: signer.name, size: head.size, root: head.root }, signer, 1);
    store.addCheckpoint(head, note, 0);
  }
  store.close();
}
