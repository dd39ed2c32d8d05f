import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  fileCheckpointKey,
  leafHash,
  loadSignerKeyFile,
  type VerifyReport,
} from '../packages/core/src/index.js';
import { erasureEntry, markerEntry, signErasure } from '../packages/core/src/signer/erasure.js';
import { eraseBodies, erasureLeaves } from '../packages/core/src/store/erase.js';
import { SqliteStore } from '../packages/core/src/store/sqlite.js';
import { attackerOpen, type Keys, keygen, sealog, WriterProcess } from './attacks/harness.js';
import { insiderKeys } from './attacks/trust-helpers.js';
import { tempDir } from './helpers/tmp.js';

// Issue 18 item 4b: erasure of a record's body that keeps its leaf hash under a
// signed erasure statement. Everything runs the real `sealog` binary and real
// writer processes; the attacker edits the file with better-sqlite3.

/** The one record whose body is erased: its tag occurs nowhere else in the file. */
const SUBJECT = 'SUBJECT-b7e1c94d2a';
const SUBJECT_SEQ = 10;

/** 21 sealed records (row 10 tagged SUBJECT), written by a real writer that also appends to `anchor`. */
async function ledger(dir: string, keys: Keys, anchor?: string): Promise<string> {
  const path = join(dir, 'audit.db');
  const w = new WriterProcess({
    path,
    checkpoint: { keyFile: keys.keyFile, everyRecords: 10, ...(anchor ? { anchorFile: anchor } : {}) },
  });
  await w.ready();
  await w.send('write', 10, 'before');
  await w.send('write', 1, SUBJECT);
  await w.send('write', 10, 'after');
  await w.send('flush');
  expect(await w.close()).toBe(0);
  return path;
}

async function verify(path: string, keys: Keys): Promise<{ code: number | null; report: VerifyReport }> {
  const r = await sealog(['verify', path, '--key-file', keys.vkeyFile, '--json']);
  return { code: r.code, report: JSON.parse(r.out) as VerifyReport };
}

function erase(path: string, keys: Keys, seqs: string, extra: string[] = []) {
  return sealog([
    'erase',
    path,
    '--seq',
    seqs,
    '--reason',
    'ticket DSR-1042',
    '--key',
    keys.keyFile,
    '--yes',
    ...extra,
  ]);
}

/** Every file of the ledger that exists (.db, -wal, -shm), read as bytes. */
function ledgerBytes(path: string): Buffer[] {
  return ['', '-wal', '-shm']
    .map((s) => `${path}${s}`)
    .filter(existsSync)
    .map((f) => readFileSync(f));
}

const kinds = (r: VerifyReport) => r.findings.map((f) => `${f.kind}@${f.seq ?? '-'}`);

