import { type ChildProcessByStdio, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

// The built `sealog` binary (packages/cli/dist/bin.js, so `pnpm build` first) in
// a process of its own, as a user runs it: to its end (runBin), or left running
// while the test writes (startBin, for tail -f). test/helpers/cli.ts runs the
// CLI in-process instead.

export const BIN = join(import.meta.dirname, '..', '..', 'packages', 'cli', 'dist', 'bin.js');

export interface BinRun {
  code: number | null;
  out: string;
  err: string;
  /** The signal that ended it, e.g. SIGKILL after the timeout. */
  signal: NodeJS.Signals | null;
}

/** Runs `sealog args` to its end; kills it (SIGKILL) after `timeoutMs` (default 30 s; 0: never). */
export function runBin(
  args: string[],
  opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<BinRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: opts.cwd,
        timeout: opts.timeoutMs ?? 30_000,
        killSignal: 'SIGKILL',
        env: opts.env ?? process.env,
        maxBuffer: 64 << 20,
      },
      (error, stdout, stderr) => {
        const e = error as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
        resolve({
          code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          signal: e?.signal ?? null,
          out: String(stdout),
          err: String(stderr),
        });
      },
    );
  });
}

/** A running `sealog` process: what it printed so far, and waits on that. */
export interface RunningBin {
  child: ChildProcessByStdio<null, Readable, Readable>;
  out: string;
  err: string;
  /** Its exit code, once it exited and its output was read to the end. */
  exited: Promise<number | null>;
  /** Polls `ok` every 50 ms, `tries` times at most; resolves to its last answer. */
  wait(ok: () => boolean, tries?: number): Promise<boolean>;
  /** As wait, but throws (naming `what`, with the output so far) when `ok` never held. */
  until(what: string, ok: () => boolean, tries?: number): Promise<void>;
}

/** Starts `sealog args`, collecting its output. */
export function startBin(args: string[]): RunningBin {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const p: RunningBin = {
    child,
    out: '',
    err: '',
    exited: new Promise((r) => child.on('close', (code) => r(code))),
    async wait(ok, tries = 300) {
      for (let i = 0; i < tries && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
      return ok();
    },
    async until(what, ok, tries) {
      if (!(await p.wait(ok, tries)))
        throw new Error(`timed out waiting for ${what}; stdout ${p.out}; stderr ${p.err}`);
    },
  };
  // Decoded as UTF-8 streams, so a character split across two chunks stays whole.
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    p.out += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    p.err += d;
  });
  return p;
}
