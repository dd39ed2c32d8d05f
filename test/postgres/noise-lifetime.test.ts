// The lifetime cap under concurrency (issue 20, item 4), on both backends: four
// writer processes (the built package) noise records of one unit through four
// budget windows, in step (a file barrier per window, so their clocks agree),
// with a per-window ε budget of 1 and a lifetime cap of 2.5 per unit, and a
// Gaussian field under a ρ budget with its own lifetime cap. Each window would
// allow 4 Laplace values, the lifetime 10 in all; whoever gets them, the
// processes together noise exactly what the caps allow, never more, the rest
// suppressed as budget / budget-exhausted-lifetime, and the lifetime rows say
// exactly what was noised.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lifetimeNoise } from '../../packages/core/src/dp/__tests__/lifetime.js';
import { PgBudgetStore } from '../../packages/core/src/dp/budget-postgres.js';
import { rhoFor } from '../../packages/core/src/dp/calibrate.js';
import { initPgLedger, PgStore } from '../../packages/core/src/store/postgres/index.js';
import { parsePgUrl } from '../../packages/core/src/store/postgres/url.js';
import { SqliteStore } from '../../packages/core/src/store/sqlite.js';
import { runCli } from '../helpers/cli.js';
import { runScript } from '../helpers/node-script.js';
import { createTestDatabase, psql } from '../helpers/postgres.js';

const DIST = join(import.meta.dirname, '../../packages/core/dist');
const WRITERS = 4;
const WINDOWS = 4;
const PER_WINDOW = 12; // records per writer per window: far more than the budget allows
const NOISE = lifetimeNoise(100);
const EPS_COST = 250_000;
const RHO_COST = Math.ceil(rhoFor(2, 1e-6) * 1e9);

const child = `
import fs from 'node:fs';
import { SqliteStore } from ${JSON.stringify(pathToFileURL(join(DIST, 'store/sqlite.js')).href)};
import { createNoiseTransform, validateNoiseConfig } from ${JSON.stringify(pathToFileURL(join(DIST, 'dp/index.js')).href)};
import { parsePgUrl } from ${JSON.stringify(pathToFileURL(join(DIST, 'store/postgres/url.js')).href)};
const o = JSON.parse(process.env.SEALOG_LIFE);
const store = o.url ? undefined : new SqliteStore(o.file, { busyTimeoutMs: 20000 });
let now = 0;
const ctx = store ? { db: store.db } : { postgres: { target: parsePgUrl(o.url), waitMs: 5000 } };
const t = createNoiseTransform(validateNoiseConfig(o.noise), { ...ctx, now: () => now });
const out = [];
for (let w = 0; w < ${WINDOWS}; w++) {
  now = w * 100_000;
  const tally = {};
  for (let i = 0; i < ${PER_WINDOW}; i++) {
    const r = t.apply({ u: 'psn:k1:shared', m: 5, g: 100, i });
    if (r.i !== i) throw new Error('record lost');
    for (const f of ['m', 'g']) {
      const k = f + ':' + (r[f].dp === 'suppressed' ? r[f].reason : 'noised');
      tally[k] = (tally[k] ?? 0) + 1;
    }
  }
  out.push(tally);
  // Barrier: every writer finished window w before anyone moves on.
  fs.writeFileSync(o.dir + '/w' + w + '-' + o.id, '');
  while ([...Array(${WRITERS}).keys()].some((j) => !fs.existsSync(o.dir + '/w' + w + '-' + j)))
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
}
t.close();
store?.close();
process.stdout.write(JSON.stringify(out));
`;

async function runWriter(o: Record<string, unknown>): Promise<Record<string, number>[]> {
  return JSON.parse(await runScript(child, { SEALOG_LIFE: JSON.stringify({ ...o, noise: NOISE }) }));
}

