import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chainHash, leafHash } from '../../hash.js';
import { TIME_UNKNOWN } from '../../time.js';
import type { FindingKind, VerifyReport } from '../types.js';
import { verifyLedger } from '../verify.js';
import { entryOf, type Fixture, makeLedger, rechain, renumber, swapRows, tamper } from './fixture.js';

// 100 records sealed every 25 (checkpoints at 25, 50, 75, 100).
function fresh(records = 100): Fixture {
  return makeLedger({ records, every: 25 });
}

function verify(
  f: Fixture,
  extra: { trusted?: boolean; strict?: boolean; keys?: string[] } = {},
): VerifyReport {
  return verifyLedger(f.path, {
    keys: extra.keys ?? [f.vkey],
    trusted: extra.trusted ? [readFileSync(f.anchor, 'utf8')] : [],
    strict: extra.strict ?? false,
  });
}

function kinds(r: VerifyReport): FindingKind[] {
  return r.findings.map((x) => x.kind);
}

function find(r: VerifyReport, kind: FindingKind) {
  return r.findings.filter((x) => x.kind === kind);
}

describe('verifyLedger on an untouched ledger', () => {
  it('passes with no findings, all checkpoints valid, and the signed time from the cosigner key', () => {
    const f = fresh();
    const r = verify(f, { trusted: true, strict: true, keys: [f.vkey, f.cosignerVkey] });
    expect(r.findings).toEqual([]);
    expect(r).toMatchObject({ ok: true, size: 100, unsealed: 0, origin: f.origin });
    expect(r.checkpoints.filter((c) => c.source === 'ledger').map((c) => [c.size, c.valid, c.time])).toEqual([
      [25, true, 1_700_000_025],
      [50, true, 1_700_000_050],
      [75, true, 1_700_000_075],
      [100, true, 1_700_000_100],
    ]);
  });

  it('reports an unsealed tail, failing only under strict', () => {
    const f = makeLedger({ records: 60, every: 25, sealTail: false });
    const r = verify(f);
    expect(r.ok).toBe(true);
    expect(r.unsealed).toBe(10);
    expect(r.findings).toEqual([expect.objectContaining({ kind: 'unsealed', seq: 50 })]);
    expect(verify(f, { strict: true }).ok).toBe(false);
  });

  it('verifies an empty ledger', () => {
    const f = makeLedger({ records: 0, every: 10 });
    expect(verify(f, { strict: true })).toMatchObject({ ok: true, size: 0, findings: [] });
  });
});

