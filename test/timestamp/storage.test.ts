import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import {
  exportBundle,
  isSealogError,
  LedgerReader,
  type SealogError,
  verifyBundle,
  verifyLedger,
  verifyTimestampToken,
} from '../../packages/core/src/index.js';
import { type TestPki, type TestTsa, useTestTsa } from '../helpers/tsa.js';
import {
  checkpointRows,
  recordCount,
  type Setup,
  setup,
  sha256,
  tokenRows,
  withDb,
  writeRecords,
} from './harness.js';

// Where the writer keeps tokens: `checkpoint_timestamps` in the ledger file.
// A ledger made before the table existed gets it when a writer opens it. The
// rows are attacker input for every reader: oversized, mistyped or garbage
// tokens, and a table recreated with other columns, never crash one.

let pki: TestPki;
let tsa: TestTsa;
useTestTsa((started) => {
  ({ pki, tsa } = started);
});

const hasTable = (path: string) =>
  withDb(
    path,
    (db) =>
      db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'checkpoint_timestamps'").get() !== undefined,
  );

function stampedOptions(t: Setup) {
  return {
    path: t.path,
    checkpoint: {
      keyFile: t.keyFile,
      everyRecords: 100,
      anchorFile: t.anchor,
      timestamp: { mode: 'best-effort', urls: [tsa.url], trustAnchorsFile: t.caFile },
    },
  };
}

/** Opens the file for writing with the triggers and constraints an attacker can drop. */
function edit(path: string, sql: string, ...params: unknown[]): void {
  const db = new Database(path);
  try {
    if (params.length > 0) db.prepare(sql).run(...params);
    else db.exec(sql);
  } finally {
    db.close();
  }
}

