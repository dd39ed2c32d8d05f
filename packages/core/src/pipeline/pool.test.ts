import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SealogError } from '../errors.js';
import { validatePrivacyConfig } from '../privacy/config.js';
import { SqliteStore } from '../store/sqlite.js';
import { openPreparer, prepareLines } from './decoders.js';
import { kWorkers, type PoolSpec, type PreparedBatch, PreparePool, parts } from './pool.js';

// The prepare pool runs the built worker (dist/pipeline/pool-worker.js): build first.
// Decoders are the test-only ones in __tests__/decoders.mjs, loaded by each worker.
const WORKER = fileURLToPath(new URL('../../dist/pipeline/pool-worker.js', import.meta.url));
const DECODERS = new URL('./__tests__/decoders.mjs', import.meta.url).href;

let dir: string;
beforeAll(() => {
  expect(existsSync(WORKER), 'build @sealog/core first (pnpm build)').toBe(true);
  dir = mkdtempSync(join(tmpdir(), 'sealog-pool-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function spec(
  name: string,
  size: number,
  config: unknown = {},
  sink: PoolSpec['sink'] = { path: '' },
): PoolSpec {
  return {
    size,
    decoder: { module: DECODERS, name, config },
    sink: { ...sink, path: sink.path || join(dir, 'x.db') },
  };
}

const parsed = (b: PreparedBatch) => b.entries().map((e) => JSON.parse(e.entry.toString('utf8')));

async function opened(s: PoolSpec): Promise<{ pool: PreparePool; warnings: SealogError[] }> {
  const warnings: SealogError[] = [];
  const pool = await PreparePool.open(s, (e) => warnings.push(e));
  return { pool, warnings };
}

describe('PreparePool order', () => {
  it('resolves batches in submission order while workers finish them out of order', async () => {
    const { pool } = await opened(spec('traced', 2));
    try {
      let id = 0;
      const line = (spin: number) => JSON.stringify({ id: id++, spin });
      // Batch 0 is slow; batch 1 goes to the other (idle) worker and finishes first.
      const texts = [[line(400), line(400)].join('\n'), line(0)];
      for (let k = 0; k < 30; k++)
        texts.push(Array.from({ length: 1 + ((k * 7) % 13) }, () => line(k % 3)).join('\n'));
      const resolved: number[] = [];
      const batches = await Promise.all(
        texts.map((t, k) =>
          pool.prepare(t, 1).then((b) => {
            resolved.push(k);
            return b;
          }),
        ),
      );
      expect(resolved).toEqual(texts.map((_, k) => k));
      const records = batches.map(parsed);
      expect(records.flat().map((r) => r.id)).toEqual(Array.from({ length: id }, (_, i) => i));
      // It happened out of order: batch 1 was prepared before batch 0 was done, on another thread.
      expect(records[1]![0].at).toBeLessThan(records[0]![1].at);
      expect(records[1]![0].thread).not.toBe(records[0]![0].thread);
    } finally {
      await pool.close();
    }
  });

  it('hands back entries as views of one transferred buffer, refused lines skipped', async () => {
    const { pool, warnings } = await opened(spec('crashing', 1));
    try {
      const b = await pool.prepare(['a', 'REFUSE', 'THROW', 'b'].join('\n'), 5);
      expect([...b.lengths].map((n) => Math.sign(n))).toEqual([1, -1, -1, 1]);
      expect(b.refused).toBe(2);
      expect(b.lines).toBe(4);
      const entries = b.entries();
      expect(entries.map((e) => e.entry.toString())).toEqual([
        '{"line":"a","time":5}',
        '{"line":"b","time":5}',
      ]);
      expect(entries.every((e) => e.entry.buffer === b.bytes.buffer && e.ts === 5)).toBe(true);
      // The decoder's error quoted a card number: only a fixed message crosses.
      expect(warnings.map((w) => [w.code, w.message])).toEqual([
        ['E_IO', 'the line decoder threw; 1 line(s) were refused'],
      ]);
      expect(JSON.stringify(warnings)).not.toContain('4111');
      expect(warnings[0]!.cause).toBeUndefined();
    } finally {
      await pool.close();
    }
  });
});

describe('PreparePool parts', () => {
  it('hands a long batch over in parts cut at line ends, and gets back what one string gives', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `line ${i} ${'x'.repeat(i % 90)}`);
    lines[1234] = 'y'.repeat(100_000); // one line longer than a part
    lines.push(''); // a trailing newline is one more (empty) line
    const text = lines.join('\n');
    const cut = parts(text);
    expect(cut.length).toBeGreaterThan(3);
    expect(cut.join('\n')).toBe(text);
    expect(cut.filter((p) => p.length > 64 * 1024)).toEqual(['y'.repeat(100_000)]);
    expect(parts('a\nb')).toEqual(['a\nb']);

    const s = spec('crashing', 1);
    const { pool } = await opened(s);
    const here = await openPreparer(s.decoder, s.sink);
    try {
      const b = await pool.prepare(text, 9);
      const ref = prepareLines(text, 9, here, () => {});
      expect(b.lines).toBe(lines.length);
      expect([...b.lengths]).toEqual([...ref.lengths]);
      expect(b.bytes.equals(Buffer.from(ref.bytes))).toBe(true);
    } finally {
      here.close();
      await pool.close();
    }
  });
});

/** `n` batches of `per` numbered lines; returns them and the lines expected back, in order. */
function numbered(n: number, per: number): { texts: string[]; lines: string[] } {
  const lines = Array.from({ length: n * per }, (_, i) => `L${i}`);
  const texts = Array.from({ length: n }, (_, k) => lines.slice(k * per, (k + 1) * per).join('\n'));
  return { texts, lines };
}

const linesOf = (batches: PreparedBatch[]) => batches.flatMap(parsed).map((r) => r.line);

describe('PreparePool when workers die', () => {
  it('loses nothing when a worker is terminated with batches in flight', async () => {
    const { pool, warnings } = await opened(spec('crashing', 2, { spinMs: 1 }));
    try {
      const { texts, lines } = numbered(24, 40); // ~1 s of work per worker
      const all = Promise.all(texts.map((t) => pool.prepare(t)));
      await new Promise((r) => setTimeout(r, 150));
      const [victim] = pool[kWorkers]();
      const gone = new Promise((r) => victim!.once('exit', r));
      await victim!.terminate();
      await gone;
      expect(linesOf(await all)).toEqual(lines); // every line exactly once, in order
      expect(pool[kWorkers]()).toHaveLength(2); // replaced
      expect(pool[kWorkers]()).not.toContain(victim);
      expect(warnings).toEqual([]);
    } finally {
      await pool.close();
    }
  });

  it('loses nothing when a worker calls process.exit in the middle of a batch', async () => {
    const flag = join(dir, 'exited-once');
    const { pool, warnings } = await opened(spec('crashing', 2, { spinMs: 1, flag }));
    try {
      const { texts, lines } = numbered(12, 30);
      texts[5] = texts[5]!.replace('L160', 'EXIT'); // line 10 of batch 5
      const expected = lines.map((l) => (l === 'L160' ? 'EXIT' : l));
      const got = linesOf(await Promise.all(texts.map((t) => pool.prepare(t))));
      expect(existsSync(flag)).toBe(true); // a worker did exit
      expect(got).toEqual(expected);
      expect(warnings).toEqual([]);
    } finally {
      await pool.close();
    }
  });

  it('prepares a batch that kills every worker on its own thread, reports it, and keeps going', async () => {
    const { pool, warnings } = await opened(spec('crashing', 1));
    try {
      const first = pool.prepare('a\nPOISON\nb');
      const second = pool.prepare('c\nd');
      expect(linesOf([await first, await second])).toEqual(['a', 'POISON', 'b', 'c', 'd']);
      expect(warnings.map((w) => w.code)).toEqual(['E_IO']);
      expect(warnings[0]!.message).toMatch(
        /stopped 2 prepare workers; it was prepared on the committing thread/,
      );
      // The pool still has its worker and uses it.
      expect(pool[kWorkers]()).toHaveLength(1);
      expect(linesOf([await pool.prepare('e')])).toEqual(['e']);
    } finally {
      await pool.close();
    }
  });
});

describe('PreparePool lifecycle', () => {
  it('close() waits for batches in flight, ends the workers, and a second close is a no-op', async () => {
    const { pool } = await opened(spec('crashing', 2, { spinMs: 2 }));
    const workers = pool[kWorkers]();
    const exits = workers.map((w) => new Promise((r) => w.once('exit', r)));
    const { texts, lines } = numbered(6, 50);
    const batches = Promise.all(texts.map((t) => pool.prepare(t)));
    const closing = pool.close();
    expect(pool.close()).toBe(closing);
    await closing;
    expect(linesOf(await batches)).toEqual(lines);
    await Promise.all(exits);
    expect(pool[kWorkers]()).toEqual([]);
    await pool.close();
    await expect(pool.prepare('late')).rejects.toMatchObject({ code: 'E_CLOSED' });
  });

  it('fails open when a worker cannot start, and replaces none of the workers it ends', async () => {
    const log = join(dir, 'loads.log');
    const cfg = { log, flag: join(dir, 'first-load'), spinMs: 1500 }; // the other worker is ready by then
    await expect(PreparePool.open(spec('oneWorkerBroken', 2, cfg))).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: expect.stringContaining('decoder factory "oneWorkerBroken"'),
    });
    await new Promise((r) => setTimeout(r, 1000)); // a replacement, if any, would have loaded by now
    expect(readFileSync(log, 'utf8')).toBe('xx');
  });

  it('refuses a bad size or decoder at open, with the cause on this thread', async () => {
    await expect(PreparePool.open(spec('json', 0))).rejects.toMatchObject({ code: 'E_CONFIG' });
    await expect(PreparePool.open(spec('nope', 1))).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: expect.stringContaining('does not export a decoder factory "nope"'),
    });
  });
});

