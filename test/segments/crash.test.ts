import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSink } from '../../packages/core/src/index.js';
import { listSegments } from '../../packages/core/src/segments/layout.js';
import { makeKey, prng, runBin } from '../faults/harness.js';
import { tempDir } from '../helpers/tmp.js';
import { checkSegments, recordsOf, startSegWriter } from './harness.js';

// SIGKILL of a signing writer of a segmented ledger at a seeded random moment,
// with segments so small that it rotates every one or two flushes: the kill
// lands before, inside and after every step of rotation (close marker, final
// head, temp file, link, directory sync, switch, final seal, anchor). After
// each, a new writer reopens the directory, writes a few more records and
// closes. Every acknowledged record is then present exactly once, in order,
// every segment verifies strictly (its own anchor given as outside
// checkpoints), and each binds the previous one.

const SEEDS = 20;

async function killOnce(seed: number): Promise<number> {
  const rand = prng(seed);
  const dir = tempDir();
  const ledger = join(dir, 'audit');
  const key = makeKey(dir);
  const killAfterAcks = 2 + Math.floor(rand() * 12);
  const killDelayMs = Math.floor(rand() * 25);
  let scheduled = false;
  const w = startSegWriter(
    {
      dir: ledger,
      id: 'w',
      count: 1_000_000,
      seed,
      maxBatch: 20 + Math.floor(rand() * 80),
      maxBytes: 64 * 1024,
      pad: 200,
      keyFile: key.keyFile,
      anchorFile: key.anchorFile,
      everyRecords: 25 + Math.floor(rand() * 100),
    },
    (n) => {
      if (scheduled || n === 0 || w.acked() === 0) return;
      if (--ackBudget > 0) return;
      scheduled = true;
      setTimeout(() => w.child.kill('SIGKILL'), killDelayMs);
    },
  );
  let ackBudget = killAfterAcks;
  const exit = await w.exited;
  expect(exit.signal, `seed ${seed}: ${exit.stderr}`).toBe('SIGKILL');
  const acked = w.acked();
  expect(acked, `seed ${seed}`).toBeGreaterThan(0);

  // A new writer reopens the directory, appends, and closes (its sealer seals everything).
  const errors: string[] = [];
  const sink = await openSink(
    {
      path: ledger,
      segments: { maxBytes: 64 * 1024 },
      checkpoint: { keyFile: key.keyFile, anchorFile: key.anchorFile },
    },
    { onError: (e) => errors.push(`${e.code}: ${e.message}`) },
  );
  for (let i = 0; i < 5; i++) sink.write({ w: 'after', n: i });
  await sink.close();
  expect(errors, `seed ${seed}`).toEqual([]);

  const records = recordsOf(ledger);
  const mine = records.filter((r) => r.w === 'w').map((r) => r.n);
  expect(mine, `seed ${seed}: each record once, in order`).toEqual(
    Array.from({ length: mine.length }, (_, i) => i),
  );
  expect(mine.length, `seed ${seed}: present ${mine.length} < acknowledged ${acked}`).toBeGreaterThanOrEqual(
    acked,
  );
  expect(records.filter((r) => r.w === 'after').map((r) => r.n)).toEqual([0, 1, 2, 3, 4]);
  expect(checkSegments(ledger, [key.vkey], key.anchorFile), `seed ${seed}`).toEqual([]);
  if (seed === 1) {
    // The built CLI agrees (the in-process verifier above ran on every seed).
    const vkeys = join(dir, 'audit.vkeys');
    writeFileSync(vkeys, `${key.vkey}\n`);
    for (const slot of listSegments(ledger).slots) {
      const r = await runBin(['verify', slot.file!, '--key-file', vkeys, '--strict']);
      expect(r.code, `${slot.file}: ${r.out}${r.err}`).toBe(0);
    }
  }
  return listSegments(ledger).slots.length;
}

describe(`SIGKILL of a writer of a segmented ledger mid-rotation (${SEEDS} seeds)`, () => {
  it('reopens, verifies every segment and loses no acknowledged record', async () => {
    let segments = 0;
    for (let seed = 1; seed <= SEEDS; seed++) segments += await killOnce(seed);
    // The kills hit writers that were rotating (many segments), not ones still on segment 1.
    expect(segments).toBeGreaterThan(SEEDS * 3);
  }, 120_000);
});