/** Runs the four writers and checks what they noised, per window and in all. */
async function race(target: { file?: string; url?: string }): Promise<{ m: number; g: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'sealog-life-race-'));
  try {
    const outs = await Promise.all(
      Array.from({ length: WRITERS }, (_, id) => runWriter({ ...target, id, dir })),
    );
    const per = (w: number, k: string) => outs.reduce((n, o) => n + (o[w]?.[k] ?? 0), 0);
    // m (ε): 4 per window (1 / 0.25), 10 in a lifetime (2.5 / 0.25): 4, 4, 2, 0.
    // g (ρ): 2 per window (0.15 / 0.0676), 4 in a lifetime (0.3 / 0.0676): 2, 2, 0, 0.
    expect([0, 1, 2, 3].map((w) => per(w, 'm:noised'))).toEqual([4, 4, 2, 0]);
    expect([0, 1, 2, 3].map((w) => per(w, 'g:noised'))).toEqual([2, 2, 0, 0]);
    // Every other value is suppressed with a reason; the lifetime's from window 2 (m) and 2 (g) on.
    expect(per(3, 'm:budget-exhausted-lifetime')).toBe(WRITERS * PER_WINDOW);
    expect(per(2, 'g:budget-exhausted-lifetime')).toBe(WRITERS * PER_WINDOW);
    for (let w = 0; w < WINDOWS; w++)
      for (const f of ['m', 'g'])
        expect(per(w, `${f}:noised`) + per(w, `${f}:budget`) + per(w, `${f}:budget-exhausted-lifetime`)).toBe(
          WRITERS * PER_WINDOW,
        );
    return { m: 10, g: 4 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('four writer processes against a lifetime cap', () => {
  let db: { url: string; drop: () => Promise<void> };
  beforeAll(async () => {
    db = await createTestDatabase('noise_life');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('PostgreSQL: exactly what the window budgets and lifetime caps allow; the lifetime rows say so', async () => {
    const url = `${db.url}?schema=life`;
    await (await PgStore.open(url)).close(); // the ledger's schema exists before the race
    const n = await race({ url });
    const eps = await psql<{ unit: string; spent: string }>(
      db.url,
      'SELECT unit, spent::text FROM life.dp_lifetime',
    );
    const rho = await psql<{ spent: string }>(db.url, 'SELECT spent::text FROM life.dp_lifetime_rho');
    expect(eps).toEqual([{ unit: 'psn:k1:shared', spent: String(n.m * EPS_COST) }]);
    expect(rho.map((r) => Number(r.spent))).toEqual([n.g * RHO_COST]);
    // sealog dp budget reads the same from the server.
    const cli = await runCli(['dp', 'budget', url, '--json']);
    expect(cli.code).toBe(0);
    const j = JSON.parse(cli.out);
    expect(j.lifetime).toEqual([
      { unit: 'psn:k1:shared', epsilon: { spent: 2.5 }, rho: { spent: (n.g * RHO_COST) / 1e9 } },
    ]);
    // Windows 0 and 1 were pruned as the writers moved on; in window 3 the lifetime refused before any window row.
    expect(j.windows).toEqual([
      { unit: 'psn:k1:shared', window: 2, epsilon: { spent: 2 * (EPS_COST / 1e6) } },
    ]);
  });

  it('PostgreSQL: 4 sessions racing over windows never hold more than the lifetime cap; its row agrees (property)', async () => {
    const LIMIT = 100;
    const LIFE = 160;
    const step = fc.record({
      win: fc.integer({ min: 1, max: 3 }),
      need: fc.integer({ min: 1, max: 40 }),
      want: fc.integer({ min: 0, max: 60 }),
      giveBack: fc.integer({ min: 0, max: 30 }),
    });
    let k = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(step, { minLength: 1, maxLength: 10 }), { minLength: 4, maxLength: 4 }),
        async (plan) => {
          const url = `${db.url}?schema=p${k++}`;
          await psql(db.url, `CREATE SCHEMA ${parsePgUrl(url).schema}`);
          const stores = await Promise.all(
            plan.map(() => PgBudgetStore.open(parsePgUrl(url), { lifetime: LIFE })),
          );
          const held = new Map<number, number>();
          try {
            await Promise.all(
              stores.map(async (s, w) => {
                for (const p of plan[w]!) {
                  const g = Math.max(
                    0,
                    await s.take('psn:k1:x', p.win, p.need, Math.max(p.want, p.need), LIMIT),
                  );
                  const back = Math.min(g, p.giveBack);
                  if (back > 0) await s.settle(p.win, [{ unit: 'psn:k1:x', used: 0, unused: back }], false);
                  held.set(p.win, (held.get(p.win) ?? 0) + g - back);
                }
              }),
            );
          } finally {
            await Promise.all(stores.map((s) => s.close()));
          }
          const total = [...held.values()].reduce((a, b) => a + b, 0);
          expect(total).toBeLessThanOrEqual(LIFE);
          for (const v of held.values()) expect(v).toBeLessThanOrEqual(LIMIT);
          const t = parsePgUrl(url).schema;
          const life = await psql<{ spent: string }>(db.url, `SELECT spent::text FROM "${t}".dp_lifetime`);
          expect(Number(life[0]?.spent ?? 0)).toBe(total);
        },
      ),
      { numRuns: 20 },
    );
  });

  it('sealog init creates every budget table (zCDP and lifetime ones too) and grants a writer role each', async () => {
    const url = `${db.url}?schema=initd`;
    await (await PgStore.open(url)).close();
    await psql(
      db.url,
      `DO $$ BEGIN CREATE ROLE life_writer; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
    );
    const sql = await initPgLedger(url, { writer: 'life_writer' });
    const tables = await psql<{ t: string }>(
      db.url,
      `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'initd' AND table_name LIKE 'dp_%' ORDER BY 1`,
    );
    expect(tables.map((r) => r.t)).toEqual(['dp_budget', 'dp_budget_rho', 'dp_lifetime', 'dp_lifetime_rho']);
    for (const t of ['dp_budget', 'dp_budget_rho', 'dp_lifetime', 'dp_lifetime_rho'])
      expect(sql).toContain(`GRANT SELECT, INSERT, UPDATE, DELETE ON "initd"."${t}" TO "life_writer";`);
  });

  it('SQLite: the same', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealog-life-'));
    try {
      const file = join(dir, 'audit.db');
      new SqliteStore(file).close();
      const n = await race({ file });
      const d = new Database(file, { readonly: true });
      expect(d.prepare('SELECT unit, spent FROM dp_lifetime').all()).toEqual([
        { unit: 'psn:k1:shared', spent: n.m * EPS_COST },
      ]);
      expect(d.prepare('SELECT spent FROM dp_lifetime_rho').pluck().all()).toEqual([n.g * RHO_COST]);
      d.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
