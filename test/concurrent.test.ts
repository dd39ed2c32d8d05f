import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../packages/core/src/index.js';
import { checkChain } from './helpers/chain.js';
import { tempDir } from './helpers/tmp.js';

const WRITER = join(import.meta.dirname, 'fixtures', 'writer.mjs');

function run(
  path: string,
  writer: string,
  batches: number,
  batchSize: number,
  startAt: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [WRITER, path, writer, String(batches), String(batchSize), String(startAt)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`writer ${writer} exited ${code}: ${err}`)),
    );
  });
}

describe('several processes appending to one ledger file', () => {
  it('keeps one gap-free sequence and one valid chain, each writer in order', async () => {
    const path = join(tempDir(), 'shared.db');
    // Create the file first so both children race only on appends, as in production.
    await Ledger.open({ path }).close();
    const batches = 60;
    const batchSize = 50;
    // Both start at one wall-clock time; 8 s leaves room for two node processes to load on a
    // busy machine (with 3 s one of them started after the other had finished, failing below).
    const startAt = Date.now() + 8000;
    await Promise.all([
      run(path, 'A', batches, batchSize, startAt),
      run(path, 'B', batches, batchSize, startAt),
    ]);
    const { size, entries } = checkChain(path);
    expect(size).toBe(2 * batches * batchSize);
    const seen: Record<string, string[]> = { A: [], B: [] };
    for (const e of entries) {
      const r = JSON.parse(e) as { writer: string; b: number; i: number };
      seen[r.writer]!.push(`${r.b}:${r.i}`);
    }
    const expected = Array.from(
      { length: batches * batchSize },
      (_, k) => `${Math.floor(k / batchSize)}:${k % batchSize}`,
    );
    expect(seen.A).toEqual(expected);
    expect(seen.B).toEqual(expected);
    // The writers really interleaved (otherwise this test proves nothing about concurrency).
    const firstB = entries.findIndex((e) => JSON.parse(e).writer === 'B');
    const lastA = entries.findLastIndex((e) => JSON.parse(e).writer === 'A');
    expect(firstB).toBeLessThan(lastA);
  });
});
