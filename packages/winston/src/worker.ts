// The ledger worker of one SealogTransport: it owns the sink (privacy
// pipeline, canonical encoding, hash chain, Merkle tree, SQLite commits,
// checkpoints), so none of that runs on the app's event loop. It never throws
// past its handlers: every failure becomes a counted refusal and a message.
import { parentPort, workerData } from 'node:worker_threads';
import {
  DEFAULT_MAX_QUEUE_BYTES,
  Intake,
  isSealogError,
  type LinePeek,
  openSink,
  openTransportPool,
  type PreparePool,
  recordTime,
  type Sink,
  validateSinkOptions,
} from '@sealog/core';
import { winstonDecoder } from './decode.js';
import { type FromWorker, SLOT, type ToWorker, type WireError, type WorkerData } from './protocol.js';
import { decodeLine } from './wire.js';

const port = parentPort;
if (port === null) throw new Error('@sealog/winston/worker runs only as a worker thread');
const { options, counters } = workerData as WorkerData;
const slots = new BigInt64Array(counters);

let sink: Sink | undefined;
let intake: Intake | undefined;
let openFailed = false;
let refusedHere = 0; // lines refused by this worker itself (the ledger never opened)
let received = 0; // lines taken from the app thread
let settled = 0; // of those, no longer held in this worker's memory
const early: ToWorker[] = []; // messages that arrive while the ledger is opening

const send = (m: FromWorker) => port.postMessage(m);

function wireError(err: unknown): WireError {
  if (isSealogError(err)) return { code: err.code, message: err.message };
  return { code: 'E_IO', message: err instanceof Error ? err.message : String(err) };
}

/** Publishes the counters; the app thread may be blocked waiting on `committed` or `settled`. */
function publish(): void {
  const s = sink?.stats;
  Atomics.store(slots, SLOT.committed, BigInt(s?.committed ?? 0));
  Atomics.store(slots, SLOT.refused, BigInt((s?.refused ?? 0) + refusedHere));
  Atomics.store(slots, SLOT.failedCommits, BigInt(s?.failedCommits ?? 0));
  // What the app thread's memory bound counts as still in flight: queued here or in the ledger.
  const held = (intake?.queued ?? 0) + (intake?.preparing ?? 0) + (s?.pending ?? 0);
  settled = Math.max(settled, received - held);
  Atomics.store(slots, SLOT.settled, BigInt(settled));
  Atomics.notify(slots, SLOT.committed);
  Atomics.notify(slots, SLOT.settled);
}

/** Level and time of a line shed here (rare: the app thread bounds what it posts). */
function peek(line: string): LinePeek {
  try {
    const r = decodeLine(line);
    const level = typeof r.level === 'string' || typeof r.level === 'number' ? r.level : undefined;
    return { level, time: recordTime(r, Date.now()) };
  } catch {
    return { level: undefined, time: Date.now() };
  }
}

function writeLines(text: string): void {
  const lines = text.split('\n');
  received += lines.length;
  if (intake === undefined) {
    refusedHere += lines.length; // the ledger never opened; the app was told with openFailed
  } else {
    for (const line of lines) intake.push(line);
  }
  publish();
}

function answer(m: { t: 'flush' | 'close' | 'sync'; id: number }): void {
  const work = intake === undefined ? Promise.resolve() : m.t === 'close' ? intake.close() : intake.flush();
  work.then(
    () => finish(m),
    (err: unknown) => finish(m, wireError(err)),
  );
}

function finish(m: { t: 'flush' | 'close' | 'sync'; id: number }, error?: WireError): void {
  publish();
  if (m.t === 'sync') {
    Atomics.store(slots, SLOT.synced, BigInt(m.id));
    Atomics.notify(slots, SLOT.synced);
    return;
  }
  send(error === undefined ? { t: 'done', id: m.id } : { t: 'done', id: m.id, error });
  if (m.t === 'close') port?.close(); // nothing left to do: let the thread end
}

function handle(m: ToWorker): void {
  if (typeof m === 'string') writeLines(m);
  else if (m.t === 'gap') {
    // Counted on the app thread (overload): sealed between the lines posted before and after it.
    if (intake !== undefined) intake.addGap(m.gap);
    else refusedHere += m.gap.records;
    publish();
  } else answer(m);
}

port.on('message', (m: ToWorker) => {
  if (sink === undefined && !openFailed) early.push(m);
  else handle(m);
});

openSink(options, {
  onError: (err) => send({ t: 'warn', error: wireError(err) }),
  // Counters are published at every commit (including timer-driven ones), so
  // `stats` and the app thread's in-flight bound see progress as it happens.
  onCommit: () => publish(),
}).then(
  async (opened) => {
    const decode = winstonDecoder();
    // Validated on the app thread already; this fills in the privacy defaults the pool's workers need.
    const validated = validateSinkOptions(options);
    let pool: PreparePool | undefined;
    try {
      pool = await openTransportPool(
        validated.workers,
        { module: new URL('./decode.js', import.meta.url).href, name: 'winstonDecoder', config: null },
        validated,
        (err) => send({ t: 'warn', error: wireError(err) }),
      );
    } catch (err) {
      // Records are prepared on this thread instead: slower, nothing lost.
      send({ t: 'warn', error: wireError(err) });
    }
    intake = new Intake(opened, {
      // The app thread bounds what it posts (maxQueueBytes), so this intake sheds only as a last resort.
      policy: 'shed',
      // Lines are counted in characters on the app thread and entries in bytes here (a
      // pseudonymised entry outgrows its line): four times the bound keeps this a last resort.
      maxBytes: 4 * (validated.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES),
      decode: (line) => decode(line, Date.now()),
      peek,
      onError: (err) => send({ t: 'warn', error: wireError(err) }),
      ...(pool ? { pool } : {}),
    });
    sink = opened; // only now: messages that arrived meanwhile wait in `early`, in order
    Atomics.store(slots, SLOT.opened, 1n);
    for (const m of early.splice(0)) handle(m);
  },
  (err: unknown) => {
    openFailed = true;
    Atomics.store(slots, SLOT.opened, 1n);
    send({ t: 'openFailed', error: wireError(err) });
    for (const m of early.splice(0)) handle(m);
  },
);
