import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../packages/core/src/index.js';
import { checkChain } from './helpers/chain.js';
import { tempDir } from './helpers/tmp.js';

const WRITER = join(import.meta.dirname, 'fixtures', 'writer.mjs');

/** Runs the writer and SIGKILLs it after `killAfterMs`; resolves with the batches it acknowledged. */
function runAndKill(path: string, killAfterMs: number, batchSize: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, path, 'w', '100000', String(batchSize)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acked: number[] = [];
    let killScheduled = false;
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) if (l.startsWith('ack ')) acked.push(Number(l.slice(4)));
      // Kill only once the writer is demonstrably mid-stream (one chunk may carry several acks).
      if (acked.length > 0 && !killScheduled) {
        killScheduled = true;
        setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer exited without being killed: ${stderr}`));
      else resolve(acked);
    });
  });
}

describe('SIGKILL of a writer mid-batch', () => {
  it('leaves a valid chain with whole batches only, and every acknowledged batch present', async () => {
    const batchSize = 400;
    for (const killAfterMs of [3, 17, 41, 90]) {
      const path = join(tempDir(), 'crash.db');
      const acked = await runAndKill(path, killAfterMs, batchSize);
      // Reopening must succeed: the stored head matches the rows (no partial batch).
      const ledger = Ledger.open({ path });
      await ledger.close();
      const { size, entries } = checkChain(path);
      expect(size % batchSize, `kill after ${killAfterMs} ms: size ${size}`).toBe(0);
      const perBatch = new Map<number, number>();
      for (const e of entries) {
        const { b } = JSON.parse(e) as { b: number };
        perBatch.set(b, (perBatch.get(b) ?? 0) + 1);
      }
      for (const [b, n] of perBatch) expect(n, `batch ${b}`).toBe(batchSize);
      for (const b of acked) expect(perBatch.get(b), `acknowledged batch ${b}`).toBe(batchSize);
    }
  });
});