describe('PreparePool noise', () => {
  it('spends ε budgets in the ledger file: at most the budget per unit, and exactly what was used', async () => {
    const path = join(dir, 'noise.db');
    const store = new SqliteStore(path); // the committer's connection stays open meanwhile
    const key = join(dir, 'psn.key');
    const bytes = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 73 + 11) & 255));
    writeFileSync(key, bytes.toString('base64'), { mode: 0o600 });
    const privacy = validatePrivacyConfig({
      pseudonymize: { paths: ['user'], keys: [{ id: 'k1', file: key }], current: 'k1' },
      noise: {
        unit: 'user',
        // Leases of 32/16 = 2 records: odd counts leave leases that close() must give back.
        budget: { epsilon: 32, windowSeconds: 86400 },
        fields: { ms: { mechanism: 'laplace', epsilon: 1, lower: 0, upper: 1000, granularity: 1 } },
      },
    });
    const counts = [21, 23, 25, 27, 60]; // u4 logs more than its budget
    const users = counts.flatMap((n, u) => Array.from({ length: n }, () => `u${u}`));
    const lines = users.map((_, i) => JSON.stringify({ user: users[(i * 37) % users.length], ms: 500 + i }));
    const texts = Array.from({ length: Math.ceil(lines.length / 10) }, (_, k) =>
      lines.slice(k * 10, (k + 1) * 10).join('\n'),
    );
    const { pool, warnings } = await opened(spec('json', 2, {}, { path, privacy }));
    let records: Record<string, unknown>[] = [];
    try {
      records = (await Promise.all(texts.map((t) => pool.prepare(t)))).flatMap(parsed);
    } finally {
      await pool.close(); // workers hand their unused leases back
    }
    expect(warnings).toEqual([]);
    expect(records).toHaveLength(users.length);
    const noised = new Map<string, number>();
    for (const r of records) {
      const ms = r.ms as { dp: string; reason?: string };
      expect(typeof r.user === 'string' && r.user.startsWith('psn:k1:')).toBe(true);
      if (ms.dp === 'laplace') noised.set(r.user as string, (noised.get(r.user as string) ?? 0) + 1);
      else expect(ms).toEqual({ dp: 'suppressed', reason: 'budget' }); // never the raw value
    }
    const db = new Database(path, { readonly: true });
    try {
      const rows = db.prepare('SELECT unit, spent FROM dp_budget').all() as { unit: string; spent: number }[];
      expect(rows).toHaveLength(5);
      const spent = new Map(rows.map((r) => [r.unit, r.spent]));
      for (const [unit, n] of noised) expect(spent.get(unit)).toBe(n * 1_000_000); // micro-ε, leases returned
      const perUnit = [...noised.values()].sort((a, b) => a - b);
      expect(perUnit.slice(0, 4)).toEqual([21, 23, 25, 27]); // under budget: every record noised
      // Over budget: never more than 32; a lease stranded in the other worker may cost one or two.
      expect(perUnit[4]).toBeLessThanOrEqual(32);
      expect(perUnit[4]).toBeGreaterThanOrEqual(30);
    } finally {
      db.close();
      store.close();
    }
  });
});
