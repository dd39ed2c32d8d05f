// How a PostgreSQL ledger's hold statements are judged (readPgHolds), on a
// snapshot-shaped SQLite table, for the rows the CLI tests do not build: every
// row is attacker input, and only a signed, sealed, well-formed statement for
// this origin counts; a release ends a hold only from after it and not
// backdated. docs/lifecycle.md "Legal hold on a PostgreSQL ledger".
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Ed25519Signer } from '../../packages/core/src/note/keys.js';
import {
  type HoldStatement,
  holdNoteHash,
  type ReleaseStatement,
  signStatement,
  statementEntry,
} from '../../packages/core/src/segments/statements.js';
import { asCheckpointKey } from '../../packages/core/src/signer/file.js';
import {
  MAX_PG_HOLD_STATEMENTS,
  readPgHolds,
  trustKeys,
} from '../../packages/core/src/store/postgres/holds.js';

const ORIGIN = 'example.com/audit';
const key = new Ed25519Signer(ORIGIN, randomBytes(32));
const trusted = trustKeys([key.verifierKey]);
const log = asCheckpointKey(key).log;

function ledger(): { db: Database.Database; put: (entry: Buffer) => number } {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE records (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, entry BLOB NOT NULL)');
  let seq = 0;
  const ins = db.prepare('INSERT INTO records (seq, ts, entry) VALUES (?, ?, ?)');
  return {
    db,
    put: (entry) => {
      ins.run(seq, 1000 + seq, entry);
      return seq++;
    },
  };
}

const hold = (over: Partial<HoldStatement> = {}): HoldStatement => ({
  type: 'hold',
  origin: ORIGIN,
  id: 'LIT-1',
  time: 5000,
  reason: 'LIT-1',
  scope: { from: 0, to: 10_000 },
  ...over,
});

async function entryOf(
  s: HoldStatement | ReleaseStatement,
  signer = log,
): Promise<{ entry: Buffer; note: string }> {
  const note = await signStatement(s, signer);
  return { entry: statementEntry(note, s, s.time).entry, note };
}

async function released(h: { note: string }, over: Partial<ReleaseStatement> = {}) {
  return entryOf({
    type: 'release',
    origin: ORIGIN,
    id: 'LIT-1',
    time: 6000,
    reason: 'closed',
    hold: holdNoteHash(h.note),
    ...over,
  });
}

const judge = (db: Database.Database, sealed = 1e9) => readPgHolds(db, { sealed }, ORIGIN, trusted);

describe('readPgHolds: what a PostgreSQL hold statement counts for', () => {
  it('a valid release ends the hold; one backdated or for another id does not', async () => {
    for (const [what, over, ends] of [
      ['valid', {}, true],
      ['backdated', { time: 4999 }, false],
      ['another id', { id: 'LIT-2' }, false],
    ] as const) {
      const { db, put } = ledger();
      const h = await entryOf(hold());
      put(h.entry);
      put((await released(h, over)).entry);
      expect(
        judge(db).holds.map((x) => x.active),
        what,
      ).toEqual([!ends]);
    }
  });

  // Red team: hold at row 100, released at 121, row 100 pruned; a byte copy of the
  // hold appended later read as ACTIVE, the release ignored. A release can only
  // follow its hold, so a hold stored after its release is a replay: a problem
  // (verify fails, prune refuses), never an active hold.
  it('a hold stored after a release of it (its original pruned) is a replay and counts for nothing', async () => {
    const { db, put } = ledger();
    const h = await entryOf(hold());
    put((await released(h)).entry);
    put(h.entry);
    const r = judge(db);
    expect(r.holds).toEqual([]);
    expect(r.problems).toMatchObject([
      { seq: 1, kind: 'forged', message: expect.stringMatching(/released at row 0, before this copy/) },
    ]);
  });

  it('a release not yet sealed ends nothing and is reported', async () => {
    const { db, put } = ledger();
    const h = await entryOf(hold());
    put(h.entry);
    put((await released(h)).entry);
    const r = judge(db, 1);
    expect(r.holds.map((x) => x.active)).toEqual([true]);
    expect(r.problems).toMatchObject([{ seq: 1, kind: 'unsealed' }]);
  });

  it('forged, foreign, malformed and segment statements count for nothing and are problems', async () => {
    const { db, put } = ledger();
    const other = asCheckpointKey(new Ed25519Signer(ORIGIN, randomBytes(32))).log;
    put((await entryOf(hold({ id: 'F1' }), other)).entry); // same name, another key
    const foreignKey = asCheckpointKey(new Ed25519Signer('other.example/log', randomBytes(32))).log;
    put((await entryOf(hold({ id: 'F2', origin: 'other.example/log' }), foreignKey)).entry);
    put(statementEntry('sealog hold/v1\norigin x\n\n— x AAAA\n', hold(), 1).entry); // malformed
    put((await entryOf(hold({ id: 'F3', scope: { segment: 2 } }))).entry);
    put(Buffer.from('{"msg":"user text naming legalHold"}')); // user data: not a claim
    const r = judge(db);
    expect(r.holds).toEqual([]);
    expect(r.problems.map((p) => [p.seq, p.kind])).toEqual([
      [0, 'forged'],
      [1, 'forged'],
      [2, 'forged'],
      [3, 'forged'],
    ]);
  });

  it('a byte-identical copy of a hold is judged once', async () => {
    const { db, put } = ledger();
    const h = await entryOf(hold());
    put(h.entry);
    put(h.entry);
    expect(judge(db).holds).toHaveLength(1);
  });

  it(`reads at most ${MAX_PG_HOLD_STATEMENTS} statements; more is a problem`, {
    timeout: 120_000,
  }, async () => {
    const { db, put } = ledger();
    const h = await entryOf(hold());
    db.transaction(() => {
      for (let i = 0; i <= MAX_PG_HOLD_STATEMENTS; i++) put(h.entry);
    })();
    const r = judge(db);
    expect(r.holds).toHaveLength(1);
    expect(r.problems).toMatchObject([{ seq: MAX_PG_HOLD_STATEMENTS, kind: 'forged' }]);
  });
});
