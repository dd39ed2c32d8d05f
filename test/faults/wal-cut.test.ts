import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger, splitAnchorNotes, verifyLedger } from '../../packages/core/src/index.js';
import { tempDir } from '../helpers/tmp.js';
import {
  type Ack,
  beyondCrash,
  findingKinds,
  makeKey,
  prng,
  recordsByWriter,
  SLOW,
  startWriter,
  upTo,
} from './harness.js';

// Power-loss model: a WAL cut at byte X. After a power cut the disk holds the
// WAL as far as it was written out, and SQLite's recovery keeps exactly the
// commits whose frames (checksum chain up to a commit frame) are fully present.
// The writer keeps every commit in the WAL (wal_autocheckpoint=0, then
// SIGKILL, so no closing checkpoint), prints the WAL size at every
// acknowledgement, and we open copies of db + WAL[0..X] for random X.
//
// What this proves, and what it cannot (docs/reliability.md says the same):
// - For every X, every record whose acknowledgement came when the WAL was ≤ X
//   bytes long is present, in order, and the copy verifies as an intact prefix.
//   Under durability 'power' (synchronous=FULL) the WAL is fsynced before a
//   commit returns, so at a real power loss the surviving prefix is at least
//   as long as the WAL at the last acknowledgement: nothing acknowledged is lost.
// - Under 'process' (synchronous=NORMAL) the WAL is not fsynced per commit,
//   so a power loss may cut below acknowledged commits. The loss is then the
//   WAL tail since the last fsync, and it is never silent: against the anchor
//   file (a trusted checkpoint kept outside) verify reports `truncated`.
// - A cut models lost unsynced *appends*. It does not model a disk that lies
//   about fsync, torn or reordered writes inside the main db file, or
//   filesystem metadata loss; those are outside what SQLite (and sealog) promise.

const CUTS = SLOW ? 200 : 16;
const COUNT = 8000;

interface Run {
  db: string;
  wal: Buffer;
  acks: Ack[];
  vkey: string;
  anchorNotes: string[];
}

async function writeAndKill(durability: 'power' | 'process'): Promise<Run> {
  const dir = tempDir();
  const key = makeKey(dir);
  const db = join(dir, 'ledger.db');
  const w = startWriter({
    path: db,
    count: COUNT,
    seed: 7,
    maxBatch: 80,
    durability,
    keyFile: key.keyFile,
    anchorFile: key.anchorFile,
    // Seals run beside the writes (their fsyncs are off the writer's thread), so a fast
    // writer gets fewer, larger checkpoints than count / everyRecords: ask often.
    everyRecords: 100,
    walAutocheckpoint: 0,
    hold: true,
  });
  await w.printed('holding');
  w.child.kill('SIGKILL');
  const exit = await w.exited;
  expect(exit.signal, exit.stderr).toBe('SIGKILL');
  const wal = readFileSync(`${db}-wal`);
  // Every commit is still in the WAL (a seal after the last ack may have added one more).
  expect(wal.length).toBeGreaterThanOrEqual(w.acks.at(-1)!.wal);
  const anchorNotes = existsSync(key.anchorFile)
    ? splitAnchorNotes(readFileSync(key.anchorFile, 'utf8'))
    : [];
  expect(anchorNotes.length).toBeGreaterThan(3);
  return { db, wal, acks: w.acks, vkey: key.vkey, anchorNotes };
}

/** Opens a copy of the db with the WAL cut at `x` bytes, as the restarted app would. */
function openCut(run: Run, x: number, i: number): string {
  const dir = tempDir();
  const path = join(dir, `cut-${i}.db`);
  copyFileSync(run.db, path);
  writeFileSync(`${path}-wal`, run.wal.subarray(0, x));
  // Ledger.open runs SQLite recovery and sealog's own head-vs-rows check.
  Ledger.open({ path }).close();
  return path;
}

function cutOffsets(run: Run, seed: number): number[] {
  const rand = prng(seed);
  const xs = [0, run.wal.length];
  // Half anywhere, half just around acknowledged commit ends (the interesting edges).
  for (let i = 0; xs.length < CUTS; i++) {
    if (i % 2 === 0) xs.push(Math.floor(rand() * (run.wal.length + 1)));
    else {
      const a = run.acks[Math.floor(rand() * run.acks.length)]!;
      xs.push(Math.max(0, Math.min(run.wal.length, a.wal + Math.floor(rand() * 64) - 32)));
    }
  }
  return xs;
}

function ackedBy(run: Run, x: number): number {
  let n = 0;
  for (const a of run.acks) if (a.wal <= x) n = Math.max(n, a.n);
  return n;
}

describe(`WAL cut at random offsets (${CUTS} cuts per durability)`, () => {
  it("durability 'power': every record acknowledged before the cut point survives; the copy verifies", async () => {
    const run = await writeAndKill('power');
    for (const [i, x] of cutOffsets(run, 11).entries()) {
      const path = openCut(run, x, i);
      const present = recordsByWriter(path).get('w') ?? [];
      expect(present, `cut at ${x}`).toEqual(upTo(present.length));
      expect(present.length, `cut at ${x} of ${run.wal.length}`).toBeGreaterThanOrEqual(ackedBy(run, x));
      const report = verifyLedger(path, { keys: [run.vkey] });
      expect(beyondCrash(report), `cut at ${x}`).toEqual([]);
    }
    // The uncut WAL holds everything acknowledged.
    expect(recordsByWriter(openCut(run, run.wal.length, 999)).get('w')).toEqual(upTo(COUNT));
  }, 120_000);

  it("durability 'process': a cut loses a bounded tail, reported as truncated against the anchor file", async () => {
    const run = await writeAndKill('process');
    let truncatedSeen = 0;
    for (const [i, x] of cutOffsets(run, 12).entries()) {
      const path = openCut(run, x, i);
      const present = recordsByWriter(path).get('w') ?? [];
      expect(present, `cut at ${x}`).toEqual(upTo(present.length));
      // SQLite keeps every commit fully in the prefix: the loss is exactly the cut tail.
      expect(present.length, `cut at ${x}`).toBeGreaterThanOrEqual(ackedBy(run, x));
      // On its own the shorter file is a consistent prefix (its stored checkpoints went with the tail)...
      const alone = verifyLedger(path, { keys: [run.vkey] });
      expect(beyondCrash(alone), `cut at ${x}`).toEqual([]);
      // ...but never silent against a checkpoint kept outside that covers lost records.
      const withAnchor = verifyLedger(path, { keys: [run.vkey], trusted: run.anchorNotes });
      const covered = Math.max(...run.anchorNotes.map((n) => Number(n.split('\n')[1])));
      if (covered > present.length) {
        truncatedSeen++;
        expect(withAnchor.ok, `cut at ${x}: ${present.length} left, anchor covers ${covered}`).toBe(false);
        expect(findingKinds(withAnchor)).toContain('truncated');
      } else {
        // Records all there, but a stored checkpoint the anchor holds may have gone with the
        // tail (its row was not fsynced under 'process'): reported as deleted, never silent.
        const kinds = findingKinds(withAnchor).filter((k) => k !== 'unsealed');
        for (const k of kinds) expect(k, `cut at ${x}`).toBe('deleted');
        if (kinds.length > 0) expect(withAnchor.ok).toBe(false);
      }
    }
    expect(truncatedSeen).toBeGreaterThan(0);
  }, 120_000);
});
