import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger, LedgerReader } from '../../packages/core/src/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { makeKey, recordsByWriter, SLOW, startWriter, upTo } from './harness.js';

// Two and four processes appending to one file under load, each sealing with
// the same key into one anchor file (test/concurrent.test.ts covers the bare
// Ledger; this is the full sink with checkpointers racing too). Afterwards:
// one gap-free chain, every writer's records complete and in its own order,
// every checkpoint valid, strict verify passes with the anchor as trusted.
// SEALOG_SLOW=1 writes 10x as many records.

async function race(writers: number, count: number): Promise<void> {
  const dir = tempDir();
  const path = join(dir, 'shared.db');
  const key = makeKey(dir);
  Ledger.open({ path }).close();
  const ws = Array.from({ length: writers }, (_, i) =>
    startWriter({
      path,
      id: `w${i}`,
      count,
      seed: 100 + i,
      maxBatch: 60,
      keyFile: key.keyFile,
      anchorFile: key.anchorFile,
      everyRecords: 200,
      everyMs: 30,
    }),
  );
  const exits = await Promise.all(ws.map((w) => w.exited));
  for (const e of exits) expect(e.code, e.stderr).toBe(0);
  const byWriter = recordsByWriter(path);
  for (let i = 0; i < writers; i++) expect(byWriter.get(`w${i}`), `writer w${i}`).toEqual(upTo(count));
  // The writers really interleaved.
  const reader = new LedgerReader(path);
  const order = [...reader.records()].map((r) => JSON.parse(r.entry.toString('utf8')).w as string);
  reader.close();
  let switches = 0;
  for (let i = 1; i < order.length; i++) if (order[i] !== order[i - 1]) switches++;
  expect(switches).toBeGreaterThan(writers);
  const cli = await runCli([
    'verify',
    path,
    '--key',
    key.vkey,
    '--checkpoint',
    key.anchorFile,
    '--strict',
    '--json',
  ]);
  expect(cli.code, cli.out + cli.err).toBe(0);
  const report = JSON.parse(cli.out);
  expect(report.size).toBe(writers * count);
  expect(report.checkpoints.length).toBeGreaterThan(writers);
  expect(report.checkpoints.every((c: { valid: boolean }) => c.valid)).toBe(true);
  expect(readFileSync(key.anchorFile, 'utf8').length).toBeGreaterThan(0);
}

describe('several sealing processes writing one file', () => {
  it(
    'two writers',
    async () => {
      await race(2, SLOW ? 50_000 : 5000);
    },
    SLOW ? 600_000 : 60_000,
  );

  it(
    'four writers',
    async () => {
      await race(4, SLOW ? 25_000 : 2500);
    },
    SLOW ? 600_000 : 60_000,
  );
});
