// ε budgets in a PostgreSQL ledger (issue 20, item 1) against the real server:
// the lease statement under concurrent sessions (property test), the same race
// harness catching a read-then-write store (so it can fail), and the bridge the
// synchronous noise transform uses (late answers spend nothing).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AsyncBudgetStore } from '../../packages/core/src/dp/budget.js';
import { BridgedBudgetStore } from '../../packages/core/src/dp/budget-bridge.js';
import { ensureBudgetTable, PgBudgetStore } from '../../packages/core/src/dp/budget-postgres.js';
import { SessionSlot } from '../../packages/core/src/store/postgres/connect.js';
import { parsePgUrl } from '../../packages/core/src/store/postgres/url.js';
import { createTestDatabase, psql } from '../helpers/postgres.js';

let db: { url: string; drop: () => Promise<void> };
let n = 0;
/** A fresh schema, as a ledger's (the budget table goes beside the ledger's tables). */
const schemaUrl = async (): Promise<string> => {
  const schema = `b${n++}`;
  await psql(db.url, `CREATE SCHEMA ${schema}`);
  return `${db.url}?schema=${schema}`;
};
const spentOf = async (url: string, unit: string, win = 1): Promise<number> => {
  const t = parsePgUrl(url);
  const r = await psql<{ spent: string }>(
    db.url,
    `SELECT spent::text FROM "${t.schema}".dp_budget WHERE unit = $1 AND win = $2`,
    [unit, win],
  );
  return r.length === 0 ? 0 : Number(r[0]!.spent);
};

beforeAll(async () => {
  db = await createTestDatabase('pgbudget');
});
afterAll(async () => {
  await db.drop();
});

/**
 * `writers` stores race to take leases of one unit; each gives back part of some
 * leases. Returns what they hold (granted − given back) and what was refused
 * despite room, for the caller to compare with the table.
 */
async function race(
  stores: AsyncBudgetStore[],
  plan: { need: number; want: number; giveBack: number }[][],
  limit: number,
): Promise<{ held: number; badGrant: boolean }> {
  let held = 0;
  let badGrant = false;
  await Promise.all(
    stores.map(async (s, w) => {
      for (const step of plan[w] ?? []) {
        const g = await s.take('psn:k1:race', 1, step.need, step.want, limit);
        if (g !== 0 && (g < step.need || g > step.want)) badGrant = true;
        held += g;
        const back = Math.min(g, step.giveBack);
        if (back > 0) {
          await s.settle(1, [{ unit: 'psn:k1:race', used: 0, unused: back }], false);
          held -= back;
        }
      }
    }),
  );
  return { held, badGrant };
}

const planArb = fc.array(
  fc.array(
    fc.record({
      need: fc.integer({ min: 1, max: 40 }),
      want: fc.integer({ min: 0, max: 60 }),
      giveBack: fc.integer({ min: 0, max: 30 }),
    }),
    { minLength: 1, maxLength: 12 },
  ),
  { minLength: 4, maxLength: 4 },
);

