import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSealogError } from '../packages/core/src/errors.js';
import { makeLedger, tamper } from '../packages/core/src/verify/__tests__/fixture.js';
import type { VerifyReport } from '../packages/core/src/verify/types.js';
import { verifyLedger } from '../packages/core/src/verify/verify.js';

// Properties over a real ledger file: every single-byte change to stored data
// is caught, and no file, however damaged, makes the verifier crash.

const base = makeLedger({ records: 60, every: 20 }); // checkpoints at 20, 40, 60
const keys = [base.vkey, base.cosignerVkey];
let copies = 0;

function copy(): string {
  const p = join(base.dir, `copy-${copies++}.db`);
  copyFileSync(base.path, p);
  return p;
}

/** verifyLedger, asserting that anything it throws is a SealogError saying the file is unreadable. */
function verifyOrUnreadable(path: string): VerifyReport | 'unreadable' {
  try {
    return verifyLedger(path, { keys });
  } catch (err) {
    if (!isSealogError(err) || !['E_IO', 'E_NOT_LEDGER'].includes(err.code)) throw err;
    expect(err.message.length).toBeGreaterThan(10);
    return 'unreadable';
  }
}

describe('any single-byte change is detected', () => {
  it('untouched copies verify (the property below is not vacuous)', () => {
    expect(verifyLedger(copy(), { keys, strict: true })).toMatchObject({ ok: true, findings: [] });
  });

  it('in any stored entry', () => {
    fc.assert(
      fc.property(fc.nat(59), fc.nat(), fc.integer({ min: 1, max: 255 }), (seq, at, x) => {
        const p = copy();
        tamper(p, (db) => {
          const e = Buffer.from(
            (db.prepare('SELECT entry FROM records WHERE seq = ?').get(seq) as { entry: Buffer }).entry,
          );
          const i = at % e.length;
          e[i] = e[i]! ^ x;
          db.prepare('UPDATE records SET entry = ? WHERE seq = ?').run(e, seq);
        });
        const r = verifyLedger(p, { keys });
        expect(r.ok).toBe(false);
        expect(r.findings).toContainEqual(expect.objectContaining({ kind: 'modified', seq }));
      }),
      { numRuns: 60 },
    );
  });

  it('in any stored checkpoint note', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (id, at, x) => {
        const p = copy();
        tamper(p, (db) => {
          const note = Buffer.from(
            (db.prepare('SELECT note FROM checkpoints WHERE id = ?').get(id) as { note: string }).note,
            'utf8',
          );
          const i = at % note.length;
          note[i] = note[i]! ^ x;
          // Keep it TEXT when the result is still UTF-8, as a careful editor would.
          const text = new TextDecoder('utf-8', { fatal: false }).decode(note);
          db.prepare('UPDATE checkpoints SET note = ? WHERE id = ?').run(
            Buffer.from(text, 'utf8').equals(note) ? text : note,
            id,
          );
        });
        const r = verifyLedger(p, { keys });
        expect(r.ok).toBe(false);
        expect(r.findings.some((f) => f.checkpointId === id)).toBe(true);
      }),
      { numRuns: 80 },
    );
  });
});

