// The ledger worker of one SealogTransport: it owns the sink (privacy
// pipeline, canonical encoding, hash chain, Merkle tree, SQLite commits,
// checkpoints), so none of that runs on the app's event loop. It never throws
// past its handlers: every failure becomes a counted refusal and a message.
import { parentPort, workerData } from 'node:worker_threads';
import { isSealogError, openSink, type Sink } from '@sealog/core';
import { type FromWorker, SLOT, type ToWorker, type WireError, type WorkerData } from './protocol.js';
import { decodeLine } from './wire.js';

const port = parentPort;
if (port === null) throw new Error('@sealog/winston/worker runs only as a worker thread');
const { options, counters } = workerData as WorkerData;
const slots = new BigInt64Array(counters);

let sink: Sink | undefined;
let openFailed = false;
let refusedHere = 0; // lines refused by this worker itself (not by the ledger)
const early: ToWorker[] = []; // messages that arrive while the ledger is opening

const send = (m: FromWorker) => port.postMessage(m);

function wireError(err: unknown): WireError {
  if (isSealogError(err)) return { code: err.code, message: err.message };
  return { code: 'E_IO', message: err instanceof Error ? err.message : String(err) };
}

/** Publishes the counters; the app thread may be blocked waiting on `committed`. */
function publish(): void {
  const s = sink?.stats;
  Atomics.store(slots, SLOT.committed, BigInt(s?.committed ?? 0));
  Atomics.store(slots, SLOT.refused, BigInt((s?.refused ?? 0) + refusedHere));
  Atomics.store(slots, SLOT.failedCommits, BigInt(s?.failedCommits ?? 0));
  Atomics.notify(slots, SLOT.committed);
}

function writeLines(text: string): void {
  let unreadable = 0;
  for (const line of text.split('\n')) {
    if (sink === undefined) {
      refusedHere++; // the ledger never opened; the app was told with openFailed
      continue;
    }
    let record: Record<string, unknown>;
    try {
      record = decodeLine(line);
    } catch {
      refusedHere++;
      unreadable++;
      continue;
    }
    try {
      sink.write(record);
    } catch (err) {
      refusedHere++;
      send({ t: 'warn', error: wireError(err) });
    }
  }
  if (unreadable > 0) {
    // The line's content is not repeated: it may hold values the privacy pipeline would remove.
    send({ t: 'warn', error: { code: 'E_IO', message: `${unreadable} record(s) arrived unreadable` } });
  }
  publish();
}

function answer(m: { t: 'flush' | 'close' | 'sync'; id: number }): void {
  const work = sink === undefined ? Promise.resolve() : m.t === 'close' ? sink.close() : sink.flush();
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
  else answer(m);
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
  (opened) => {
    sink = opened;
    for (const m of early.splice(0)) handle(m);
  },
  (err: unknown) => {
    openFailed = true;
    send({ t: 'openFailed', error: wireError(err) });
    for (const m of early.splice(0)) handle(m);
  },
);
