import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { isSealogError, LedgerReader, queryRecords, verifyLedger } from '../../packages/core/src/index.js';
import { makeLedger, tamper } from '../../packages/core/src/verify/__tests__/fixture.js';
import { SLOW } from '../faults/harness.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

// fast-check fuzz targets for ledger files, the readers' attacker-controlled
// bytes: a real ledger with random bytes of the file changed, rows of any
// SQLite type written by hand, and files of random bytes. LedgerReader,
// queryRecords and verifyLedger throw only SealogError; `sealog tail`,
// `query` and `verify` never throw and exit 0, 1 or 2 (2 with a message).
// SEALOG_SLOW=1 runs 20x as many cases.

const RUNS = SLOW ? 20 : 1;
let cases = 0;
afterAll(() => {
  console.log(`fuzz-ledger: ${cases} cases run`);
});

const base = makeLedger({ records: 30, every: 10 });
const baseBytes = readFileSync(base.path);
const dir = base.dir;
let n = 0;

function onlySealogErrors(f: () => unknown): void {
  try {
    f();
  } catch (err) {
    if (!isSealogError(err)) throw err;
    expect(err.message.length).toBeGreaterThan(0);
  }
}

/** Every reader over one file; returns nothing, throws only on a contract breach. */
async function readAll(path: string): Promise<void> {
  onlySealogErrors(() => {
    const r = new LedgerReader(path);
    try {
      r.size();
      for (const _ of r.records()) void _;
      r.last(5);
      r.checkpoints();
      for (const _ of queryRecords(r, { tsFrom: 0 }, 'desc')) void _;
    } finally {
      r.close();
    }
  });
  onlySealogErrors(() => verifyLedger(path, { keys: [base.vkey] }));
  for (const argv of [
    ['tail', path, '-n', '50'],
    ['query', path, '--csv'],
    ['verify', path, '--key', base.vkey, '--json'],
  ]) {
    const { code, err } = await runCli(argv);
    expect([0, 1, 2]).toContain(code);
    if (code === 2) expect(err).toMatch(/^sealog \w+: /);
  }
}

async function runAsync<T>(
  arb: fc.Arbitrary<T>,
  check: (t: T) => Promise<void>,
  numRuns: number,
): Promise<void> {
  const k = numRuns * RUNS;
  await fc.assert(fc.asyncProperty(arb, check), { numRuns: k });
  cases += k;
}

describe('fuzz: ledger files', () => {
  it('the unmodified file reads and verifies (not vacuous)', async () => {
    const { code } = await runCli(['verify', base.path, '--key', base.vkey, '--strict']);
    expect(code).toBe(0);
  });

  it('a real ledger with random bytes changed', async () => {
    await runAsync(
      fc.array(fc.tuple(fc.nat(baseBytes.length - 1), fc.integer({ min: 1, max: 255 })), {
        minLength: 1,
        maxLength: 8,
      }),
      async (flips) => {
        const b = Buffer.from(baseBytes);
        for (const [at, x] of flips) b[at] = b[at]! ^ x;
        const path = join(dir, `flip-${n++}.db`);
        writeFileSync(path, b);
        await readAll(path);
      },
      300,
    );
  }, 120_000);

  it('rows of any SQLite type and size written by hand', async () => {
    const value = fc.oneof(
      fc.integer(),
      fc.double(),
      fc.string({ maxLength: 40 }),
      fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)),
      fc.constant(null),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    );
    await runAsync(
      fc.record({
        rows: fc.array(fc.tuple(fc.integer({ min: -5, max: 40 }), value, value, value), { maxLength: 6 }),
        cps: fc.array(fc.tuple(value, value, value), { maxLength: 3 }),
        state: fc.tuple(value, value, value),
      }),
      async ({ rows, cps, state }) => {
        const path = join(dir, `rows-${n++}.db`);
        copyFileSync(base.path, path);
        tamper(path, (db) => {
          // No NOT NULL/type constraints an attacker would keep: rebuild the tables loosely.
          db.exec('DROP TABLE records; CREATE TABLE records (seq INTEGER PRIMARY KEY, ts, entry, chain)');
          db.exec(
            'DROP TABLE checkpoints; CREATE TABLE checkpoints (id INTEGER PRIMARY KEY, size, note, created_at)',
          );
          db.exec(
            'DROP TABLE ledger_state; CREATE TABLE ledger_state (id INTEGER PRIMARY KEY, size, chain_head, compact)',
          );
          const ins = db.prepare('INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?)');
          for (const [seq, ts, entry, chain] of rows) ins.run(seq, ts, entry, chain);
          const cp = db.prepare('INSERT INTO checkpoints (size, note, created_at) VALUES (?, ?, ?)');
          for (const [size, note, at] of cps) cp.run(size, note, at);
          db.prepare('INSERT INTO ledger_state VALUES (0, ?, ?, ?)').run(...state);
        });
        await readAll(path);
      },
      200,
    );
  }, 120_000);

  it('files of random bytes, with and without a SQLite header', async () => {
    await runAsync(
      fc.tuple(fc.boolean(), fc.uint8Array({ maxLength: 8192 })),
      async ([header, bytes]) => {
        const path = join(tempDir(), `random-${n++}.db`);
        const head = header ? baseBytes.subarray(0, 100) : Buffer.alloc(0);
        writeFileSync(path, Buffer.concat([head, bytes]));
        await readAll(path);
      },
      100,
    );
  }, 120_000);
});
