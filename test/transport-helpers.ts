// Shared by the transport, shutdown, example and packaging tests: where the
// built packages are, and an independent check of a ledger's chain.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chainHash, LedgerReader, leafHash, ZERO_HASH } from '../packages/core/src/index.js';

export const ROOT = resolve(import.meta.dirname, '..');
/** pino's worker imports the built package: vitest's transform does not reach worker threads. */
export const PINO_TARGET = join(ROOT, 'packages/pino/dist/index.js');
export const WINSTON_DIST = join(ROOT, 'packages/winston/dist/index.js');
export const CORE_DIST = join(ROOT, 'packages/core/dist/index.js');
export const PINO_MAIN = join(ROOT, 'node_modules/pino/pino.js');
export const WINSTON_MAIN = join(ROOT, 'node_modules/winston/lib/winston.js');

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'sealog-'));
}

/**
 * Reads every record, recomputing leaf and chain hashes from the stored bytes
 * (the rule of docs/format.md), and checks seq is gap-free from 0. Throws on
 * the first mismatch; returns the parsed entries in seq order.
 */
export function readVerified(path: string): Record<string, unknown>[] {
  const reader = new LedgerReader(path);
  try {
    const out: Record<string, unknown>[] = [];
    let chain = ZERO_HASH;
    let expected = 0;
    for (const r of reader.records()) {
      if (r.seq !== expected) throw new Error(`gap or reorder at seq ${r.seq}, expected ${expected}`);
      chain = chainHash(chain, leafHash(r.entry));
      if (!chain.equals(r.chain)) throw new Error(`chain mismatch at seq ${r.seq}`);
      out.push(JSON.parse(r.entry.toString('utf8')) as Record<string, unknown>);
      expected++;
    }
    return out;
  } finally {
    reader.close();
  }
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node <script> ...args`; `onStdout` may signal the child (e.g. once it printed "ready"). */
export function runNode(
  script: string,
  args: string[] = [],
  onStdout?: (chunk: string, child: ReturnType<typeof spawn>) => void,
  cwd = ROOT,
): Promise<RunResult> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [script, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      onStdout?.(c, child);
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    child.on('error', rej);
    child.on('close', (code, signal) => res({ code, signal, stdout, stderr }));
  });
}
