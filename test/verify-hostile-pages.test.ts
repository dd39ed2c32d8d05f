import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
// The built package, as `sealog verify` runs it.
import {
  canonicalJson,
  chainHash,
  generateKey,
  leafHash,
  parseSignerKey,
  SqliteStore,
  signCheckpoint,
  verifyLedger,
  ZERO_HASH,
} from '../packages/core/dist/index.js';
import { indexTime } from '../packages/core/src/time.js';
import { tamper } from '../packages/core/src/verify/__tests__/fixture.js';
import { tempDir } from './helpers/tmp.js';

// Files built to slip past the verifier's page fast path (verify/page.ts), found
// in review: each must be reported, as the row-by-row scanner reports it.

function ledger(entries: Buffer[]): { path: string; keys: string[] } {
  const origin = 'audit.example/log';
  const key = generateKey(origin);
  const path = join(tempDir(), 'ledger.db');
  const store = new SqliteStore(path);
  for (let i = 0; i < entries.length; i += 1000) {
    store.append(entries.slice(i, i + 1000).map((entry) => ({ entry, ts: indexTime(entry) })));
  }
  const head = store.head();
  const note = signCheckpoint(
    { origin, size: head.size, root: head.root },
    parseSignerKey(key.privateKey),
    1,
  );
  store.addCheckpoint(head, note, 0);
  store.close();
  return { path, keys: [key.verifierKey] };
}

const plain = (n: number) =>
  Array.from({ length: n }, (_, i) => Buffer.from(canonicalJson({ i, msg: `event ${i}`, time: i })));

