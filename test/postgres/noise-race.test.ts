// Noise through the real sink on both backends (issue 20, item 1): four writer
// processes (openSink from the built package, as an application runs it) race
// to spend one unit's ε budget in one ledger. Afterwards the ledger holds at
// most the budget's worth of noised values, exactly what the budget table says
// was spent, and neither the raw metric value nor the raw unit anywhere: every
// table of the PostgreSQL schema is dumped as text, every SQLite file is read
// byte for byte.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSink } from '../../packages/core/src/index.js';
import { PgStore } from '../../packages/core/src/store/postgres/index.js';
import { SqliteStore } from '../../packages/core/src/store/sqlite.js';
import { runScript } from '../helpers/node-script.js';
import { createTestDatabase, psql } from '../helpers/postgres.js';

const DIST = join(import.meta.dirname, '../../packages/core/dist/index.js');
const WRITERS = 4;
const RECORDS = 300;
/** Sentinels: neither may appear anywhere in storage. The metric is off the grid, so no noised value equals it. */
const RAW_METRIC = 4.718281828;
const RAW_UNIT = `raw-unit-${randomBytes(6).toString('hex')}`;
const COST = 250_000; // micro-ε per record (ε 0.25)
const LIMIT = 4_000_000; // ε 4 per unit per window: 16 noised values in all
const NOISE = {
  unit: 'user.id',
  // One window for the whole test, whatever the time of day.
  budget: { epsilon: 4, windowSeconds: 1_000_000_000 },
  fields: { m: { mechanism: 'laplace', epsilon: 0.25, lower: 0, upper: 10, granularity: 1 } },
};

const child = `
import { openSink } from ${JSON.stringify(pathToFileURL(DIST).href)};
const o = JSON.parse(process.env.SEALOG_RACE);
const errors = [];
const sink = await openSink({
  path: o.path, batchSize: 50, batchDelayMs: 20,
  privacy: {
    pseudonymize: { paths: ['user.id'], keys: [{ id: 'k1', env: 'SEALOG_TEST_PSN' }], current: 'k1' },
    noise: o.noise,
  },
}, { onError: (e) => errors.push(e.code) });
await new Promise((r) => setTimeout(r, Math.max(0, o.startAt - Date.now())));
for (let i = 0; i < o.records; i++) {
  sink.write({ w: o.id, i, user: { id: o.unit }, m: o.metric });
  if (i % 25 === 24) await new Promise((r) => setImmediate(r));
}
await sink.close();
process.stdout.write(JSON.stringify({ errors }));
`;

async function runWriter(
  path: string,
  id: number,
  startAt: number,
  psnKey: string,
): Promise<{ errors: string[] }> {
  const o = { path, id, startAt, records: RECORDS, unit: RAW_UNIT, metric: RAW_METRIC, noise: NOISE };
  const out = await runScript(child, { SEALOG_RACE: JSON.stringify(o), SEALOG_TEST_PSN: psnKey }).catch(
    (e) => {
      throw new Error(`writer ${id}: ${(e as Error).message}`);
    },
  );
  return JSON.parse(out);
}

async function race(path: string): Promise<void> {
  const psnKey = randomBytes(32).toString('base64');
  const startAt = Date.now() + 1500; // every process opened its sink by then
  const outs = await Promise.all(
    Array.from({ length: WRITERS }, (_, id) => runWriter(path, id, startAt, psnKey)),
  );
  // A take answered late is reported only as a suppressed field, never as an error.
  for (const o of outs) expect(o.errors).toEqual([]);
}

/** The race's records, by what happened to the metric. */
function tally(entries: Buffer[]): {
  noised: number;
  suppressed: Record<string, number>;
  units: Set<string>;
} {
  let noised = 0;
  const suppressed: Record<string, number> = {};
  const units = new Set<string>();
  for (const e of entries) {
    const r = JSON.parse(e.toString('utf8')) as {
      w?: number;
      user?: { id: string };
      m?: { dp: string; reason?: string };
    };
    if (r.w === undefined) continue;
    units.add(String(r.user?.id));
    if (r.m?.dp === 'laplace') noised++;
    else if (r.m?.dp === 'suppressed') suppressed[r.m.reason!] = (suppressed[r.m.reason!] ?? 0) + 1;
    else throw new Error(`a metric neither noised nor suppressed: ${JSON.stringify(r.m)}`);
  }
  expect(noised + Object.values(suppressed).reduce((a, b) => a + b, 0)).toBe(WRITERS * RECORDS);
  return { noised, suppressed, units };
}

/** Every way the sentinels could be written: as text, and as the hex PostgreSQL prints bytea in. */
function leaks(haystack: string): string[] {
  const needles = [String(RAW_METRIC), RAW_UNIT];
  return needles.flatMap((s) => [s, Buffer.from(s).toString('hex')]).filter((s) => haystack.includes(s));
}

