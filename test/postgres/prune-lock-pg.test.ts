// Two `sealog prune postgres://…` at once (two cron jobs): they are serialized
// by the ledger's advisory lock, which a prune takes for its whole run (shared
// with `sealog hold`; released by the server when its session ends). To make
// the overlap certain on a loaded machine, the first prune is stopped (SIGSTOP)
// as soon as the server shows it holding the lock, as test/retention/prune-lock.test.ts does.
import { type ChildProcess, spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI_BIN } from '../faults/harness.js';
import { psql } from '../helpers/postgres.js';
import { table, verify } from './harness.js';
import { ledger, OLD, prune, pruneArgs, pruneFixture, seed, seqRange, YOUNG } from './prune-helpers.js';

const f = pruneFixture('pg_prune_lock');

interface Run {
  code: number;
  out: string;
  err: string;
}

function start(args: string[]): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [CLI_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const done = new Promise<Run>((resolve) =>
    child.on('exit', (code) => resolve({ code: code ?? -1, out, err })),
  );
  return { child, done };
}

/** Session advisory locks granted in this database (only the prune under test takes one). */
const advisoryHeld = async (url: string): Promise<number> =>
  (
    await psql<{ n: number }>(
      url,
      `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    )
  )[0]!.n;

async function lockedBy(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if ((await advisoryHeld(url)) > 0) return;
    if (child.exitCode !== null) throw new Error(`prune exited (${child.exitCode}) before taking the lock`);
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('prune never took the lock');
}

const count = async (url: string, t: string, where = 'true'): Promise<number> =>
  (await psql<{ n: number }>(url, `SELECT count(*)::int AS n FROM ${table(url, t)} WHERE ${where}`))[0]!.n;

const tombstones = async (url: string): Promise<number> =>
  (await psql<{ t: string | null }>(url, `SELECT to_regclass($1)::text AS t`, [table(url, 'tombstones')]))[0]!
    .t === null
    ? 0
    : count(url, 'tombstones');

const statements = (url: string) =>
  count(url, 'records', `position('prunePrefix' in convert_from(entry, 'UTF8')) > 0`);

describe('one sealog prune at a time per PostgreSQL ledger', () => {
  it('a second prune while the first holds the lock refuses, changing nothing; the first completes', async () => {
    const url = ledger(f, 'frozen');
    await seed(f, url);
    const a = start(pruneArgs(f, url));
    await lockedBy(url, a.child);
    a.child.kill('SIGSTOP');
    let b: Run;
    const rowsBefore = await seqRange(url);
    try {
      b = await prune(f, url);
      // Nothing of the second run reached the ledger: no statement, no row, no tombstone.
      expect(await seqRange(url)).toEqual(rowsBefore);
      expect(await tombstones(url)).toBe(0);
    } finally {
      a.child.kill('SIGCONT');
    }
    expect(b.code, b.err).toBe(2);
    expect(b.err).toContain('another sealog prune or hold is working on');
    const ra = await a.done;
    expect(ra.code, ra.err).toBe(0);
    expect(ra.out).toContain(`pruned records 0..${OLD - 1}`);
    expect(await tombstones(url)).toBe(1);
    expect(await statements(url)).toBe(1);
    const v = await verify(url, f.key.pub);
    expect(v.code, v.text).toBe(0);
    expect((v.report as { expired?: { records: number } }).expired?.records).toBe(OLD);
  }, 180_000);

  it('two prunes started together: one cut, no young record lost, the ledger verifies', async () => {
    const url = ledger(f, 'together');
    await seed(f, url);
    const runs = await Promise.all([start(pruneArgs(f, url)).done, start(pruneArgs(f, url)).done]);
    for (const r of runs) expect([0, 2], r.err).toContain(r.code);
    expect(runs.filter((r) => r.out.includes(`pruned records 0..${OLD - 1}`))).toHaveLength(1);
    expect(await tombstones(url)).toBe(1);
    const left = await seqRange(url);
    expect(left.lo).toBe(OLD);
    expect(left.n).toBeGreaterThanOrEqual(YOUNG);
    const v = await verify(url, f.key.pub);
    expect(v.code, v.text).toBe(0);
  }, 180_000);
});