describe('checkpoint_timestamps in the ledger file', () => {
  it('a ledger made before the table existed gets it on open, and its new checkpoints get tokens', async () => {
    const t = setup(pki);
    const errors: SealogError[] = [];
    await writeRecords({ path: t.path, checkpoint: { keyFile: t.keyFile, everyRecords: 100 } }, 4, errors);
    // The previous sealog's schema is today's without the table (its triggers and index go with it).
    edit(t.path, 'DROP TABLE checkpoint_timestamps');
    expect(hasTable(t.path)).toBe(false);
    const old = checkpointRows(t.path);
    // Readers of such a file find no tokens, and no error.
    const reader = new LedgerReader(t.path);
    expect([...reader.timestamps()]).toEqual([]);
    reader.close();

    tsa.mode = 'ok';
    await writeRecords(stampedOptions(t), 4, errors, { from: 4 });
    expect(errors.map((e) => e.message)).toEqual([]);
    expect(hasTable(t.path)).toBe(true);
    expect(recordCount(t.path)).toBe(400);
    const all = checkpointRows(t.path);
    const fresh = all.slice(old.length);
    expect(fresh.length).toBeGreaterThan(0);
    const tokens = tokenRows(t.path);
    expect(tokens.map((r) => r.note_sha256.toString('hex')).sort()).toEqual(
      fresh.map((c) => sha256(c.note).toString('hex')).sort(),
    );
    for (const cp of fresh) {
      const row = tokens.find((r) => r.note_sha256.equals(sha256(cp.note)))!;
      verifyTimestampToken(row.token, Buffer.from(cp.note), { trustAnchors: pki.caPem });
    }
    expect(verifyLedger(t.path, { keys: t.keys }).ok).toBe(true);
    // Append-only like the checkpoints.
    expect(() => edit(t.path, 'UPDATE checkpoint_timestamps SET size = 0')).toThrow(/append-only/);
    expect(() => edit(t.path, 'DELETE FROM checkpoint_timestamps')).toThrow(/append-only/);
  }, 60_000);

  it('hostile token rows: reported by the reader, never loaded when oversized, left out of bundles', async () => {
    const t = setup(pki);
    tsa.mode = 'ok';
    const errors: SealogError[] = [];
    await writeRecords(stampedOptions(t), 3, errors);
    expect(errors).toEqual([]);
    const good = tokenRows(t.path);
    expect(good.length).toBeGreaterThan(0);
    const last = checkpointRows(t.path).at(-1)!;
    const hash = sha256(last.note);
    const insert =
      'INSERT INTO checkpoint_timestamps (size, note_sha256, token, tsa_time, created_at) VALUES (?, ?, ?, ?, ?)';
    edit(t.path, insert, last.size, hash, randomBytes(200), 0, 0); // garbage DER for the newest note
    edit(t.path, insert, last.size, hash, Buffer.alloc(70 * 1024, 0x30), 0, 0); // over 64 KiB
    edit(t.path, insert, last.size, hash, 'a token as TEXT', 0, 0);
    edit(t.path, insert, last.size, Buffer.from([1, 2, 3]), good[0]!.token, 0, 0); // a 3-byte hash
    edit(t.path, insert, -5, 'not a hash', Buffer.alloc(0), 'soon', 'later');

    const reader = new LedgerReader(t.path);
    try {
      const rows = [...reader.timestamps()];
      expect(rows.length).toBe(good.length + 5);
      const hostile = rows.slice(good.length);
      expect(hostile[0]!.problem).toBeUndefined(); // well-typed garbage: verifyTimestampToken's to judge
      expect(hostile[1]!.problem).toMatch(/is 71680 bytes, over 65536: not read/);
      expect(hostile[1]!.token.length).toBe(0);
      expect(hostile[2]!.problem).toMatch(/token is text, not a BLOB/);
      expect(hostile[3]!.problem).toMatch(/note hash is not 32 bytes/);
      expect(hostile[4]).toMatchObject({ size: -1, tsaTime: 0, problem: expect.any(String) });
      // Exported bundles carry only tokens that parse and name the note's imprint.
      const { bundle, warnings } = exportBundle(reader, {
        query: {},
        keys: t.keys,
      });
      // Every good token of the bundle's note, and nothing else. Usually one; two when a periodic
      // seal and the closing one signed the same head in the same second (identical notes, each
      // stored and stamped), which a loaded machine makes likely.
      const imprint = sha256(bundle.checkpoint);
      const goodForNote = good
        .filter((r) => r.note_sha256.equals(imprint))
        .map((r) => r.token.toString('base64'));
      expect(goodForNote.length).toBeGreaterThan(0);
      expect(bundle.timestamps?.map((x) => x.token).sort()).toEqual(goodForNote.sort());
      for (const stamp of bundle.timestamps!) {
        expect(stamp.noteSha256).toBe(imprint.toString('base64'));
        verifyTimestampToken(Buffer.from(stamp.token, 'base64'), Buffer.from(bundle.checkpoint), {
          trustAnchors: pki.caPem,
        });
      }
      expect(warnings).toContainEqual(expect.stringMatching(/5 stored timestamp token\(s\) left out/));
      // A verifier that does not know the field still verifies the bundle.
      expect(verifyBundle(JSON.stringify(bundle), { keys: t.keys }).status).toBe('ok');
    } finally {
      reader.close();
    }
    expect(verifyLedger(t.path, { keys: t.keys }).ok).toBe(true);
  }, 60_000);

  it('a token table recreated with other columns: readers fail with E_IO, the writer keeps logging', async () => {
    const t = setup(pki);
    tsa.mode = 'ok';
    const errors: SealogError[] = [];
    await writeRecords(stampedOptions(t), 2, errors);
    edit(
      t.path,
      'DROP TABLE checkpoint_timestamps; CREATE TABLE checkpoint_timestamps (id INTEGER PRIMARY KEY)',
    );
    const reader = new LedgerReader(t.path);
    try {
      let thrown: unknown;
      try {
        [...reader.timestamps()];
      } catch (err) {
        thrown = err;
      }
      expect(isSealogError(thrown) && thrown.code).toBe('E_IO');
      // An export still works, and says it found no usable tokens.
      const { bundle, warnings } = exportBundle(reader, { query: {}, keys: t.keys });
      expect(bundle.timestamps).toBeUndefined();
      expect(warnings).toContainEqual(expect.stringMatching(/timestamp tokens could not be read/));
    } finally {
      reader.close();
    }
    // The writer cannot keep tokens there: one report, every record stored.
    await writeRecords(stampedOptions(t), 3, errors, { from: 2 });
    expect(recordCount(t.path)).toBe(250);
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/the token could not be kept/)]);
    expect(verifyLedger(t.path, { keys: t.keys }).ok).toBe(true);
  }, 60_000);
});