describe('verifyLedger names each tampering', () => {
  it('one changed byte of one entry: modified at that row, and the checkpoints covering it mismatch', () => {
    const f = fresh();
    tamper(f.path, (db) => {
      const e = Buffer.from(entryOf(37));
      e[5] = (e[5] ?? 0) ^ 0x01;
      db.prepare('UPDATE records SET entry = ? WHERE seq = 37').run(e);
    });
    const r = verify(f);
    expect(r.ok).toBe(false);
    expect(find(r, 'modified')).toEqual([expect.objectContaining({ seq: 37 })]);
    expect(find(r, 'checkpoint-mismatch').map((x) => x.checkpointId)).toEqual([2, 3, 4]);
    expect(r.findings.some((x) => x.message.includes('row 37: entry modified'))).toBe(true);
  });

  it('a changed stored chain (entry intact) is a modified chain', () => {
    const f = fresh();
    tamper(f.path, (db) => db.prepare('UPDATE records SET chain = zeroblob(32) WHERE seq = 12').run());
    const r = verify(f);
    expect(find(r, 'modified')).toEqual([
      expect.objectContaining({ seq: 12, message: expect.stringContaining('stored chain modified') }),
    ]);
    expect(find(r, 'checkpoint-mismatch')).toEqual([]); // the leaves, hence the roots, are intact
  });

  it('a deleted row: deleted at its seq', () => {
    const f = fresh();
    tamper(f.path, (db) => db.prepare('DELETE FROM records WHERE seq = 20').run());
    const r = verify(f);
    expect(find(r, 'deleted')).toEqual([
      expect.objectContaining({ seq: 20, message: 'row 20: missing (deleted)' }),
    ]);
    expect(find(r, 'modified')).toEqual([]);
    expect(r.ok).toBe(false);
  });

  it('a deleted range with the rest renumbered: the first row after it is named, the roots catch the rest', () => {
    const f = fresh();
    tamper(f.path, (db) => {
      db.prepare('DELETE FROM records WHERE seq BETWEEN 20 AND 22').run();
      renumber(db, 23, -3);
    });
    const r = verify(f);
    expect(find(r, 'modified').map((x) => x.seq)).toEqual([20]);
    expect(kinds(r)).toContain('checkpoint-mismatch');
    expect(kinds(r)).toContain('truncated'); // the checkpoint at 100 now covers more than the file
  });

  it('an inserted row in the middle, chained correctly: inserted at its seq', () => {
    const f = fresh();
    tamper(f.path, (db) => {
      const prev = (db.prepare('SELECT chain FROM records WHERE seq = 29').get() as { chain: Buffer }).chain;
      renumber(db, 30, 1);
      const e = Buffer.from('{"msg":"forged"}');
      db.prepare('INSERT INTO records (seq, ts, entry, chain) VALUES (30, 0, ?, ?)').run(
        e,
        chainHash(prev, leafHash(e)),
      );
    });
    const r = verify(f);
    expect(find(r, 'inserted')).toEqual([expect.objectContaining({ seq: 30 })]);
    expect(find(r, 'modified')).toEqual([]);
    expect(find(r, 'reordered')).toEqual([]);
  });

  it('an inserted row with a garbage chain: inserted', () => {
    const f = fresh();
    tamper(f.path, (db) => {
      renumber(db, 30, 1);
      db.prepare("INSERT INTO records (seq, ts, entry, chain) VALUES (30, 0, x'7b7d', randomblob(32))").run();
    });
    const r = verify(f);
    expect(find(r, 'inserted')).toEqual([expect.objectContaining({ seq: 30 })]);
    expect(find(r, 'modified')).toEqual([]);
  });

  it('three inserted rows chained among themselves: one inserted finding for the range', () => {
    const f = fresh();
    tamper(f.path, (db) => {
      let prev = (db.prepare('SELECT chain FROM records WHERE seq = 49').get() as { chain: Buffer }).chain;
      renumber(db, 50, 3);
      for (let k = 0; k < 3; k++) {
        const e = Buffer.from(`{"k":${k}}`);
        prev = chainHash(prev, leafHash(e));
        db.prepare('INSERT INTO records (seq, ts, entry, chain) VALUES (?, 0, ?, ?)').run(50 + k, e, prev);
      }
    });
    const r = verify(f);
    expect(find(r, 'inserted')).toEqual([
      expect.objectContaining({ seq: 50, message: expect.stringContaining('rows 50..52') }),
    ]);
  });

  it('a row appended after the end without updating ledger_state: state-mismatch and unsealed', () => {
    const f = fresh();
    tamper(f.path, (db) => {
      const prev = (db.prepare('SELECT chain FROM records WHERE seq = 99').get() as { chain: Buffer }).chain;
      const e = Buffer.from('{"msg":"late"}');
      // ts as the writer would store it for an entry with no time, so only the state gives it away.
      db.prepare('INSERT INTO records (seq, ts, entry, chain) VALUES (100, ?, ?, ?)').run(
        TIME_UNKNOWN,
        e,
        chainHash(prev, leafHash(e)),
      );
    });
    const r = verify(f);
    expect(kinds(r).sort()).toEqual(['state-mismatch', 'state-mismatch', 'state-mismatch', 'unsealed']);
    expect(r.ok).toBe(false);
  });

  it('two swapped rows: both reordered, with the position each was sealed at', () => {
    const f = fresh();
    tamper(f.path, (db) => swapRows(db, 10, 40));
    const r = verify(f);
    expect(find(r, 'reordered').map((x) => [x.seq, x.message])).toEqual([
      [10, 'row 10: reordered (sealed as record 40)'],
      [40, 'row 40: reordered (sealed as record 10)'],
    ]);
    expect(find(r, 'modified')).toEqual([]);
    expect(find(r, 'inserted')).toEqual([]);
  });

  it('two adjacent swapped rows and a swap involving row 0: reordered', () => {
    for (const [a, b] of [
      [10, 11],
      [0, 5],
      [98, 99],
    ] as const) {
      const f = fresh();
      tamper(f.path, (db) => swapRows(db, a, b));
      const r = verify(f);
      expect(find(r, 'reordered').length, `${a}<->${b}`).toBeGreaterThan(0);
      for (const x of find(r, 'reordered')) expect([a, b]).toContain(x.seq);
      expect(
        kinds(r).filter(
          // A swap involving row 0 breaks every checkpoint, so none covers any record: no-checkpoint.
          (k) =>
            !['reordered', 'checkpoint-mismatch', 'state-mismatch', 'unsealed', 'no-checkpoint'].includes(k),
        ),
      ).toEqual([]);
    }
  });

  it('a truncated tail relative to a trusted checkpoint from outside: truncated', () => {
    const f = fresh();
    tamper(f.path, (db) => {
      db.prepare('DELETE FROM records WHERE seq >= 80').run();
      db.prepare('DELETE FROM checkpoints WHERE size > 80').run();
      rechain(db); // keep ledger_state in step, as a careful attacker would
    });
    expect(verify(f).ok).toBe(true); // from the file alone the cut is invisible...
    const r = verify(f, { trusted: true });
    expect(r.ok).toBe(false); // ...but the anchor file remembers size 100
    expect(find(r, 'truncated')).toEqual([
      expect.objectContaining({
        message: expect.stringContaining('signs 100 records but the file holds 80'),
      }),
    ]);
  });

  it('a deleted last checkpoint: deleted against the anchor file, unsealed under strict', () => {
    const f = fresh();
    tamper(f.path, (db) =>
      db.prepare('DELETE FROM checkpoints WHERE id = (SELECT max(id) FROM checkpoints)').run(),
    );
    expect(find(verify(f, { trusted: true }), 'deleted')).toEqual([
      expect.objectContaining({
        message: expect.stringContaining('trusted checkpoint (size 100) is not in the ledger'),
      }),
    ]);
    const strict = verify(f, { strict: true });
    expect(strict.ok).toBe(false);
    expect(find(strict, 'unsealed')).toEqual([expect.objectContaining({ seq: 75 })]);
  });

  it('everything re-chained without the key: only the signed roots catch it', () => {
    const f = fresh();
    tamper(f.path, (db) => {
      // ts follows the entry (it has no time), so no index finding either.
      db.prepare('UPDATE records SET entry = ?, ts = ? WHERE seq = 60').run(
        Buffer.from('{"msg":"rewritten"}'),
        TIME_UNKNOWN,
      );
      rechain(db);
    });
    const r = verify(f);
    expect(r.ok).toBe(false);
    // No row or state finding: the chain is consistent. The roots at 75 and 100 are not,
    // so rows from 50 on (after the last checkpoint that still holds) count as unsealed.
    expect(kinds(r)).toEqual(['checkpoint-mismatch', 'checkpoint-mismatch', 'unsealed']);
    expect(find(r, 'checkpoint-mismatch').map((x) => x.checkpointId)).toEqual([3, 4]);
    expect(r.unsealed).toBe(50);
  });

  it('a checkpoint size column, signed size, root or signature altered', () => {
    const cases: [string, (note: string) => string, FindingKind][] = [
      ['size line', (n) => n.replace(/^(.*\n)50\n/, '$151\n'), 'bad-signature'],
      [
        'root line',
        (n) =>
          n.replace(/\n([A-Za-z0-9+/]{10})/, (_m, p: string) => `\n${p[0] === 'A' ? 'B' : 'A'}${p.slice(1)}`),
        'bad-signature',
      ],
      // Character 20 of the base64 lies in the Ed25519 signature, past the 4-byte key ID.
      [
        'signature',
        (n) =>
          n.replace(/(\u2014 \S+ .{20})(\S)/, (_m, p: string, c: string) => `${p}${c === 'A' ? 'B' : 'A'}`),
        'bad-signature',
      ],
      [
        'key ID',
        (n) => n.replace(/(\u2014 \S+ )(\S)/, (_m, p: string, c: string) => `${p}${c === 'A' ? 'B' : 'A'}`),
        'unknown-key',
      ],
    ];
    for (const [what, edit, kind] of cases) {
      const f = fresh();
      tamper(f.path, (db) => {
        const note = (db.prepare('SELECT note FROM checkpoints WHERE id = 2').get() as { note: string }).note;
        const changed = edit(note);
        expect(changed, what).not.toBe(note);
        db.prepare('UPDATE checkpoints SET note = ? WHERE id = 2').run(changed);
      });
      const r = verify(f);
      expect(r.findings, what).toEqual([expect.objectContaining({ kind, checkpointId: 2 })]);
    }
    const f = fresh();
    tamper(f.path, (db) => db.prepare('UPDATE checkpoints SET size = 51 WHERE id = 2').run());
    expect(verify(f).findings).toEqual([
      expect.objectContaining({ kind: 'checkpoint-mismatch', checkpointId: 2 }),
    ]);
  });

  it('a checkpoint from another log swapped in: unknown-key, or wrong-origin when its key is trusted too', () => {
    const f = fresh();
    const other = makeLedger({ records: 100, every: 25, origin: 'other.example/log', dir: f.dir });
    const theirs = readFileSync(other.anchor, 'utf8');
    const last = theirs.slice(theirs.lastIndexOf('other.example/log\n100\n')).replace(/\n$/, '');
    tamper(f.path, (db) => db.prepare('UPDATE checkpoints SET note = ? WHERE id = 4').run(last));
    const r1 = verify(f);
    expect(find(r1, 'unknown-key')).toEqual([expect.objectContaining({ checkpointId: 4 })]);
    expect(r1.ok).toBe(false);
    const r2 = verify(f, { keys: [f.vkey, other.vkey] });
    expect(find(r2, 'wrong-origin')).toEqual([expect.objectContaining({ checkpointId: 4 })]);
    expect(r2.ok).toBe(false);
  });
});

describe('verifyLedger checks the time index (issue 14, finding 5)', () => {
  it('a ts moved out of its entry time is index-modified at that row (the page fast path refuses the page)', () => {
    {
      const f = fresh();
      tamper(f.path, (db) => {
        db.prepare('UPDATE records SET ts = 0 WHERE seq = 7').run();
        db.prepare('UPDATE records SET ts = ? WHERE seq = 40').run(TIME_UNKNOWN); // "no time" for a timed entry
        db.prepare("UPDATE records SET ts = 'late' WHERE seq = 41").run();
        db.prepare('UPDATE records SET ts = ts + 1 WHERE seq = 99').run();
      });
      const r = verifyLedger(f.path, { keys: [f.vkey], threads: 0 });
      expect(find(r, 'index-modified').map((x) => x.seq)).toEqual([7, 40, 41, 99]);
      expect(kinds(r).filter((k) => k !== 'index-modified')).toEqual([]);
      expect(r.ok).toBe(false);
    }
  });
});