describe('four writer processes race for one unit’s ε budget', () => {
  let db: { url: string; drop: () => Promise<void> };
  beforeAll(async () => {
    db = await createTestDatabase('noise_race');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('PostgreSQL: never overspent, every noised value paid for, no raw value in any table', async () => {
    const url = `${db.url}?schema=race`;
    await (await PgStore.open(url)).close(); // the ledger exists before the race
    await race(url);

    const entries = (
      await psql<{ entry: Buffer }>(db.url, 'SELECT entry FROM race.records ORDER BY seq')
    ).map((r) => r.entry);
    const { noised, suppressed, units } = tally(entries);
    const budget = await psql<{ unit: string; spent: string }>(
      db.url,
      'SELECT unit, spent::text FROM race.dp_budget',
    );
    expect(budget).toHaveLength(1);
    const spent = Number(budget[0]!.spent);
    expect(spent).toBeLessThanOrEqual(LIMIT);
    // Every lease is one record's cost, so what is spent is exactly what was noised (late takes were given back).
    expect(spent).toBe(noised * COST);
    expect(noised).toBeGreaterThan(0);
    expect(suppressed.budget).toBeGreaterThan(0);
    // The unit is stored as its pseudonym, in the records and in the budget table.
    expect([...units]).toEqual([budget[0]!.unit]);
    expect(budget[0]!.unit).toMatch(/^psn:k1:/);

    const tables = await psql<{ t: string }>(
      db.url,
      `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'race' ORDER BY 1`,
    );
    expect(tables.map((r) => r.t)).toEqual(expect.arrayContaining(['dp_budget', 'records', 'ledger_state']));
    let dump = '';
    for (const { t } of tables) {
      for (const row of await psql<{ r: string }>(db.url, `SELECT x::text AS r FROM race."${t}" x`))
        dump += `${row.r}\n`;
    }
    expect(dump).toContain('psn:k1:'); // the dump does show stored text
    expect(leaks(dump)).toEqual([]);
  });

  it('PostgreSQL with pool workers (workers: 2): each worker leases from the same table', async () => {
    const url = `${db.url}?schema=pool`;
    process.env.SEALOG_TEST_PSN = randomBytes(32).toString('base64');
    const errors: string[] = [];
    const sink = await openSink(
      {
        path: url,
        workers: 2,
        privacy: {
          pseudonymize: { paths: ['user.id'], keys: [{ id: 'k1', env: 'SEALOG_TEST_PSN' }], current: 'k1' },
          noise: NOISE,
        },
      },
      { onError: (e) => errors.push(e.code) },
    );
    for (let i = 0; i < 150; i++)
      sink.write({ w: 0, i, user: { id: `${RAW_UNIT}-${i % 3}` }, m: RAW_METRIC });
    await sink.close();
    expect(errors).toEqual([]);
    const rows = await psql<{ entry: Buffer }>(db.url, 'SELECT entry FROM pool.records ORDER BY seq');
    const noised = new Map<string, number>();
    for (const { entry } of rows) {
      const r = JSON.parse(entry.toString('utf8')) as { user?: { id: string }; m?: { dp: string } };
      if (r.m?.dp === 'laplace') noised.set(r.user!.id, (noised.get(r.user!.id) ?? 0) + 1);
    }
    const budget = await psql<{ unit: string; spent: string }>(
      db.url,
      'SELECT unit, spent::text FROM pool.dp_budget',
    );
    expect(budget).toHaveLength(3);
    for (const b of budget) {
      expect(Number(b.spent)).toBeLessThanOrEqual(LIMIT);
      expect(Number(b.spent), b.unit).toBe((noised.get(b.unit) ?? 0) * COST);
    }
    expect([...noised.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  it('SQLite: never overspent, every noised value paid for, no raw value in any file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealog-noise-race-'));
    try {
      const file = join(dir, 'audit.db');
      new SqliteStore(file).close();
      await race(file);
      const d = new Database(file, { readonly: true });
      const entries = d.prepare('SELECT entry FROM records ORDER BY seq').pluck().all() as Buffer[];
      const spent = d.prepare('SELECT spent FROM dp_budget').pluck().all() as number[];
      d.close();
      const { noised } = tally(entries);
      expect(spent).toHaveLength(1);
      expect(spent[0]).toBeLessThanOrEqual(LIMIT);
      expect(spent[0]).toBe(noised * COST);
      expect(noised).toBe(LIMIT / COST);
      for (const f of readdirSync(dir)) {
        const bytes = readFileSync(join(dir, f)).toString('latin1');
        expect(leaks(bytes), f).toEqual([]);
      }
      expect(existsSync(file)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
