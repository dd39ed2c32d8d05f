// Red team, core level: gap records and the ledger's refusal path.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GapCounter, Intake, Ledger, parseGap, Sink } from '../../../packages/core/src/index.js';
import { readVerified, tempDir } from '../../transport-helpers.js';

describe('red team: forging a gap record', () => {
  it('a record whose _sealog getter answers undefined once cannot pose as a gap', async () => {
    const path = join(tempDir(), 'a.db');
    const ledger = Ledger.open({ path, batchDelayMs: 0 });
    let reads = 0;
    const forged = { msg: 'hello', time: 1 } as Record<string, unknown>;
    Object.defineProperty(forged, '_sealog', {
      enumerable: true,
      // topLevel() reads it once to decide whether to rename; the encoder reads it again.
      get: () =>
        reads++ === 0
          ? undefined
          : { gap: { first: 0, last: 0, levels: { 30: 999 }, reason: 'overload', records: 999 } },
    });
    await ledger.append(forged);
    await ledger.close();
    const [entry] = readVerified(path);
    expect(parseGap(entry), JSON.stringify(entry)).toBeUndefined();
  });
});

describe('red team: level names in gap counts', () => {
  it('a record logged at level "__proto__" is still counted by level', () => {
    const c = new GapCounter('overload');
    c.add('__proto__', 1, 3);
    c.add(30, 2, 1);
    const g = c.take()!;
    const sum = Object.values(g.levels).reduce((a, b) => a + b, 0);
    expect({ records: g.records, byLevel: sum }).toEqual({ records: 4, byLevel: 4 });
  });

  it('a gap counted on another thread (merge, as the winston worker does) keeps its records', () => {
    const app = new GapCounter('overload');
    app.add('__proto__', 1, 3);
    const posted = structuredClone(app.take()!); // as postMessage carries it
    const worker = new GapCounter('overload');
    worker.merge(posted);
    expect(worker.records).toBe(3);
  });

  it('a refused record whose level is a lone surrogate does not make the next write throw', async () => {
    const path = join(tempDir(), 'a.db');
    // maxPending 1 and a long batch delay: the second record is refused and counted.
    const ledger = Ledger.open({ path, maxPending: 1, batchDelayMs: 60_000 });
    ledger.write({ level: 30, msg: 'kept' });
    ledger.write({ level: '\uD800', msg: 'refused' }); // counted in a gap (Ledger.#refuse)
    await ledger.flush();
    // Ledger.write is documented "Never throws for bad record content".
    expect(() => ledger.write({ level: 30, msg: 'after' })).not.toThrow();
    await ledger.close().catch(() => {});
  });
});

describe('red team: lines that reach an intake while it closes', () => {
  const decode = (l: string) => JSON.parse(l) as Record<string, unknown>;
  const peek = (l: string) => {
    const r = JSON.parse(l) as { level: number; time: number };
    return { level: r.level, time: r.time };
  };
  it('a line shed during close() is sealed in a gap record (close() says nothing accepted is shed on close)', async () => {
    const path = join(tempDir(), 'a.db');
    const ledger = Ledger.open({ path, batchDelayMs: 0, maxQueueBytes: 64 * 1024 });
    const sink = new Sink(ledger, [], [], () => {});
    const intake = new Intake(sink, { policy: 'shed', decode, peek });
    const line = (i: number) =>
      JSON.stringify({ level: 30, time: 1_700_000_000_000 + i, i, pad: 'x'.repeat(200) });
    let i = 0;
    for (; i < 1000; i++) intake.push(line(i)); // overflows: some shed, counted
    const closing = intake.close();
    // push() still answers true ("taken") while close() is flushing: these are shed (queue full)
    for (let k = 0; k < 500; k++, i++) expect(intake.push(line(i))).toBe(true);
    await closing;
    const entries = readVerified(path);
    const stored = entries.filter((e) => !parseGap(e)).length;
    const shed = entries.reduce((n, e) => n + (parseGap(e)?.records ?? 0), 0);
    expect({ accounted: stored + shed, intakeShed: intake.shed }).toEqual({ accounted: i, intakeShed: shed });
  });
});
