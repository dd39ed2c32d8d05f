// Scenario: what rotating into segments costs logging (issue 18).
// A signing sink (full privacy pipeline, checkpoint every 1000 records) is fed
// at a steady rate, and every store commit is timed. Beside it, the same run
// into one ledger file (no segments): the peer. With segments (maxBytes small,
// so the run rotates often), every rotation is timed where it runs: inside a
// commit (the commit that found its segment due: close, final head, link and
// open the next, bind it) or in its own event-loop turn right after the commit
// that filled the segment (SegmentedStore.#rotateSoon). Printed: p50 / p99 /
// longest of each, the ratio of the longest rotation to the other commits' p99
// and to the peer's (1 = no stall beyond a normal commit), and the event-loop
// delay of each run (what a record arriving at any moment waits for: commits,
// rotations, everything else). Final seals of closed segments run on the
// sealer, off these paths. Measures; asserts nothing.
//
// SEALOG_CORE=[label=]<core index.js>[,...]: the segmented scenario once per
// build, one after the other in this run (before/after a change); the peer
// runs on the first.
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { loggedRecords, machine, makeKeys, QUICK, scale, sealogOptions, table, workDir } from './lib.mjs';

/** Records per second offered, in ticks of TICK_MS. */
const RATE = 10_000;
const TICK_MS = 10;
const SECONDS = scale(20, 2);
const MAX_BYTES = scale(2 * 1024 * 1024, 256 * 1024);
const builds = (process.env.SEALOG_CORE ?? '@sealog/core').split(',').map((b) => {
  const [name, path] = b.includes('=') ? b.split('=') : [b, b];
  return { name, path };
});

const dir = workDir();
const keys = makeKeys(dir);
const records = loggedRecords(5_000);

const pct = (xs, p) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const max = (xs) => (xs.length === 0 ? Number.NaN : Math.max(...xs));

async function run(build, name, extra) {
  const { openSink } = await import(build.path);
  const sink = await openSink(sealogOptions(join(dir, name), keys, extra));
  const store = sink.ledger.store;
  const plain = [];
  const rotating = [];
  const between = [];
  const index = () => store.current?.index;
  const append = store.append.bind(store);
  store.append = (batch) => {
    const before = index();
    const t0 = performance.now();
    const r = append(batch);
    const ms = performance.now() - t0;
    (index() !== before ? rotating : plain).push(ms);
    return r;
  };
  // A rotation in its own turn runs in a setImmediate callback: time the callbacks that rotate.
  const realImmediate = globalThis.setImmediate;
  globalThis.setImmediate = (fn, ...args) =>
    realImmediate(() => {
      const before = index();
      const t0 = performance.now();
      try {
        fn(...args);
      } finally {
        if (index() !== before) between.push(performance.now() - t0);
      }
    });
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const perTick = (RATE * TICK_MS) / 1000;
  const ticks = (SECONDS * 1000) / TICK_MS;
  const t0 = performance.now();
  let n = 0;
  try {
    for (let t = 0; t < ticks; t++) {
      for (let i = 0; i < perTick; i++) sink.write(records[n++ % records.length]);
      const next = t0 + (t + 1) * TICK_MS;
      await sleep(Math.max(0, next - performance.now()));
    }
  } finally {
    loop.disable();
    globalThis.setImmediate = realImmediate;
  }
  await sink.close();
  const ms = (ns) => ns / 1e6;
  const delay = { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) };
  return { plain, rotating, between, delay, segments: index() ?? 1, records: n };
}

const label = (build) => (builds.length > 1 ? ` [${build.name}]` : '');
const single = await run(builds[0], 'single.db', {});
const segs = [];
for (const [i, build] of builds.entries()) {
  segs.push({ build, ...(await run(build, `segmented-${i}`, { segments: { maxBytes: MAX_BYTES } })) });
}
const row = (name, xs, extra = {}) => ({
  commits: name,
  n: xs.length,
  'p50 ms': pct(xs, 50),
  'p99 ms': pct(xs, 99),
  'max ms': max(xs),
  ...extra,
});
const peerP99 = pct(single.plain, 99);
table(
  `Commit latency across rotations: ${RATE} records/s for ${SECONDS} s, maxBytes ${MAX_BYTES} (${segs.map((s) => s.segments).join(', ')} segments) — ${machine()}`,
  [
    row('one file (peer)', single.plain),
    ...segs.flatMap((seg) => {
      const others = seg.plain;
      const longest = max([...seg.rotating, ...seg.between]);
      return [
        row(`segments, not rotating${label(seg.build)}`, others),
        row(`segments, rotating in a commit${label(seg.build)}`, seg.rotating),
        row(`segments, rotating between commits${label(seg.build)}`, seg.between, {
          'longest rotation / others p99': longest / pct(others, 99),
          'longest rotation / others max': longest / max(others),
          'longest rotation / peer p99': longest / peerP99,
        }),
      ];
    }),
  ],
);
table('Event-loop delay (what any record waits for, ms)', [
  { run: 'one file (peer)', ...single.delay },
  ...segs.map((seg) => ({ run: `segments${label(seg.build)}`, ...seg.delay })),
]);
if (!QUICK && segs.some((s) => s.rotating.length + s.between.length === 0)) {
  console.log('no rotation happened: lower MAX_BYTES');
}
