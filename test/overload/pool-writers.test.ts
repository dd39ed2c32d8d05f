// The staged write path keeps the ledger's order guarantees at any pool size
// and with several writer processes: one gap-free sequence, one valid chain,
// every writer's records present once each, in the order it logged them.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../packages/core/src/index.js';
import { PINO_MAIN, PINO_TARGET, readVerified, tempDir } from '../transport-helpers.js';

const WRITER = join(import.meta.dirname, '..', 'fixtures', 'pino-pool-writer.mjs');
const N = 1500;

function writer(path: string, id: string, workers: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [WRITER, PINO_TARGET, PINO_MAIN, path, id, String(N), String(workers)],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`writer ${id} exited ${code}: ${err}`)),
    );
  });
}

describe('pool sizes × writer processes', () => {
  for (const [workers, writers] of [
    [0, 1],
    [1, 2],
    [2, 4],
    [4, 1],
  ] as const) {
    it(`pool of ${workers}, ${writers} writer process(es): one chain, each writer complete and in order`, async () => {
      const path = join(tempDir(), 'shared.db');
      await Ledger.open({ path }).close();
      await Promise.all(Array.from({ length: writers }, (_, w) => writer(path, `w${w}`, workers)));
      const records = readVerified(path); // gap-free seq from 0, chain recomputed from the bytes
      expect(records).toHaveLength(N * writers);
      for (let w = 0; w < writers; w++) {
        const mine = records.filter((r) => r.writer === `w${w}`).map((r) => r.i);
        expect(mine).toEqual([...Array(N).keys()]);
      }
    }, 60_000);
  }
});