describe('the verifier never crashes on a damaged or hostile file', () => {
  it('random bytes: unreadable', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 8192 }), (bytes) => {
        const p = join(base.dir, `garbage-${copies++}.db`);
        writeFileSync(p, bytes);
        expect(verifyOrUnreadable(p)).toBe('unreadable');
      }),
      { numRuns: 50 },
    );
  });

  it('a SQLite header followed by garbage: unreadable', () => {
    const header = readFileSync(base.path).subarray(0, 100);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 16384 }), (bytes) => {
        const p = join(base.dir, `header-${copies++}.db`);
        writeFileSync(p, Buffer.concat([header, bytes]));
        expect(verifyOrUnreadable(p)).toBe('unreadable');
      }),
      { numRuns: 30 },
    );
  });

  it('a real ledger truncated anywhere: failed or unreadable, never intact', () => {
    const whole = readFileSync(base.path);
    fc.assert(
      fc.property(fc.nat(whole.length - 1), (cut) => {
        const p = join(base.dir, `cut-${copies++}.db`);
        writeFileSync(p, whole.subarray(0, cut));
        const r = verifyOrUnreadable(p);
        if (r !== 'unreadable') expect(r.ok).toBe(false);
      }),
      { numRuns: 60 },
    );
  });

  it('a real ledger with random bytes overwritten: a report or unreadable, never a crash', () => {
    const whole = readFileSync(base.path);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(whole.length - 1), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        (flips) => {
          const bytes = Buffer.from(whole);
          for (const [at, x] of flips) bytes[at] = bytes[at]! ^ x;
          const p = join(base.dir, `flip-${copies++}.db`);
          writeFileSync(p, bytes);
          verifyOrUnreadable(p);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('wrong schemas and hostile values in the right tables', () => {
    const cases: [string, string, 'unreadable' | string][] = [
      ['records table missing', 'DROP TABLE records', 'unreadable'],
      ['format marker changed', "UPDATE sealog_meta SET value = 'other' WHERE key = 'format'", 'unreadable'],
      ['newer schema version', 'INSERT INTO sealog_schema VALUES (99, 0)', 'unreadable'],
      ['entry as TEXT', 'UPDATE records SET entry = CAST(entry AS TEXT) WHERE seq = 4', 'malformed-row'],
      [
        'entry NULL (recreated table)',
        recreate('CASE WHEN seq = 4 THEN NULL ELSE entry END', 'seq'),
        'malformed-row',
      ],
      [
        'chain NULL and short',
        "UPDATE records SET chain = CASE WHEN seq = 4 THEN x'00' ELSE chain END",
        'malformed-row',
      ],
      ['negative seq', 'UPDATE records SET seq = -5 WHERE seq = 59', 'malformed-row'],
      ['seq beyond 2^53', 'UPDATE records SET seq = 9007199254740993 WHERE seq = 59', 'malformed-row'],
      [
        'float and text seqs (recreated table)',
        recreate('entry', "CASE WHEN seq = 3 THEN 3.5 WHEN seq = 7 THEN 'seven' ELSE seq END"),
        'malformed-row',
      ],
      [
        'duplicate seqs (recreated table)',
        recreate('entry', 'CASE WHEN seq = 8 THEN 7 ELSE seq END'),
        'inserted',
      ],
      ['note as a number', 'UPDATE checkpoints SET note = 12345 WHERE id = 1', 'malformed-checkpoint'],
      ['note NULL-ish', "UPDATE checkpoints SET note = '' WHERE id = 2", 'malformed-checkpoint'],
      ['ledger_state row gone', 'DELETE FROM ledger_state', 'state-mismatch'],
      ['ledger_state size text', "UPDATE ledger_state SET size = 'many'", 'state-mismatch'],
    ];
    for (const [name, sql, want] of cases) {
      const p = copy();
      tamper(p, (db) => db.exec(sql));
      const r = verifyOrUnreadable(p);
      if (want === 'unreadable') expect(r, name).toBe('unreadable');
      else {
        expect(r, name).not.toBe('unreadable');
        const rep = r as VerifyReport;
        expect(rep.ok, name).toBe(false);
        expect(
          rep.findings.map((f) => f.kind),
          name,
        ).toContain(want);
      }
    }
  });

  it('a huge entry is reported, not loaded', () => {
    const p = copy();
    tamper(p, (db) =>
      db.prepare('UPDATE records SET entry = zeroblob(65 * 1024 * 1024) WHERE seq = 10').run(),
    );
    const r = verifyLedger(p, { keys });
    expect(r.ok).toBe(false);
    expect(r.findings).toContainEqual(
      expect.objectContaining({
        kind: 'malformed-row',
        seq: 10,
        message: expect.stringContaining('cannot be checked'),
      }),
    );
  });
});

/** SQL that recreates `records` without its primary key, so any seq/entry value can be stored. */
function recreate(entryExpr: string, seqExpr: string): string {
  return `CREATE TABLE r2 (seq, ts, entry, chain);
    INSERT INTO r2 SELECT ${seqExpr}, ts, ${entryExpr}, chain FROM records;
    DROP TABLE records; ALTER TABLE r2 RENAME TO records;`;
}
