// `sealog dp budget` on PostgreSQL budget tables an attacker edited (issue 20,
// item 4): the table owner (or a superuser) can drop the CHECK (spent >= 0)
// and write any row. The reader reports such rows as it does for a file, and
// flags spending over the limit.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, psql } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';

let db: { url: string; drop: () => Promise<void> };
beforeAll(async () => {
  db = await createTestDatabase('dpbudget_hostile');
});
afterAll(async () => {
  await db.drop();
});

describe('sealog dp budget on hostile PostgreSQL budget tables', () => {
  it('reports negative amounts and windows no date holds, escapes units, flags overspending', async () => {
    await psql(db.url, 'CREATE SCHEMA h');
    await psql(
      db.url,
      `CREATE TABLE h.dp_budget (unit text NOT NULL, win bigint NOT NULL, spent bigint NOT NULL,
         granted bigint NOT NULL DEFAULT 0, PRIMARY KEY (unit, win));
       CREATE TABLE h.dp_lifetime (unit text PRIMARY KEY, spent bigint NOT NULL)`,
    );
    await psql(
      db.url,
      `INSERT INTO h.dp_budget (unit, win, spent) VALUES
         ('psn:k1:over', 20790, 50000000), ('psn:k1:neg', 20790, -5),
         ('psn:k1:negwin', -1099511627776, 5), ('psn:k1:farwin', 1099511627776, 5),
         ('psn:k1:big', 20790, 9223372036854775807), ($1, 20790, 1000000)`,
      ['psn:k1:x\u001b[2J\nunit  20790  fake'],
    );
    await psql(db.url, `INSERT INTO h.dp_lifetime VALUES ('psn:k1:neglife', -1)`);
    const config = join(tempDir(), 'noise.json');
    writeFileSync(
      config,
      JSON.stringify({
        unit: 'user.id',
        budget: { epsilon: 4, windowSeconds: 86400 },
        fields: { ms: { mechanism: 'laplace', epsilon: 1, lower: 0, upper: 100, granularity: 1 } },
      }),
    );
    const url = `${db.url}?schema=h`;
    const r = await runCli(['dp', 'budget', url, '--config', config]);
    expect(r.err).not.toContain('Invalid time value');
    expect(r.code).toBe(0);
    expect(r.out).not.toContain('\u001b');
    expect(r.out).toContain('psn:k1:x\\x1b[2J\\nunit  20790  fake');
    expect(r.out).toMatch(/psn:k1:over +20790 +\S+ +50 +OVER by 46 /);
    expect(r.out).toContain('5 hostile row(s) not shown as spending');
    // With the CHECK dropped, the PostgreSQL lease refuses a negative row as the SQLite one does.
    expect(r.out).toContain(
      'dp_budget unit psn:k1:neg window 20790: amount is negative; fails closed: writers count the unit as fully spent in that window',
    );
    expect(r.out).toContain('psn:k1:big window 20790: amount is too large to have been spent; fails closed');
    expect(r.out).toContain('dp_budget unit psn:k1:negwin: window is out of range');
    expect(r.out).toContain('dp_budget unit psn:k1:farwin window 1099511627776: window is out of range');
    expect(r.out).toContain('dp_lifetime unit psn:k1:neglife: amount is negative');
    const j = JSON.parse((await runCli(['dp', 'budget', url, '--config', config, '--json'])).out);
    expect(j.overspent).toBe(1);
    expect(j.skipped).toBe(5);
  });
});
