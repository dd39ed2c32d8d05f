import { spawn } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { BIN } from './bin.js';
import { mulberry32 } from './mulberry32.mjs';
import { tempDir } from './tmp.js';

// Shared by the crash tests (issue 18: SIGKILL at seeded random points): a
// seeded PRNG, so each seed kills at the same point of the run every time, and
// the built CLI run and killed after a delay.

/** mulberry32: a small seeded PRNG. */
export const rng: (seed: number) => () => number = mulberry32;

/** Runs `sealog <args>` and SIGKILLs it after `delayMs` if it is still running. */
export function sealogKilledAfter(
  args: readonly string[],
  delayMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/** Every row's entry of the SQLite ledger `path`, by seq (read-only). */
export function rowsOf(path: string): Map<number, Buffer> {
  const db = new Database(path, { readonly: true });
  try {
    const all = db.prepare('SELECT seq, entry FROM records ORDER BY seq').all() as {
      seq: number;
      entry: Buffer;
    }[];
    return new Map(all.map((r) => [r.seq, r.entry]));
  } finally {
    db.close();
  }
}

/** A copy of directory `dir` in a new temp directory, named `name` (one per seed). */
export function copyDir(dir: string, name: string): string {
  const to = join(tempDir(), name);
  cpSync(dir, to, { recursive: true });
  return to;
}
