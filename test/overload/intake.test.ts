// The intake's overload policy on a real SQLite ledger, driven synchronously so
// every outcome is exact: what fits is stored in order, what does not is
// counted in a sealed gap record in its place; `block` sheds nothing while the
// store moves and sheds (as store-failing) only after it stalls.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Intake,
  Ledger,
  type PendingEntry,
  parseGap,
  Sink,
  SqliteStore,
  type Store,
} from '../../packages/core/src/index.js';
import { readVerified, tempDir } from '../transport-helpers.js';
import { checkAccounting, type Logged } from './accounting.js';

const LEVELS = [30, 40, 50, 'audit'] as const;

function line(i: number): { text: string; logged: Logged } {
  const level = LEVELS[i % LEVELS.length] as string | number;
  const time = 1_700_000_000_000 + i * 7;
  return { text: JSON.stringify({ level, time, i, pad: 'x'.repeat(60) }), logged: { i, level, time } };
}

function open(path: string, store?: Store) {
  const errors: string[] = [];
  const opts = { path, batchDelayMs: 0, maxQueueBytes: 64 * 1024 };
  const ledger = store ? new Ledger(store, opts) : Ledger.open(opts);
  const sink = new Sink(ledger, [], [], (e) => errors.push(e.message));
  return { ledger, sink, errors };
}

const decode = (l: string) => JSON.parse(l) as Record<string, unknown>;
const peek = (l: string) => {
  const r = JSON.parse(l) as { level: string | number; time: number };
  return { level: r.level, time: r.time };
};

describe('Intake overload policy', () => {
  it('shed: what fits is stored in order, the rest is counted by a gap record in its place', async () => {
    const path = join(tempDir(), 'a.db');
    const { sink } = open(path);
    const intake = new Intake(sink, { policy: 'shed', decode, peek });
    const logged: Logged[] = [];
    // 3000 lines of ~110 bytes in one synchronous turn: nothing is prepared meanwhile, so
    // the first ~600 fill the 64 KiB bound and the rest are shed.
    for (let i = 0; i < 3000; i++) {
      const l = line(i);
      logged.push(l.logged);
      expect(intake.push(l.text)).toBe(true); // shed never asks the producer to wait
    }
    expect(intake.shed).toBeGreaterThan(2000);
    await intake.flush();
    // After the overload: stored again, after the gap.
    for (let i = 3000; i < 3100; i++) {
      const l = line(i);
      logged.push(l.logged);
      intake.push(l.text);
    }
    await intake.close();
    const entries = readVerified(path);
    const r = checkAccounting(entries, logged);
    expect(r).toEqual({ stored: 3100 - intake.shed, shed: intake.shed, gaps: 1 });
    expect(parseGap(entries.find((e) => parseGap(e)))?.reason).toBe('overload');
    expect(sink.stats.refused).toBe(intake.shed);
  });

  it('shed: each overload is one gap record, not one per record (shedding lasts until half the bound is free)', async () => {
    const path = join(tempDir(), 'a.db');
    const { sink } = open(path);
    const intake = new Intake(sink, { policy: 'shed', decode, peek });
    const logged: Logged[] = [];
    let i = 0;
    for (let round = 0; round < 5; round++) {
      for (let k = 0; k < 1500; k++, i++) {
        const l = line(i);
        logged.push(l.logged);
        intake.push(l.text);
      }
      // Let the pump run a little between bursts, as a worker's event loop does.
      await new Promise((r) => setImmediate(r));
    }
    await intake.close();
    const r = checkAccounting(readVerified(path), logged);
    expect(r.stored + r.shed).toBe(i);
    expect(r.gaps).toBeLessThanOrEqual(5);
    expect(r.gaps).toBeGreaterThan(0);
  });

  it('block: push() asks the producer to wait when full, room() resolves once prepared, nothing is shed', async () => {
    const path = join(tempDir(), 'a.db');
    const { sink } = open(path);
    const intake = new Intake(sink, { policy: 'block', decode, peek });
    const logged: Logged[] = [];
    let waits = 0;
    for (let i = 0; i < 3000; i++) {
      const l = line(i);
      logged.push(l.logged);
      if (!intake.push(l.text)) {
        waits++;
        await intake.room();
      }
    }
    await intake.close();
    expect(waits).toBeGreaterThan(0);
    expect(intake.shed).toBe(0);
    expect(checkAccounting(readVerified(path), logged)).toEqual({ stored: 3000, shed: 0, gaps: 0 });
  });

  it('block: a store that stops committing releases the producer after stallMs and its records are counted as store-failing', async () => {
    const path = join(tempDir(), 'a.db');
    const real = new SqliteStore(path);
    let broken = false;
    const flaky: Store = {
      display: path,
      append: (batch: readonly PendingEntry[]) => {
        if (broken) throw new Error('disk I/O error');
        return real.append(batch);
      },
      head: () => real.head(),
      addCheckpoint: (h, n, t) => real.addCheckpoint(h, n, t),
      close: () => real.close(),
    };
    const { sink } = open(path, flaky);
    const intake = new Intake(sink, { policy: 'block', decode, peek, stallMs: 50 });
    const logged: Logged[] = [];
    let i = 0;
    const push = () => {
      const l = line(i++);
      logged.push(l.logged);
      return intake.push(l.text);
    };
    for (let k = 0; k < 100; k++) push();
    await intake.flush();
    broken = true;
    // Fill the bound; the store cannot take any of it.
    while (push()) {
      /* until full */
    }
    const t0 = Date.now();
    await intake.room(); // resolves because the ledger stalled, not because there was room
    expect(Date.now() - t0).toBeGreaterThanOrEqual(40);
    for (let k = 0; k < 500; k++) expect(push()).toBe(true); // shed, never waiting
    expect(intake.shed).toBe(500);
    broken = false; // the disk comes back: the retry commits everything held
    await intake.close();
    const entries = readVerified(path);
    const r = checkAccounting(entries, logged);
    expect(r).toEqual({ stored: i - 500, shed: 500, gaps: 1 });
    expect(parseGap(entries.find((e) => parseGap(e)))?.reason).toBe('store-failing');
  });
});

describe('Intake close deadline', () => {
  it('lines still unprepared when close runs out of time are counted in a gap record, in place', async () => {
    const path = join(tempDir(), 'a.db');
    const { sink } = open(path);
    let slow = false;
    const intake = new Intake(sink, {
      policy: 'block',
      decode: (l) => {
        if (slow) {
          const until = Date.now() + 2; // a pipeline far slower than the deadline allows
          while (Date.now() < until) {
            /* busy */
          }
        }
        return decode(l);
      },
      peek,
    });
    const logged: Logged[] = [];
    for (let i = 0; i < 400; i++) {
      const l = line(i);
      logged.push(l.logged);
      intake.push(l.text);
    }
    slow = true;
    await intake.close(50);
    const entries = readVerified(path);
    const r = checkAccounting(entries, logged);
    expect(r.shed).toBeGreaterThan(0);
    expect(r.stored + r.shed).toBe(400);
  });
});