describe('hostile pages the fast path must not accept', () => {
  it('a seq that is not an integer, in a table whose seq is not the rowid (PRIMARY KEY DESC)', () => {
    const l = ledger(plain(300));
    expect(verifyLedger(l.path, { keys: l.keys, threads: 0 }).ok).toBe(true);
    tamper(l.path, (db) =>
      db.exec(`ALTER TABLE records RENAME TO old;
        CREATE TABLE records (seq INTEGER PRIMARY KEY DESC, ts INTEGER, entry BLOB, chain BLOB);
        INSERT INTO records SELECT seq, ts, entry, chain FROM old; DROP TABLE old;
        UPDATE records SET seq = 5.5 WHERE seq = 5;`),
    );
    const r = verifyLedger(l.path, { keys: l.keys, threads: 0 });
    expect(r.ok).toBe(false);
    expect(r.findings.map((f) => f.message).join('\n')).toMatch(/does not have the sealog schema/);
    expect(r.checkpoints[0]!.valid).toBe(false);
  });

  it('a rowid edited in the b-tree so that one seq appears twice', () => {
    const l = ledger(plain(300));
    const d = new Database(l.path);
    d.pragma('journal_mode = DELETE'); // everything in the main file, to edit it in place
    d.close();
    const buf = readFileSync(l.path);
    const needle = Buffer.from('{"i":6,"msg"');
    // The cell before the entry: rowid varint, record header [5, 0 (seq: rowid), ts type, entry type, 0x4c
    // (32-byte chain)], then ts (one byte: 6). So the rowid is 7 bytes before the entry. A stale copy of
    // the cell may sit on a free page too; patching it as well changes nothing.
    let edits = 0;
    for (let at = buf.indexOf(needle); at >= 0; at = buf.indexOf(needle, at + 1)) {
      expect([buf[at - 7], buf[at - 6], buf[at - 5], buf[at - 2], buf[at - 1]]).toEqual([6, 5, 0, 0x4c, 6]);
      buf[at - 7] = 5;
      edits++;
    }
    expect(edits).toBeGreaterThan(0);
    writeFileSync(l.path, buf);
    const r = verifyLedger(l.path, { keys: l.keys, threads: 0 });
    expect(r.ok).toBe(false);
    expect(r.findings.map((f) => `${f.kind}@${f.seq}`)).toContain('inserted@5');
  });

  it('tampered bytes that the text round trip of a UTF-16 file would hide', () => {
    // An entry with the bytes d8 a1 dc at an odd offset (so a UTF-16 code unit pair
    // straddles them) whose chain is itself well-formed UTF-16LE: group_concat would
    // carry the entry through UTF-8 and back, repairing the edited surrogate pair.
    // The edited row is alone in its page (8192 rows a page), so the page is
    // all well-formed UTF-16 and the fast path would take it.
    const n = 8193;
    // The nonce moves the marker by one byte every other try (the extra space), and an
    // odd-length entry gets a trailing dot, so both parities and chains get tried.
    const mk = (i: number, nonce: number) => {
      const msg = `pay ${i}${nonce % 2 ? ' ' : ''} \u0621\u0710`;
      let e = Buffer.from(canonicalJson({ i, msg, nonce }));
      if (e.length % 2) e = Buffer.from(canonicalJson({ i, msg: `${msg}.`, nonce }));
      return e;
    };
    const wellFormed = (b: Buffer) => {
      for (let i = 0; i + 1 < b.length; i += 2) {
        const u = b[i]! | (b[i + 1]! << 8);
        if (u >= 0xd800 && u < 0xe000) return false;
      }
      return true;
    };
    const entries = Array.from({ length: n }, (_, i) => mk(i, 0));
    let chain = ZERO_HASH;
    for (let i = 0; i < n - 1; i++) chain = chainHash(chain, leafHash(entries[i]!));
    const marker = Buffer.from([0xd8, 0xa1, 0xdc]);
    let found = false;
    for (let nonce = 0; nonce < 10_000 && !found; nonce++) {
      const e = mk(n - 1, nonce);
      found = wellFormed(chainHash(chain, leafHash(e))) && e.indexOf(marker) % 2 === 1;
      if (found) entries[n - 1] = e;
    }
    expect(found).toBe(true);
    const l = ledger(entries);
    const u16 = `${l.path}.u16.db`;
    const src = new Database(l.path, { readonly: true });
    const dst = new Database(u16);
    dst.pragma("encoding = 'UTF-16le'");
    const objects = src
      .prepare("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type = 'trigger'")
      .all() as { type: string; name: string; sql: string }[];
    for (const o of objects) if (o.name !== 'records_no_update') dst.exec(o.sql);
    for (const o of objects.filter((x) => x.type === 'table')) {
      const rows = src.prepare(`SELECT * FROM "${o.name}"`).raw(true).all() as unknown[][];
      if (rows.length === 0) continue;
      const ins = dst.prepare(`INSERT INTO "${o.name}" VALUES (${rows[0]!.map(() => '?').join(', ')})`);
      dst.transaction(() => {
        for (const r of rows) ins.run(...r);
      })();
    }
    src.close();
    const edited = Buffer.from(entries[n - 1]!);
    edited[edited.indexOf(marker) + 2] = 0x20;
    dst.prepare('UPDATE records SET entry = ? WHERE seq = ?').run(edited, n - 1);
    dst.close();
    const r = verifyLedger(u16, { keys: l.keys, threads: 0 });
    expect(r.ok).toBe(false);
    expect(r.findings.map((f) => `${f.kind}@${f.seq}`)).toContain(`modified@${n - 1}`);
  });

  it('a page of entries over the page byte budget is read row by row, with the same report', () => {
    const big = Array.from({ length: 600 }, (_, i) =>
      Buffer.from(canonicalJson({ i, pad: 'x'.repeat(60_000) })),
    ); // ~36 MB in one page: over FAST_PAGE_BYTES
    const l = ledger(big);
    const copy = `${l.path}.copy.db`;
    copyFileSync(l.path, copy);
    const r = verifyLedger(l.path, { keys: l.keys, threads: 0 });
    expect(r.ok).toBe(true);
    expect(r.size).toBe(600);
    tamper(copy, (db) => db.prepare("UPDATE records SET entry = CAST('{}' AS BLOB) WHERE seq = 599").run());
    expect(
      verifyLedger(copy, { keys: l.keys, threads: 0 }).findings.map((f) => `${f.kind}@${f.seq}`),
    ).toContain('modified@599');
  });
});
