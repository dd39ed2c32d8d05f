import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openSink, verifyLedger } from '../../packages/core/src/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { makeKey, recordsByWriter, upTo } from './harness.js';

// The clock goes backwards (NTP step, VM restore): both the records' own
// `time` and the process clock the checkpointer signs with. Order in the
// ledger is seq, never time, so entries keep the order they were logged in;
// checkpoints signed with an earlier time than their predecessors still
// verify (signed time is the writer's clock, see SECURITY.md) and the chain
// does not care.

afterEach(() => {
  vi.useRealTimers();
});

const DAY = 86_400_000;

describe('clock going backwards', () => {
  it('keeps seq order and valid checkpoints when record times and the process clock jump back', async () => {
    const dir = tempDir();
    const path = join(dir, 'clock.db');
    const key = makeKey(dir);
    const t0 = Date.UTC(2026, 0, 10);
    vi.setSystemTime(t0);
    const sink = await openSink({
      path,
      batchDelayMs: 1,
      checkpoint: { keyFile: key.keyFile, everyRecords: 40 },
    });
    let n = 0;
    const phase = async (clock: number, timeOf: (i: number) => number | undefined) => {
      vi.setSystemTime(clock);
      for (let i = 0; i < 100; i++, n++) {
        const time = timeOf(i);
        sink.write(time === undefined ? { w: 'w', n } : { w: 'w', n, time });
      }
      await sink.flush();
      await new Promise((r) => setTimeout(r, 20)); // let the checkpointer seal under this clock
    };
    await phase(t0, (i) => t0 + i);
    await phase(t0 - DAY, (i) => t0 - i * 1000); // record times run backwards too
    await phase(t0 - 3 * DAY, () => undefined); // no time field: the (earlier) clock is used
    await phase(t0 - 3 * DAY - 1, (i) => (i % 2 ? t0 + DAY : t0 - 10 * DAY)); // times jump both ways
    await sink.close();

    expect(recordsByWriter(path).get('w')).toEqual(upTo(n));
    const report = verifyLedger(path, { keys: [key.vkey, key.cosignerVkey], strict: true });
    expect(report.findings).toEqual([]);
    const times = report.checkpoints.map((c) => c.time);
    expect(times.length).toBeGreaterThan(4);
    for (const t of times) expect(typeof t).toBe('number');
    // The signed times really went backwards (the test exercised what it claims).
    expect(times.some((t, i) => i > 0 && t! < times[i - 1]!)).toBe(true);
    const cli = await runCli(['verify', path, '--key', key.vkey, '--key', key.cosignerVkey, '--strict']);
    expect(cli.code, cli.out + cli.err).toBe(0);
  });
});
