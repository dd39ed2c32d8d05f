import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../../test/helpers/cli.js';
import { tempDir } from '../../../../test/helpers/tmp.js';

// `sealog dp budget` on hostile and very large budget tables (issue 20, item 4):
// tables are built by hand, as an attacker with write access to the file would.

const noise = {
  unit: 'user.id',
  budget: { epsilon: 4, windowSeconds: 86400, lifetime: { epsilon: 8 } },
  fields: { ms: { mechanism: 'laplace', epsilon: 1, lower: 0, upper: 100, granularity: 1 } },
};
const WIN = 20790;
const M = 1_000_000; // micro-ε per ε

/** A ledger file holding only the ε budget tables, and a config file for it. */
function ledger(fill: (db: Database.Database) => void): { file: string; config: string } {
  const dir = tempDir();
  const file = join(dir, 'audit.db');
  const db = new Database(file);
  db.exec(`CREATE TABLE dp_budget (unit TEXT NOT NULL, win INTEGER NOT NULL, spent INTEGER NOT NULL,
      PRIMARY KEY (unit, win)) WITHOUT ROWID;
    CREATE TABLE dp_lifetime (unit TEXT NOT NULL PRIMARY KEY, spent INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE dp_reserve (win INTEGER NOT NULL, owner TEXT NOT NULL, amount INTEGER NOT NULL,
      PRIMARY KEY (win, owner)) WITHOUT ROWID`);
  db.transaction(() => fill(db))();
  db.close();
  const config = join(dir, 'noise.json');
  writeFileSync(config, JSON.stringify(noise));
  return { file, config };
}
const put = (db: Database.Database, unit: unknown, win: unknown, spent: unknown) =>
  db.prepare('INSERT INTO dp_budget VALUES (?, ?, ?)').run(unit, win, spent);

