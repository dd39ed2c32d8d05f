import { copyFileSync, rmSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The built package: its worker threads need the compiled page-worker.js.
import { verifyLedger } from '../packages/core/dist/index.js';
import { workerPages } from '../packages/core/dist/verify/page-pool.js';
import {
  entryOf,
  type Fixture,
  makeLedger,
  renumber,
  swapRows,
  tamper,
} from '../packages/core/src/verify/__tests__/fixture.js';

// The verifier's fast paths (issue 8) must report exactly what the row-by-row
// scan reports. A ledger large enough for worker threads (5 pages of 8192
// rows) is edited the way an attacker would; the report with 0, 1 and 3
// worker threads must be identical, and name the edit.

const ROWS = 5 * 8192 + 123;
let base: Fixture;

beforeAll(() => {
  base = makeLedger({ records: ROWS, every: 5000 });
});
afterAll(() => rmSync(base.dir, { recursive: true, force: true }));

let copies = 0;
function edited(edit: (db: Database.Database) => void): string {
  const path = `${base.path}.${++copies}.db`;
  copyFileSync(base.path, path); // the fixture's store is closed: no WAL beside it
  tamper(path, edit);
  return path;
}

function reports(path: string) {
  const keys = [base.vkey];
  return [0, 1, 3].map((threads) => verifyLedger(path, { keys, threads, strict: true }));
}

const cases: { name: string; edit: (db: Database.Database) => void; kind: string; seq?: number }[] = [
  {
    name: 'one byte of an entry in the third page',
    edit: (db) => {
      const e = Buffer.from(entryOf(2 * 8192 + 7));
      e[5] = (e[5] ?? 0) ^ 1;
      db.prepare('UPDATE records SET entry = ? WHERE seq = ?').run(e, 2 * 8192 + 7);
    },
    kind: 'modified',
    seq: 2 * 8192 + 7,
  },
  {
    name: 'the first row of a page deleted',
    edit: (db) => db.prepare('DELETE FROM records WHERE seq = ?').run(3 * 8192),
    kind: 'deleted',
    seq: 3 * 8192,
  },
  {
    name: 'rows swapped across a page boundary',
    edit: (db) => swapRows(db, 8191, 8192),
    kind: 'reordered',
  },
  {
    // Its chain is gone with it, so the next row cannot be told from an edited one.
    name: 'a row deleted and the rest renumbered to hide the gap',
    edit: (db) => {
      db.prepare('DELETE FROM records WHERE seq = ?').run(4 * 8192 + 3);
      renumber(db, 4 * 8192 + 4, -1);
    },
    kind: 'modified',
    seq: 4 * 8192 + 3,
  },
  {
    name: 'an entry stored as TEXT in the last page',
    edit: (db) => db.prepare('UPDATE records SET entry = CAST(entry AS TEXT) WHERE seq = ?').run(ROWS - 2),
    kind: 'malformed-row',
    seq: ROWS - 2,
  },
  {
    name: 'a chain value cut to 31 bytes',
    edit: (db) => db.prepare('UPDATE records SET chain = substr(chain, 1, 31) WHERE seq = ?').run(100),
    kind: 'malformed-row',
    seq: 100,
  },
];

describe('verifier fast paths (pages, worker threads)', () => {
  it('an intact ledger: same report with and without worker threads', () => {
    const [r0, r1, r3] = reports(base.path);
    expect(r0!.ok).toBe(true);
    expect(r0!.size).toBe(ROWS);
    expect(r0!.findings).toEqual([]);
    expect(r0!.checkpoints.every((c) => c.valid)).toBe(true);
    expect(r1).toEqual(r0);
    expect(r3).toEqual(r0);
  });

  for (const c of cases) {
    it(`${c.name}: found, and the same report on every path`, () => {
      const [r0, r1, r3] = reports(edited(c.edit));
      expect(r0!.ok).toBe(false);
      const hit = r0!.findings.find((f) => f.kind === c.kind);
      expect(hit, JSON.stringify(r0!.findings.slice(0, 5))).toBeDefined();
      if (c.seq !== undefined) expect(hit!.seq).toBe(c.seq);
      expect(r1).toEqual(r0);
      expect(r3).toEqual(r0);
    });
  }

  it('worker pages: clean pages of leaves and chains in order; a worker that cannot open the file only yields dirty pages', () => {
    const lastSeq = ROWS - 1;
    const pages = workerPages(base.path, lastSeq, 2)!;
    expect(pages).toBeDefined();
    const counts: number[] = [];
    try {
      for (let k = 0; k * 8192 <= lastSeq; k++) {
        const p = pages.page(k);
        expect(p).toBeDefined();
        expect(p!.leaves).toHaveLength(p!.count * 32);
        expect(p!.chains).toHaveLength(p!.count * 32);
        counts.push(p!.count);
      }
    } finally {
      pages.close();
    }
    expect(counts).toEqual([8192, 8192, 8192, 8192, 8192, 123]);
    const broken = workerPages(`${base.path}.missing`, lastSeq, 2)!;
    try {
      for (let k = 0; k * 8192 <= lastSeq; k++) expect(broken.page(k)).toBeUndefined();
    } finally {
      broken.close();
    }
  });

  it('refuses a bad thread count with E_CONFIG', () => {
    expect(() => verifyLedger(base.path, { keys: [base.vkey], threads: -1 })).toThrow(/threads must be/);
    expect(() => verifyLedger(base.path, { keys: [base.vkey], threads: 1.5 })).toThrow(/threads must be/);
  });
});
