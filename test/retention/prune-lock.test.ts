import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, type Run, sealog } from '../attacks/harness.js';
import { hold, ledger, prune, verifyDir } from './helpers.js';

// Issue 18: two maintenance commands on one segment directory at once (two
// prunes from two cron jobs, a hold placed while a prune runs) each decided
// from a state the other was changing. They now take one exclusive lock
// (segments/lock.ts: SQLite's BEGIN EXCLUSIVE on sealog.lock, released by the
// kernel when its holder dies). To make the overlap certain on a loaded
// machine, the first prune is stopped (SIGSTOP) as soon as it holds the lock.

const OWNER = 'sealog.lock.owner';

interface Started {
  child: ChildProcess;
  done: Promise<Run>;
}

function start(args: string[]): Started {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const done = new Promise<Run>((resolve) =>
    child.on('exit', (code) => resolve({ code: code ?? -1, out, err } as Run)),
  );
  return { child, done };
}

/** Waits until `child` has taken the lock on `dir` (its owner line names its pid). */
async function lockedBy(dir: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const path = join(dir, OWNER);
    if (existsSync(path) && readFileSync(path, 'utf8').includes(`pid ${child.pid} `)) return;
    if (child.exitCode !== null) throw new Error(`prune exited (${child.exitCode}) before taking the lock`);
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('prune never took the lock');
}

const pruneArgs = (l: Awaited<ReturnType<typeof ledger>>) => [
  'prune',
  l.dir,
  '--keep',
  '30d',
  '--reason',
  'RET-7',
  '--key',
  l.keys.keyFile,
  '--yes',
];

describe('one prune, hold or erase at a time per segment directory', () => {
  it('a second prune while the first holds the lock fails, changing nothing; the first completes', async () => {
    const l = await ledger([5, 5, 5, 3], 2);
    const a = start(pruneArgs(l));
    await lockedBy(l.dir, a.child);
    a.child.kill('SIGSTOP');
    let b: Run;
    try {
      b = await sealog(pruneArgs(l), { timeoutMs: 60_000 });
    } finally {
      a.child.kill('SIGCONT');
    }
    expect(b.code, b.err).toBe(2);
    expect(b.err).toMatch(/another sealog prune, hold or erase is working on/);
    expect(b.err).toContain(`sealog prune pid ${a.child.pid} on `);
    expect(b.out).toBe('');
    const ra = await a.done;
    expect(ra.code, ra.err).toBe(0);
    const { run, report } = await verifyDir(l);
    expect(run.code, JSON.stringify(report.findings)).toBe(0);
    // Exactly one prune statement, naming segments 1 and 2 once.
    expect(report.prunes.map((p) => p.segments.map((s) => s.index))).toEqual([[1, 2]]);
    expect(report.pruned.map((p) => p.index)).toEqual([1, 2]);
    expect(existsSync(join(l.dir, OWNER))).toBe(false);
  }, 120_000);

  it('two prunes started together: one prunes, the other refuses or finds nothing due', async () => {
    const l = await ledger([5, 5, 5, 3], 2);
    const [x, y] = await Promise.all([start(pruneArgs(l)).done, start(pruneArgs(l)).done]);
    const runs = [x, y];
    for (const r of runs) {
      expect([0, 2], r.err).toContain(r.code);
      if (r.code === 2) expect(r.err).toMatch(/another sealog prune, hold or erase is working on/);
    }
    expect(runs.filter((r) => /^pruned segment/m.test(r.out))).toHaveLength(1);
    const { run, report } = await verifyDir(l);
    expect(run.code, JSON.stringify(report.findings)).toBe(0);
    expect(report.prunes).toHaveLength(1);
  }, 120_000);

  it('a holder killed with SIGKILL leaves no lock behind: the next prune runs without cleanup', async () => {
    const l = await ledger([5, 5, 5, 3], 2);
    const a = start(pruneArgs(l));
    await lockedBy(l.dir, a.child);
    a.child.kill('SIGKILL');
    await a.done;
    const b = await prune(l, '--keep', '30d', '--yes');
    expect(b.code, b.err).toBe(0);
    const { run, report } = await verifyDir(l);
    expect(run.code, JSON.stringify(report.findings)).toBe(0);
    expect(report.pruned.map((p) => p.index)).toEqual([1, 2]);
  }, 120_000);

  it('hold add and erase wait for no one: they refuse while a prune holds the lock', async () => {
    const l = await ledger([5, 5, 5, 3], 2);
    const a = start(pruneArgs(l));
    await lockedBy(l.dir, a.child);
    a.child.kill('SIGSTOP');
    let h: Run;
    let e: Run;
    try {
      h = await hold(l, 'add', '--segment', '2', '--reason', 'LIT-1', '--id', 'LIT-1');
      e = await sealog([
        'erase',
        l.segments.at(-1)!.path,
        '--seq',
        '1',
        '--reason',
        'DSR-1',
        '--key',
        l.keys.keyFile,
        '--yes',
      ]);
    } finally {
      a.child.kill('SIGCONT');
    }
    for (const r of [h, e]) {
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(/another sealog prune, hold or erase is working on/);
    }
    expect((await a.done).code).toBe(0);
    const { run, report } = await verifyDir(l);
    expect(run.code, JSON.stringify(report.findings)).toBe(0);
    expect(report.holds).toEqual([]);
  }, 120_000);
});