describe('sealog erase', () => {
  it('erases a body under a signed statement: verify passes and reports it, no copy of the body is left', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const anchor = join(dir, 'audit.anchor');
    const path = await ledger(dir, keys, anchor);
    expect(ledgerBytes(path).some((b) => b.includes(SUBJECT))).toBe(true);

    const e = await erase(path, keys, String(SUBJECT_SEQ), ['--json']);
    expect(e.code, e.err).toBe(0);
    const done = JSON.parse(e.out) as { statement: number; erased: number[]; vacuumed: boolean };
    expect(done.erased).toEqual([SUBJECT_SEQ]);
    expect(done.vacuumed).toBe(true);

    const v = await verify(path, keys);
    expect(v.code, JSON.stringify(v.report.findings)).toBe(0);
    expect(v.report.erasures).toEqual([
      {
        seq: SUBJECT_SEQ,
        statement: done.statement,
        time: expect.any(Number),
        reason: 'ticket DSR-1042',
        erased: true,
      },
    ]);
    const human = await sealog(['verify', path, '--key-file', keys.vkeyFile]);
    expect(human.out).toMatch(/row 10: erased by the statement at entry 21 .*: ticket DSR-1042/);
    const q = await sealog(['query', path, '--seq', '9..11']);
    expect(q.out).toMatch(/^#10 \S+ \[erased: see the erasure statement at entry 21\]$/m);
    expect(q.out).toMatch(/^#11 /m);

    // Not in the database, its WAL or shared memory, in any form a byte scan finds.
    for (const bytes of ledgerBytes(path)) expect(bytes.includes(SUBJECT)).toBe(false);

    // A writer that has to re-derive from row 0 (the checkpoints' resume state lost) hashes
    // across the erased row with the statement's leaf, and goes on sealing.
    const lost = attackerOpen(path);
    lost.exec('UPDATE checkpoints SET compact = NULL');
    lost.close();
    const w = new WriterProcess({
      path,
      checkpoint: { keyFile: keys.keyFile, everyRecords: 10, anchorFile: anchor },
    });
    await w.ready();
    await w.send('write', 5, 'later');
    await w.send('flush');
    expect(await w.close()).toBe(0);
    expect(w.err).toBe('');
    const after = await verify(path, keys);
    expect(after.code, JSON.stringify(after.report.findings)).toBe(0);
    expect(after.report.unsealed).toBe(0);
    expect(after.report.erasures?.map((x) => x.seq)).toEqual([SUBJECT_SEQ]);
  });

  it('a body removed or edited without a statement is tampering', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const path = await ledger(dir, keys);
    for (const [name, entry] of [
      ['marker naming no statement', markerEntry(20, 0)],
      ['marker naming a checkpointed row', markerEntry(3, 0)],
      ['body emptied', Buffer.from('{}')],
    ] as const) {
      const copy = join(dir, `${name.replaceAll(' ', '-')}.db`);
      copyFileSync(path, copy);
      const db = attackerOpen(copy);
      db.prepare('UPDATE records SET entry = ? WHERE seq = ?').run(entry, SUBJECT_SEQ);
      db.close();
      const v = await verify(copy, keys);
      expect(v.code, name).toBe(1);
      expect(kinds(v.report), name).toContain(`modified@${SUBJECT_SEQ}`);
      expect(v.report.erasures, name).toBeUndefined();
    }
  });

  it('a statement signed by another key authorises nothing', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const path = await ledger(dir, keys);
    // The insider can write the file and holds a key named like the log's, not the log's key.
    const insider = await insiderKeys(dir);
    const head = JSON.parse(
      (await sealog(['verify', path, '--key-file', keys.vkeyFile, '--json'])).out,
    ) as VerifyReport;
    const db = new Database(path, { readonly: true });
    const { entry: body, ts } = db
      .prepare('SELECT entry, ts FROM records WHERE seq = ?')
      .get(SUBJECT_SEQ) as {
      entry: Buffer;
      ts: number;
    };
    db.close();
    const rows = [{ seq: SUBJECT_SEQ, leaf: leafHash(body) }];
    const forgedKey = fileCheckpointKey(loadSignerKeyFile(insider.keyFile), insider.keyFile);
    const note = await signErasure(
      {
        origin: 'example.com/audit',
        size: head.size,
        root: Buffer.from(head.root, 'hex'),
        reason: 'forged',
        time: 1,
        rows,
      },
      forgedKey,
    );
    // Appended like any record (chained), then sealed by the owner, who signs what is there.
    const store = new SqliteStore(path);
    const by = store.append([erasureEntry(note, { rows, reason: 'forged' }, Date.now())]).firstSeq;
    store.close();
    expect((await sealog(['checkpoint', path, '--key', keys.keyFile])).code).toBe(0);
    const att = attackerOpen(path);
    // The marker as sealog writes it (time index kept): only the statement's signature is wrong.
    att.prepare('UPDATE records SET entry = ? WHERE seq = ?').run(markerEntry(by, ts), SUBJECT_SEQ);
    att.close();
    const v = await verify(path, keys);
    expect(v.code).toBe(1);
    expect(kinds(v.report)).toEqual(
      expect.arrayContaining([`forged-erasure@${by}`, `modified@${SUBJECT_SEQ}`]),
    );
    expect(v.report.erasures).toBeUndefined();
    // `sealog erase` itself refuses to work with a key that does not verify the ledger.
    const e = await erase(path, insider, '3');
    expect(e.code).toBe(1);
  });

  it('a marker naming another statement, or a statement edited after sealing, is tampering', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const path = await ledger(dir, keys);
    const e = await erase(path, keys, String(SUBJECT_SEQ), ['--json']);
    expect(e.code, e.err).toBe(0);
    const by = (JSON.parse(e.out) as { statement: number }).statement;
    const db0 = new Database(path, { readonly: true });
    const ts5 = db0.prepare('SELECT ts FROM records WHERE seq = 5').pluck().get() as number;
    db0.close();

    // Row 5 "erased" by pointing at the statement that erased row 10: it does not name row 5.
    const other = join(dir, 'other.db');
    copyFileSync(path, other);
    const a = attackerOpen(other);
    a.prepare('UPDATE records SET entry = ? WHERE seq = 5').run(markerEntry(by, ts5));
    a.close();
    const v1 = await verify(other, keys);
    expect(v1.code).toBe(1);
    expect(kinds(v1.report)).toContain('modified@5');

    // The statement's reason edited in place: its signature no longer verifies.
    const edited = join(dir, 'edited.db');
    copyFileSync(path, edited);
    const b = attackerOpen(edited);
    const entry = b.prepare('SELECT entry FROM records WHERE seq = ?').pluck().get(by) as Buffer;
    const changed = Buffer.from(entry.toString('utf8').replaceAll('ticket DSR-1042', 'ticket DSR-9999'));
    expect(changed.equals(entry)).toBe(false);
    b.prepare('UPDATE records SET entry = ? WHERE seq = ?').run(changed, by);
    b.close();
    const v2 = await verify(edited, keys);
    expect(v2.code).toBe(1);
    expect(kinds(v2.report)).toEqual(
      expect.arrayContaining([`forged-erasure@${by}`, `modified@${by}`, `modified@${SUBJECT_SEQ}`]),
    );
  });

  it('refuses unsealed rows, sealog entries, erased rows, personal data in the reason, and postgres', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const path = await ledger(dir, keys);
    // Five more records, committed but not sealed (the writer dies before its next checkpoint).
    const w = new WriterProcess({ path, checkpoint: { keyFile: keys.keyFile, everyRecords: 1000 } });
    await w.ready();
    await w.send('write', 5, 'late');
    await w.send('flush');
    w.kill();
    await w.exited;
    const unsealed = await erase(path, keys, '23');
    expect(unsealed.code).toBe(2);
    expect(unsealed.err).toMatch(/not yet covered by a valid checkpoint/);
    expect((await sealog(['checkpoint', path, '--key', keys.keyFile])).code).toBe(0);

    const ok = await erase(path, keys, '3,4');
    expect(ok.code, ok.err).toBe(0);
    const again = await erase(path, keys, '4');
    expect(again.err).toMatch(/row 4 is already erased/);
    const statement = await erase(path, keys, '26');
    expect(statement.err).toMatch(/row 26 is one of sealog's own entries/);
    const pii = await sealog([
      'erase',
      path,
      '--seq',
      '5',
      '--reason',
      'asked by jane@example.com',
      '--key',
      keys.keyFile,
      '--yes',
    ]);
    expect(pii.code).toBe(2);
    expect(pii.err).toMatch(/looks like personal data/);
    expect(pii.err).not.toMatch(/jane/);
    const noYes = await sealog(['erase', path, '--seq', '5', '--reason', 'DSR-1', '--key', keys.keyFile]);
    expect(noYes.code).toBe(2);
    const pg = await sealog([
      'erase',
      'postgres://localhost/x',
      '--seq',
      '5',
      '--reason',
      'DSR-1',
      '--key',
      keys.keyFile,
      '--yes',
    ]);
    expect(pg.code).toBe(2);
    expect(pg.err).toMatch(/refuses a PostgreSQL ledger, and nothing was changed/);
    const v = await verify(path, keys);
    expect(v.code, JSON.stringify(v.report.findings)).toBe(0);
    expect(v.report.erasures?.map((x) => x.seq)).toEqual([3, 4]);
  });

  it('the marker keeps the row time index, which verify still checks', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const path = await ledger(dir, keys);
    expect((await erase(path, keys, String(SUBJECT_SEQ))).code).toBe(0);
    const db = new Database(path, { readonly: true });
    const row = db.prepare('SELECT entry, ts FROM records WHERE seq = ?').get(SUBJECT_SEQ) as {
      entry: Buffer;
      ts: number;
    };
    db.close();
    expect(row.entry.toString()).toBe(canonicalJson({ _sealog: { erased: { by: 21 } }, time: row.ts }));
    const a = attackerOpen(path);
    a.prepare('UPDATE records SET ts = ? WHERE seq = ?').run(row.ts + 1, SUBJECT_SEQ);
    a.close();
    const v = await verify(path, keys);
    expect(v.code).toBe(1);
    expect(kinds(v.report)).toContain(`index-modified@${SUBJECT_SEQ}`);
  });

  it('prove, export and tiles take the erased leaf from the statement, and never claim the erased body', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const path = await ledger(dir, keys);
    expect((await erase(path, keys, String(SUBJECT_SEQ))).code).toBe(0);
    const k = ['--key-file', keys.vkeyFile];

    const proof = join(dir, 'p12.json');
    const p = await sealog(['prove', path, ...k, '--seq', '12', '--out', proof]);
    expect(p.code, p.err).toBe(0);
    expect((await sealog(['verify-proof', proof, ...k])).code).toBe(0);
    const c = await sealog([
      'prove',
      path,
      ...k,
      '--from-size',
      '21',
      '--to-size',
      '22',
      '--out',
      join(dir, 'c.json'),
    ]);
    expect(c.code, c.err).toBe(0);
    const gone = await sealog([
      'prove',
      path,
      ...k,
      '--seq',
      String(SUBJECT_SEQ),
      '--out',
      join(dir, 'p10.json'),
    ]);
    expect(gone.code).toBe(2);
    expect(gone.err).toMatch(/was erased under the erasure statement at entry 21/);

    const out = join(dir, 'bundle.json');
    const e = await sealog(['export', path, ...k, '--out', out]);
    expect(e.code, e.err).toBe(0);
    expect(e.err).toMatch(/record\(s\) 10 were erased/);
    const bundle = readFileSync(out, 'utf8');
    expect(bundle).not.toContain(SUBJECT);
    const b = await sealog(['verify-bundle', out, ...k, '--json']);
    expect(b.code, b.out).toBe(0);
    expect((JSON.parse(b.out) as { status: string }).status).toBe('ok');

    const t = await sealog(['tiles', path, join(dir, 'tiles'), ...k]);
    expect(t.code).toBe(2);
    expect(t.err).toMatch(/tiles cannot be published for a ledger with erased records/);
  });

  it('after a key rotation: the current key erases, checked against the first key; verify follows the chain', async () => {
    const dir = tempDir();
    const k0 = await keygen(dir, 'example.com/audit', 'k0');
    const k1 = await keygen(dir, 'example.com/audit', 'k1');
    const path = await ledger(dir, k0);
    const r = await sealog(['key', 'rotate', path, '--key', k0.keyFile, '--new-key', k1.keyFile]);
    expect(r.code, r.err).toBe(0);
    // The new key alone does not verify the history before its hand-over: nothing is erased.
    const alone = await erase(path, k1, String(SUBJECT_SEQ));
    expect(alone.code).toBe(1);
    const e = await erase(path, k1, String(SUBJECT_SEQ), ['--trust-file', k0.vkeyFile]);
    expect(e.code, e.err).toBe(0);
    const v = await verify(path, k0);
    expect(v.code, JSON.stringify(v.report.findings)).toBe(0);
    expect(v.report.erasures?.map((x) => [x.seq, x.erased])).toEqual([[SUBJECT_SEQ, true]]);
    for (const bytes of ledgerBytes(path)) expect(bytes.includes(SUBJECT)).toBe(false);
  });

  it('bodies replaced under a statement never sealed, or naming a root the records do not have, are not authorised', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const path = await ledger(dir, keys);
    // The steps of sealog erase with the seal after the statement left out (the key holder's
    // tool, or an insider replaying the steps): the statement is signed, but nothing seals it.
    const head = (await verify(path, keys)).report;
    const rows = [{ seq: SUBJECT_SEQ, leaf: erasureLeaves(path, [SUBJECT_SEQ])[0]! }];
    const key = fileCheckpointKey(loadSignerKeyFile(keys.keyFile), keys.keyFile);
    const note = await signErasure(
      {
        origin: key.name,
        size: head.size,
        root: Buffer.from(head.root, 'hex'),
        reason: 'DSR-1',
        time: 1,
        rows,
      },
      key,
    );
    // The same with a root the records do not have at that size: the key signed a claim
    // about another history.
    const wrong = join(dir, 'wrong-root.db');
    copyFileSync(path, wrong);
    const fake = {
      origin: key.name,
      size: head.size,
      root: Buffer.alloc(32, 1),
      reason: 'DSR-1',
      time: 1,
      rows,
    };
    const w = new SqliteStore(wrong);
    const badBy = w.append([erasureEntry(await signErasure(fake, key), fake, Date.now())]).firstSeq;
    w.close();
    // A writer deriving across it refuses to sign: the key's own statement disagrees with the rows.
    const refused = await sealog(['checkpoint', wrong, '--key', keys.keyFile]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/erasure statement at entry \d+ holds a checkpoint signed by this key/);
    eraseBodies(wrong, badBy, rows);
    const vw = await verify(wrong, keys);
    expect(vw.code).toBe(1);
    expect(kinds(vw.report)).toEqual(
      expect.arrayContaining([`checkpoint-mismatch@${badBy}`, `modified@${SUBJECT_SEQ}`]),
    );

    const store = new SqliteStore(path);
    const by = store.append([erasureEntry(note, { rows, reason: 'DSR-1' }, Date.now())]).firstSeq;
    store.close();
    eraseBodies(path, by, rows);
    const v = await verify(path, keys);
    expect(v.code).toBe(1);
    expect(kinds(v.report)).toContain(`modified@${SUBJECT_SEQ}`);
    expect(v.report.findings.find((f) => f.seq === SUBJECT_SEQ)?.message).toMatch(/not sealed/);
    // Sealing it afterwards makes the erasure whole.
    expect((await sealog(['checkpoint', path, '--key', keys.keyFile])).code).toBe(0);
    const sealed = await verify(path, keys);
    expect(sealed.code, JSON.stringify(sealed.report.findings)).toBe(0);
    expect(sealed.report.erasures?.map((x) => x.seq)).toEqual([SUBJECT_SEQ]);
  });
});