describe('sealog dp budget on large and hostile tables', () => {
  it('prints 125000 unit-window rows: the first 1000 in text (the rest counted), all in --json', async () => {
    const N = 125_000;
    const { file, config } = ledger((db) => {
      for (let i = 0; i < N; i++) put(db, `psn:k1:u${String(i).padStart(6, '0')}`, WIN, M);
    });
    const t = await runCli(['dp', 'budget', file, '--config', config]);
    expect(t.err).not.toContain('Maximum call stack');
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/^unit +window +start +ε spent/);
    expect(t.out).toContain('psn:k1:u000999 ');
    expect(t.out).not.toContain('psn:k1:u001000');
    expect(t.out).toContain(
      `… ${N - 1000} more window rows not shown: use --unit <pseudonym> for one unit, or --json for all`,
    );
    const j = await runCli(['dp', 'budget', file, '--config', config, '--json']);
    expect(j.code).toBe(0);
    const parsed = JSON.parse(j.out);
    expect(parsed.windows).toHaveLength(N);
    expect(parsed.windows[N - 1]).toMatchObject({
      unit: 'psn:k1:u124999',
      epsilon: { spent: 1, remaining: 3 },
    });
    // Written in pieces, the JSON is exactly what one JSON.stringify would print.
    expect(j.out).toBe(`${JSON.stringify(parsed, null, 2)}\n`);
  });

  it('reports windows no date can hold as hostile rows instead of failing (--config)', async () => {
    const { file, config } = ledger((db) => {
      put(db, 'psn:k1:ok', WIN, M);
      put(db, 'psn:k1:negwin', -(2 ** 40), 5);
      put(db, 'psn:k1:farwin', 2 ** 40, 5);
      put(db, 'psn:k1:hugewin', 2n ** 62n, 5);
    });
    const r = await runCli(['dp', 'budget', file, '--config', config]);
    expect(r.err).not.toContain('Invalid time value');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/psn:k1:ok +20790 +2026-12-03T00:00:00\.000Z +1 +3 /);
    expect(r.out).toContain('3 hostile row(s) not shown as spending');
    expect(r.out).toContain(
      `dp_budget unit psn:k1:negwin: window is out of range; no writer spends in that window`,
    );
    expect(r.out).toContain(`dp_budget unit psn:k1:farwin window ${2 ** 40}: window is out of range`);
    expect(r.out).toContain('dp_budget unit psn:k1:hugewin: window is out of range');
    const j = JSON.parse((await runCli(['dp', 'budget', file, '--config', config, '--json'])).out);
    expect(j.windows.map((w: { unit: string }) => w.unit)).toEqual(['psn:k1:ok']);
    expect(j.skipped).toBe(3);
    expect(j.hostile).toHaveLength(3);
  });

  it('escapes control characters in units: no screen clearing, no forged rows', async () => {
    const evil = 'psn:k1:x\u001b[2J\u001b[31mRED\u001b[0m\nunit  20790  -  0  fake';
    const { file, config } = ledger((db) => {
      put(db, evil, WIN, M);
      put(db, 'psn:k1:neg\u001b[2J\r', WIN, -5);
      put(db, `psn:k1:${'A'.repeat(5000)}`, WIN, M);
      db.prepare('INSERT INTO dp_lifetime VALUES (?, ?)').run(`${evil}\u2028`, M);
    });
    for (const args of [[], ['--config', config]]) {
      const r = await runCli(['dp', 'budget', file, ...args]);
      expect(r.code).toBe(0);
      expect(r.out).not.toMatch(/[\u001b\r\u2028]/);
      expect(r.out).not.toMatch(/^unit +20790/m);
      expect(r.out).toContain('psn:k1:x\\x1b[2J\\x1b[31mRED\\x1b[0m\\nunit  20790  -  0  fake');
      expect(r.out).toContain('unit psn:k1:neg\\x1b[2J\\r window 20790: amount is negative');
      expect(r.out).toContain('\\u2028');
      // A hand-written unit longer than any pseudonym is cut: it cannot widen the table past reading.
      expect(r.out).toContain(`psn:k1:${'A'.repeat(94)}…`);
      expect(Math.max(...r.out.split('\n').map((l) => l.length))).toBeLessThan(300);
    }
  });

  it('flags spending over the limit in text and JSON', async () => {
    const { file, config } = ledger((db) => {
      put(db, 'psn:k1:over', WIN, 50 * M);
      put(db, 'psn:k1:fine', WIN, 4 * M);
      db.prepare('INSERT INTO dp_lifetime VALUES (?, ?)').run('psn:k1:over', 50 * M);
    });
    const r = await runCli(['dp', 'budget', file, '--config', config]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/psn:k1:over +20790 +\S+ +50 +OVER by 46 /);
    expect(r.out).toMatch(/psn:k1:fine +20790 +\S+ +4 +0 /);
    expect(r.out).toMatch(/lifetime:\n.*\npsn:k1:over +50 +OVER by 42 /);
    expect(r.out).toContain(
      '2 budget(s) spent more than their limit (OVER): the limit was lowered since, the table was edited, or a bug overspent',
    );
    const j = JSON.parse((await runCli(['dp', 'budget', file, '--config', config, '--json'])).out);
    expect(j.overspent).toBe(2);
    expect(j.windows[1]).toMatchObject({
      unit: 'psn:k1:over',
      epsilon: { spent: 50, limit: 4, remaining: 0, overspent: true },
    });
    expect(j.windows[0].epsilon.overspent).toBeUndefined();
    expect(j.lifetime[0].epsilon).toMatchObject({ spent: 50, limit: 8, overspent: true });
  });

  it('reports negative, non-finite, fractional and oversized amounts, and hostile reservations, as failing closed', async () => {
    const { file, config } = ledger((db) => {
      put(db, 'psn:k1:neg', WIN, -5);
      put(db, 'psn:k1:inf', WIN, Number.POSITIVE_INFINITY);
      put(db, 'psn:k1:frac', WIN, 0.5);
      put(db, 'psn:k1:real', WIN, 1e300);
      put(db, 'psn:k1:big', WIN, 2n ** 63n - 1n);
      put(db, 'psn:k1:blob', WIN, Buffer.from([1, 2]));
      db.prepare('INSERT INTO dp_lifetime VALUES (?, ?)').run('psn:k1:life', -1);
      db.prepare('INSERT INTO dp_reserve VALUES (?, ?, ?)').run(WIN, 'x', -1e15);
      db.prepare('INSERT INTO dp_reserve VALUES (?, ?, ?)').run(WIN, 'a', 250_000);
      db.prepare('INSERT INTO dp_reserve VALUES (?, ?, ?)').run(WIN, 'b', 250_000);
    });
    const r = await runCli(['dp', 'budget', file, '--config', config]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('no window budgets stored\n');
    const closed = 'fails closed: writers count the unit as fully spent in that window';
    expect(r.out).toContain('8 hostile row(s) not shown as spending (hand-edited?):\n');
    expect(r.out).toContain(`dp_budget unit psn:k1:neg window 20790: amount is negative; ${closed}`);
    expect(r.out).toContain(`dp_budget unit psn:k1:inf window 20790: amount is not finite; ${closed}`);
    expect(r.out).toContain(`psn:k1:real window 20790: amount is too large to have been spent; ${closed}`);
    expect(r.out).toContain(`psn:k1:big window 20790: amount is too large to have been spent; ${closed}`);
    expect(r.out).toContain(`psn:k1:blob window 20790: amount is not a number; ${closed}`);
    expect(r.out).toContain(`psn:k1:frac window 20790: amount is not a whole number; ${closed}`);
    expect(r.out).toContain(
      "dp_lifetime unit psn:k1:life: amount is negative; fails closed: writers count the unit's lifetime budget as fully spent",
    );
    expect(r.out).toContain(
      "dp_reserve window 20790: amount is negative; fails closed: writers count every unit's budget in that window as fully spent",
    );
    // The two sound reservations are shown: they are taken out of every unit's budget in the window.
    expect(r.out).toMatch(
      /reserved by writers .*\nwindow +start +budget +writers +reserved\n20790 +2026-12-03\S+ +ε +2 +0\.5\n/,
    );
    const j = JSON.parse((await runCli(['dp', 'budget', file, '--json'])).out);
    expect(j.skipped).toBe(8);
    expect(j.hostile).toContainEqual({
      table: 'dp_budget',
      unit: 'psn:k1:neg',
      window: WIN,
      reason: 'amount is negative',
      effect: closed,
    });
    expect(j.reservations).toEqual([{ window: WIN, currency: 'epsilon', writers: 2, reserved: 0.5 }]);
  });

  it('lists the first 20 hostile rows and counts the rest', async () => {
    const { file } = ledger((db) => {
      for (let i = 0; i < 30; i++) put(db, `psn:k1:n${String(i).padStart(2, '0')}`, WIN, -1);
    });
    const r = await runCli(['dp', 'budget', file]);
    expect(r.out).toContain('30 hostile row(s) not shown as spending');
    expect(r.out).toContain('psn:k1:n19 window');
    expect(r.out).not.toContain('psn:k1:n20 window');
    expect(r.out).toContain('  … and 10 more\n');
  });
});
