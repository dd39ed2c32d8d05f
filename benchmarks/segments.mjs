// Scenario: what rotating into segments costs the commit path (issue 18).
// A signing sink (full privacy pipeline, checkpoint every 1000 records) is fed
// at a steady rate, and every store commit is timed. Beside it, the same run
// into one ledger file (no segments): the peer. With segments (maxBytes small,
// so the run rotates often), commits are split into those that rotated (closed
// the segment, derived its head, created and opened the next) and the others.
// Printed: p50 / p99 / longest commit of each kind, and the ratio of the
// rotating commits' longest and p99 to the others' (1 = no stall beyond a
// normal commit). Final seals of closed segments run on the sealer, off the
// commit path, and are not in these numbers. Measures; asserts nothing.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openSink } from '@sealog/core';
import { loggedRecords, machine, makeKeys, QUICK, scale, sealogOptions, table, workDir } from './lib.mjs';

/** Records per second offered, in ticks of TICK_MS. */
const RATE = 10_000;
const TICK_MS = 10;
const SECONDS = scale(20, 2);
const MAX_BYTES = scale(2 * 1024 * 1024, 256 * 1024);

const dir = workDir();
const keys = makeKeys(dir);
const records = loggedRecords(5_000);

const pct = (xs, p) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function run(name, extra) {
  const sink = await openSink(sealogOptions(join(dir, name), keys, extra));
  const store = sink.ledger.store;
  const plain = [];
  const rotating = [];
  const append = store.append.bind(store);
  store.append = (batch) => {
    const before = store.current?.index;
    const t0 = performance.now();
    const r = append(batch);
    const ms = performance.now() - t0;
    (store.current !== undefined && store.current.index !== before ? rotating : plain).push(ms);
    return r;
  };
  const perTick = (RATE * TICK_MS) / 1000;
  const ticks = (SECONDS * 1000) / TICK_MS;
  const t0 = performance.now();
  let n = 0;
  for (let t = 0; t < ticks; t++) {
    for (let i = 0; i < perTick; i++) sink.write(records[n++ % records.length]);
    const next = t0 + (t + 1) * TICK_MS;
    await sleep(Math.max(0, next - performance.now()));
  }
  await sink.close();
  return { plain, rotating, segments: store.current?.index ?? 1, records: n };
}

const single = await run('single.db', {});
const seg = await run('segmented', { segments: { maxBytes: MAX_BYTES } });
const row = (name, xs, extra = {}) => ({
  commits: name,
  n: xs.length,
  'p50 ms': pct(xs, 50),
  'p99 ms': pct(xs, 99),
  'max ms': Math.max(...xs),
  ...extra,
});
const others = seg.plain;
table(
  `Commit latency across rotations: ${RATE} records/s for ${SECONDS} s, maxBytes ${MAX_BYTES} (${seg.segments} segments) — ${machine()}`,
  [
    row('one file (peer)', single.plain),
    row('segments, not rotating', others),
    row('segments, rotating', seg.rotating, {
      'max / others max': Math.max(...seg.rotating) / Math.max(...others),
      'max / others p99': Math.max(...seg.rotating) / pct(others, 99),
      'p99 / others p99': pct(seg.rotating, 99) / pct(others, 99),
    }),
  ],
);
if (!QUICK && seg.rotating.length === 0) console.log('no rotation happened: lower MAX_BYTES');
