import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

/**
 * Runs an ES module script in a fresh node process and resolves to its stdout;
 * rejects with its stderr when it exits non-zero. `env` is added to the
 * environment (how the budget race tests hand each writer its part).
 */
export function runScript(script: string, env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.stderr.on('data', (d) => {
      err += d;
    });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

/** A fixture child (see startFixture). */
export interface FixtureChild {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** Resolves when the child closed: exit code or signal, and all it wrote to stderr. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/**
 * Starts `node <file> <JSON of options>` (the writer fixtures take their options
 * so); `onLine` gets each whole line the child prints, in order.
 */
export function startFixture(file: string, options: unknown, onLine: (line: string) => void): FixtureChild {
  const child = spawn(process.execPath, [file, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let buf = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) onLine(l);
  });
  return {
    child,
    exited: new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal, stderr }));
    }),
  };
}