/** The racing harness's verdict on a store: never more held than the limit, and the table agrees. */
async function overspends(
  open: (url: string) => Promise<AsyncBudgetStore>,
  plan: { need: number; want: number; giveBack: number }[][],
  limit: number,
): Promise<boolean> {
  const url = await schemaUrl();
  const first = await open(url);
  const stores = [first, ...(await Promise.all([1, 2, 3].map(() => open(url))))];
  try {
    const fixed = plan.map((w) => w.map((s) => ({ ...s, want: Math.max(s.want, s.need) })));
    const { held, badGrant } = await race(stores, fixed, limit);
    expect(badGrant).toBe(false);
    const spent = await spentOf(url, 'psn:k1:race');
    return held > limit || spent > limit || spent !== held;
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
}

describe('PgBudgetStore', () => {
  it('grants at least `need` or nothing, and never more than the limit to 4 racing sessions (property)', async () => {
    await fc.assert(
      fc.asyncProperty(planArb, fc.integer({ min: 1, max: 200 }), async (plan, limit) => {
        expect(await overspends((u) => PgBudgetStore.open(parsePgUrl(u)), plan, limit)).toBe(false);
      }),
      { numRuns: 25 },
    );
  });

  it('the same race catches a lease that reads, then writes (so the property can fail)', async () => {
    // Four sessions each take 10 of a limit of 40, eight times: a store that
    // reads `spent` and writes `spent + grant` in two statements lets them all
    // read the same value, so they hold more than 40 (or disagree with the table).
    const racy = async (url: string): Promise<AsyncBudgetStore> => {
      const real = await PgBudgetStore.open(parsePgUrl(url));
      const t = parsePgUrl(url);
      const q = `"${t.schema}".dp_budget`;
      return {
        async take(unit, win, need, want, limit) {
          const rows = await psql<{ spent: string }>(
            db.url,
            `SELECT spent::text FROM ${q} WHERE unit = $1 AND win = $2`,
            [unit, win],
          );
          const spent = rows.length === 0 ? 0 : Number(rows[0]!.spent);
          // Let the other sessions read the same value before this one writes.
          await new Promise((r) => setTimeout(r, 30));
          const grant = limit - spent >= need ? Math.min(want, limit - spent) : 0;
          if (grant > 0)
            await psql(
              db.url,
              `INSERT INTO ${q} (unit, win, spent) VALUES ($1, $2, $3) ON CONFLICT (unit, win) DO UPDATE SET spent = excluded.spent`,
              [unit, win, spent + grant],
            );
          return grant;
        },
        settle: (w, e, r) => real.settle(w, e, r),
        prune: (w) => real.prune(w),
        close: () => real.close(),
      };
    };
    const plan = Array.from({ length: 4 }, () =>
      Array.from({ length: 8 }, () => ({ need: 10, want: 10, giveBack: 0 })),
    );
    expect(await overspends(racy, plan, 40)).toBe(true);
  });

  it('gives unused leases back and prunes old windows', async () => {
    const url = await schemaUrl();
    const s = await PgBudgetStore.open(parsePgUrl(url));
    try {
      expect(await s.take('psn:k1:a', 1, 5, 30, 100)).toBe(30);
      expect(await s.take('psn:k1:a', 1, 5, 100, 100)).toBe(70);
      expect(await s.take('psn:k1:a', 1, 1, 1, 100)).toBe(0);
      await s.settle(1, [{ unit: 'psn:k1:a', used: 0, unused: 25 }], true);
      expect(await spentOf(url, 'psn:k1:a')).toBe(75);
      expect(await s.take('psn:k1:a', 1, 26, 26, 100)).toBe(0);
      expect(await s.take('psn:k1:a', 1, 25, 26, 100)).toBe(25);
      expect(await s.take('psn:k1:a', 0, 1, 1, 100)).toBe(1);
      await s.prune(1);
      expect(await spentOf(url, 'psn:k1:a', 0)).toBe(0);
      expect(await spentOf(url, 'psn:k1:a', 1)).toBe(100);
    } finally {
      await s.close();
    }
  });
});

describe('planted amounts', () => {
  it('the budget tables refuse a negative amount (a planted −1e15 lifted SQLite caps; here the CHECK holds)', async () => {
    const url = await schemaUrl();
    const s = await PgBudgetStore.open(parsePgUrl(url), { lifetime: 100 });
    await s.close();
    const { schema } = parsePgUrl(url);
    await expect(
      psql(
        db.url,
        `INSERT INTO "${schema}".dp_budget (unit, win, spent) VALUES ('psn:k1:a', 1, -1000000000000000)`,
      ),
    ).rejects.toThrow(/check constraint/);
    await expect(
      psql(db.url, `INSERT INTO "${schema}".dp_lifetime (unit, spent) VALUES ('psn:k1:a', -1)`),
    ).rejects.toThrow(/check constraint/);
  });
});

describe('a negative amount with the CHECK dropped (the table owner edited it)', () => {
  it('fails closed: no lease from a negative window or lifetime row, and no give-back or spending turns it into room', async () => {
    const url = await schemaUrl();
    const { schema } = parsePgUrl(url);
    const s = await PgBudgetStore.open(parsePgUrl(url), { lifetime: 100 });
    try {
      await psql(db.url, `ALTER TABLE "${schema}".dp_budget DROP CONSTRAINT dp_budget_spent_check`);
      await psql(db.url, `ALTER TABLE "${schema}".dp_lifetime DROP CONSTRAINT dp_lifetime_spent_check`);
      // Window row planted negative; lifetime row fine: the window refuses.
      await psql(
        db.url,
        `INSERT INTO "${schema}".dp_budget (unit, win, spent) VALUES ('psn:k1:w', 1, -1000000)`,
      );
      expect(await s.take('psn:k1:w', 1, 10, 10, 100)).toBeLessThanOrEqual(0);
      await s.settle(1, [{ unit: 'psn:k1:w', used: 0, unused: 10 }]);
      await s.settle(1, [{ unit: 'psn:k1:w', used: 5, unused: 0 }]);
      expect(await spentOf(url, 'psn:k1:w')).toBe(-1000000);
      // Lifetime row planted negative: refused in every window.
      await psql(db.url, `INSERT INTO "${schema}".dp_lifetime (unit, spent) VALUES ('psn:k1:l', -5)`);
      expect(await s.take('psn:k1:l', 2, 10, 10, 100)).toBeLessThanOrEqual(0);
      expect(await spentOf(url, 'psn:k1:l', 2)).toBe(0);
      // A sound unit beside them still gets its lease.
      expect(await s.take('psn:k1:ok', 1, 10, 10, 100)).toBe(10);
    } finally {
      await s.close();
    }
  });
});

describe('a lifetime table seeded from a window table holding a negative amount', () => {
  it('starts the unit fully spent instead of lowering its seed by the planted amount (red team: 7 values under a cap of 4)', async () => {
    const url = await schemaUrl();
    const { schema } = parsePgUrl(url);
    const plain = await PgBudgetStore.open(parsePgUrl(url));
    expect(await plain.take('psn:k1:s', 1, 4_000_000, 4_000_000, 4_000_000)).toBe(4_000_000);
    expect(await plain.take('psn:k1:fine', 1, 1_000_000, 1_000_000, 4_000_000)).toBe(1_000_000);
    await plain.close();
    await psql(db.url, `ALTER TABLE "${schema}".dp_budget DROP CONSTRAINT dp_budget_spent_check`);
    await psql(
      db.url,
      `INSERT INTO "${schema}".dp_budget (unit, win, spent) VALUES ('psn:k1:s', 0, -3000000)`,
    );
    // The cap is turned on now: dp_lifetime is created and seeded from dp_budget.
    const capped = await PgBudgetStore.open(parsePgUrl(url), { lifetime: 4_000_000 });
    try {
      expect(await capped.take('psn:k1:s', 2, 1_000_000, 1_000_000, 4_000_000)).toBeLessThanOrEqual(0);
      // A sound unit is seeded with what it spent: 3 of its cap's 4 are left.
      expect(await capped.take('psn:k1:fine', 2, 3_000_000, 3_000_000, 4_000_000)).toBe(3_000_000);
    } finally {
      await capped.close();
    }
  });
});

describe('a lifetime cap turned on after `sealog init` made the tables', () => {
  it("counts the unit's earlier window spending, as when the cap made the table (red team round 3: 8 under a cap of 4)", async () => {
    const url = await schemaUrl();
    const t = parsePgUrl(url);
    const slot = new SessionSlot(t);
    await ensureBudgetTable(slot, t); // what `sealog init` does: every table, before any spending
    await slot.close();
    const plain = await PgBudgetStore.open(t);
    expect(await plain.take('psn:k1:u', 1, 4, 4, 4)).toBe(4);
    await plain.close();
    const capped = await PgBudgetStore.open(t, { lifetime: 4 });
    try {
      expect(await capped.take('psn:k1:u', 2, 4, 4, 4)).toBeLessThanOrEqual(0);
      expect(await capped.take('psn:k1:new', 2, 4, 4, 4)).toBe(4);
    } finally {
      await capped.close();
    }
  });
});

describe('BridgedBudgetStore (the synchronous facade the noise transform uses)', () => {
  it('takes synchronously; a take answered late is suppressed, given back, and nothing waits again meanwhile', async () => {
    const url = await schemaUrl();
    const t = parsePgUrl(url);
    const bridge = new BridgedBudgetStore({ target: t, waitMs: 200 });
    try {
      expect(bridge.take('psn:k1:b', 1, 10, 10, 100)).toBe(10);
      // Another session holds the unit's row lock: the next take cannot be answered in time.
      const pg = (await import('pg')).default;
      const locker = new pg.Client({ connectionString: db.url });
      await locker.connect();
      try {
        await locker.query('BEGIN');
        await locker.query(`SELECT spent FROM "${t.schema}".dp_budget WHERE unit = 'psn:k1:b' FOR UPDATE`);
        expect(() => bridge.take('psn:k1:b', 1, 10, 10, 100)).toThrow(/did not answer/);
        // Still busy with the abandoned take: fails at once instead of waiting again.
        expect(() => bridge.take('psn:k1:c', 1, 10, 10, 100)).toThrow(/still busy/);
        await locker.query('COMMIT');
      } finally {
        await locker.end();
      }
      // The abandoned take committed after the lock was released, and the worker gave it back.
      let spent = -1;
      for (let i = 0; i < 200 && spent !== 10; i++) {
        await new Promise((r) => setTimeout(r, 50));
        spent = await spentOf(url, 'psn:k1:b');
      }
      expect(spent).toBe(10);
      let granted: number | undefined;
      for (let i = 0; i < 200 && granted === undefined; i++) {
        try {
          granted = bridge.take('psn:k1:b', 1, 10, 10, 100);
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      expect(granted).toBe(10);
      expect(await spentOf(url, 'psn:k1:b')).toBe(20);
    } finally {
      bridge.close();
    }
  });

  it('fails at startup, naming the server without its password, when it cannot connect', () => {
    expect(
      () => new BridgedBudgetStore({ target: parsePgUrl('postgres://me:s3cret@127.0.0.1:1/nowhere') }),
    ).toThrow(expect.objectContaining({ code: 'E_IO', message: expect.not.stringContaining('s3cret') }));
  });
});
