import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../packages/core/src/index.js';
import { appendRecords, sealedLedger } from './bundle-fixture.js';
import { BIN } from './helpers/bin.js';
import { tempDir } from './helpers/tmp.js';

// `sealog … | head -1` (issue 19): when the reader of standard output goes
// away, sealog stops writing and exits quietly, as `cat | head` and
// `journalctl | head` do, instead of dying of an unhandled EPIPE with a stack
// trace. Runs the built binary (packages/cli/dist, so `pnpm build` first).

const RECORDS = 5000;

/** A ledger whose `-o json` output (~1.5 MB) is far more than a pipe buffer holds. */
async function bigLedger(): Promise<string> {
  const path = join(tempDir(), 'big.db');
  const ledger = Ledger.open({ path, batchDelayMs: 0 });
  for (let i = 0; i < RECORDS; i++) {
    ledger.write({ time: Date.UTC(2026, 0, 1) + i, level: 30, msg: `record ${i}`, pad: 'x'.repeat(200) });
  }
  await ledger.close();
  return path;
}

interface ClosedRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** What was read before the pipe was closed. */
  first: string;
  err: string;
}

/**
 * Runs `sealog args` with a stdout pipe whose reading end this process closes:
 * after the first chunk (`after: 'first'`), or before the child wrote anything
 * (`after: 'start'`). `meanwhile` runs while the child is alive (e.g. appends).
 */
function withClosedStdout(
  args: string[],
  after: 'first' | 'start',
  meanwhile?: (exited: () => boolean) => Promise<void>,
): Promise<ClosedRun> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let first = '';
  let err = '';
  let done = false;
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  if (after === 'start') child.stdout.destroy();
  else
    child.stdout.once('data', (d: Buffer) => {
      first = d.toString('utf8');
      child.stdout.destroy();
    });
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const exited = new Promise<ClosedRun>((resolve) =>
    child.on('close', (code, signal) => {
      done = true;
      clearTimeout(killer);
      resolve({ code, signal, first, err });
    }),
  );
  void meanwhile?.(() => done);
  return exited;
}

function expectQuiet(r: ClosedRun): void {
  expect(r.signal, r.err).toBeNull();
  expect(r.err).not.toMatch(/EPIPE|Error| {4}at /);
  expect(r.err).toBe('');
  expect(r.code, r.err).toBe(0);
}

describe('a closed stdout pipe ends sealog quietly', () => {
  it('query -o json | head -1 (bash, pipefail): one line, exit 0, nothing on stderr', async () => {
    const path = await bigLedger();
    const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
      execFile(
        'bash',
        ['-c', 'set -o pipefail; "$0" "$1" query "$2" -o json | head -1', process.execPath, BIN, path],
        { timeout: 60_000 },
        (e, out, err) =>
          resolve({
            code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
            out: String(out),
            err: String(err),
          }),
      ),
    );
    expect(r.err).toBe('');
    expect(r.code, r.err).toBe(0);
    expect(r.out.split('\n')).toHaveLength(2);
    expect(JSON.parse(r.out)).toMatchObject({ msg: 'record 0' });
  }, 90_000);

  it('query, tail -n: the reader closes after the first chunk', async () => {
    const path = await bigLedger();
    for (const args of [
      ['query', path, '-o', 'json'],
      ['query', path],
      ['tail', path, '-n', String(RECORDS)],
    ]) {
      const r = await withClosedStdout(args, 'first');
      expect(r.first.length, args.join(' ')).toBeGreaterThan(0);
      expectQuiet(r);
    }
  }, 180_000);

  it('tail -f ends its follow loop (closing the ledger) when the reader goes away', async () => {
    const path = await bigLedger();
    let appended = 0;
    const r = await withClosedStdout(['tail', path, '-f', '-n', '0'], 'start', async (exited) => {
      // Records keep arriving until tail has something to write and finds the pipe closed.
      for (let i = 0; i < 200 && !exited(); i++) {
        const ledger = Ledger.open({ path, batchDelayMs: 0 });
        for (let j = 0; j < 20; j++) ledger.write({ level: 30, msg: `late ${appended++}` });
        await ledger.close();
        await new Promise((res) => setTimeout(res, 250));
      }
    });
    expectQuiet(r);
    // The ledger is whole and writable after tail left: nothing was left open or half-written.
    const ledger = Ledger.open({ path, batchDelayMs: 0 });
    ledger.write({ level: 30, msg: 'after' });
    await ledger.close();
  }, 120_000);

  it('a closed stderr drops messages and keeps the exit code (sealog --versoin 2>&1 | true)', async () => {
    const child = spawn(process.execPath, [BIN, '--versoin'], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.destroy();
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('close', (c, s) => resolve([c, s])),
    );
    expect(signal).toBeNull();
    expect(code).toBe(2);
  }, 60_000);

  // /dev/full fails every write with ENOSPC (Linux; not on every system).
  it.runIf(existsSync('/dev/full'))(
    'any other write error is one line and exit 2 (sealog --version > /dev/full)',
    async () => {
      const full = openSync('/dev/full', 'w');
      try {
        const child = spawn(process.execPath, [BIN, '--version'], { stdio: ['ignore', full, 'pipe'] });
        let err = '';
        child.stderr.setEncoding('utf8').on('data', (d: string) => {
          err += d;
        });
        const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
        expect(err).toBe('sealog: cannot write to standard output: ENOSPC: no space left on device, write\n');
        expect(code).toBe(2);
      } finally {
        closeSync(full);
      }
    },
    60_000,
  );

  it('a verdict already reached keeps its exit code when stdout is gone (verify --strict, unsealed tail)', async () => {
    const dir = tempDir();
    const l = await sealedLedger(dir, 10);
    await appendRecords(l.path, 10, 5);
    const keys = join(dir, 'keys.txt');
    writeFileSync(keys, `${l.vkeys.join('\n')}\n`);
    const r = await withClosedStdout(['verify', l.path, '--key-file', keys, '--strict'], 'start');
    expect(r.err).not.toMatch(/EPIPE| {4}at /);
    expect(r.code, r.err).toBe(1);
    const ok = await withClosedStdout(['--version'], 'start');
    expectQuiet(ok);
  }, 90_000);
});
