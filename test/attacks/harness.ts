import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { rechain } from '../../packages/core/src/verify/__tests__/fixture.js';
import { BIN, type BinRun, runBin } from '../helpers/bin.js';

export { BIN };

// Shared tools of the attack suite (one file per attack beside this one). Every
// attack runs the real `sealog` binary and, where it needs one, a real writer
// process (fixtures/sink-writer.mjs); the attacker edits files with
// better-sqlite3 the way a file-only insider would, triggers dropped first.

const WRITER = join(import.meta.dirname, 'fixtures', 'sink-writer.mjs');

export type Run = BinRun;

/** Runs the built `sealog` binary; kills it (SIGKILL) after `timeoutMs`. */
export const sealog = runBin;

export interface Keys {
  keyFile: string;
  /** The verifier key strings keygen printed (log key, time cosigner key). */
  vkeys: string[];
  /** A file holding them, one per line. */
  vkeyFile: string;
}

/** `sealog keygen --name <origin>` into dir. */
export async function keygen(dir: string, origin = 'example.com/audit', stem = 'audit'): Promise<Keys> {
  const keyFile = join(dir, `${stem}.key`);
  const r = await sealog(['keygen', '--name', origin, '--out', keyFile]);
  if (r.code !== 0) throw new Error(`keygen failed: ${r.err}`);
  const vkeys = r.out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const vkeyFile = join(dir, `${stem}.vkeys`);
  writeFileSync(vkeyFile, `${vkeys.join('\n')}\n`);
  return { keyFile, vkeys, vkeyFile };
}

/** A writer process driven over stdin (see fixtures/sink-writer.mjs). */
export class WriterProcess {
  readonly child: ChildProcessWithoutNullStreams;
  out = '';
  err = '';
  readonly exited: Promise<number | null>;
  #waiters: { line: string; resolve: () => void }[] = [];

  constructor(options: object) {
    this.child = spawn(process.execPath, [WRITER, JSON.stringify(options)], { stdio: 'pipe' });
    this.child.stdout.on('data', (d: Buffer) => {
      this.out += d.toString();
      this.#waiters = this.#waiters.filter((w) => {
        if (this.out.split('\n').includes(w.line)) {
          w.resolve();
          return false;
        }
        return true;
      });
    });
    this.child.stderr.on('data', (d: Buffer) => {
      this.err += d.toString();
    });
    this.exited = new Promise((r) => this.child.on('exit', (code) => r(code)));
  }

  #wait(line: string, timeoutMs = 30_000): Promise<void> {
    if (this.out.split('\n').includes(line)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`writer: no "${line}" in ${timeoutMs} ms; stderr: ${this.err}`)),
        timeoutMs,
      );
      this.#waiters.push({
        line,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      });
      void this.exited.then((code) =>
        reject(new Error(`writer exited ${code} before "${line}"; stderr: ${this.err}`)),
      );
    });
  }

  /** Resolves once the sink is open; rejects if the writer refused to start. */
  ready(): Promise<void> {
    return this.#wait('ready');
  }

  /** Sends one command and waits for its "ok" line. */
  async send(cmd: 'write' | 'flush' | 'close', ...args: (string | number)[]): Promise<void> {
    const before = this.out.split('\n').filter((l) => l === `ok ${cmd}`).length;
    this.child.stdin.write(`${[cmd, ...args].join(' ')}\n`);
    const deadline = Date.now() + 30_000;
    while (this.out.split('\n').filter((l) => l === `ok ${cmd}`).length <= before) {
      if (this.child.exitCode !== null)
        throw new Error(`writer exited ${this.child.exitCode}; stderr: ${this.err}`);
      if (Date.now() > deadline) throw new Error(`writer: no "ok ${cmd}"; stderr: ${this.err}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async close(): Promise<number | null> {
    if (this.child.exitCode === null) await this.send('close');
    return this.exited;
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/** Opens a ledger file as the attacker does: read-write, append-only triggers dropped. */
export function attackerOpen(path: string): Database.Database {
  const db = new Database(path);
  for (const { name } of db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").all() as {
    name: string;
  }[]) {
    db.exec(`DROP TRIGGER "${name}"`);
  }
  return db;
}

/**
 * The consistent rewrite: replaces the entry at `seq`, recomputes every chain
 * value from there and the ledger_state row (size, chain head, compact range),
 * so the file is self-consistent again. Only a signature can tell.
 */
export function rewriteRow(db: Database.Database, seq: number, entry: Buffer): void {
  db.transaction(() => {
    db.prepare('UPDATE records SET entry = ? WHERE seq = ?').run(entry, seq);
    rechainAll(db);
  })();
}

/** Recomputes chain and ledger_state over the rows as they now are (the verifier tests' rechain). */
export const rechainAll = rechain;
