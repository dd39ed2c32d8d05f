// Worker thread entry of the prepare pool (pool.ts): loads the decoder, builds
// the sink's transforms with its own ε-budget connection, then prepares each
// batch it is sent and hands the buffers back (transferred, not copied).
// Errors cross as {code, message} only: a non-sealog error's text or cause may
// quote a record, so it never leaves this thread.
import { parentPort, workerData } from 'node:worker_threads';
import { isSealogError, type SealogErrorCode } from '../errors.js';
import {
  type BatchBuffers,
  type DecoderSpec,
  openPreparer,
  type Preparer,
  type PrepareSinkOptions,
  prepareLines,
} from './decoders.js';

/** An error as it crosses threads: code and a value-free message, never a cause or stack. */
export interface WireError {
  code: SealogErrorCode;
  message: string;
}

/** workerData of pool-worker.ts. */
export interface PoolWorkerData {
  decoder: DecoderSpec;
  sink: PrepareSinkOptions;
}

/** A batch's text arrives as parts cut at line ends (pool.ts `parts`): its lines are theirs, in order. */
export type ToPoolWorker = { t: 'batch'; id: number; parts: string[]; now: number } | { t: 'close' };
export type FromPoolWorker =
  | { t: 'ready' }
  | { t: 'openFailed'; error: WireError }
  | ({ t: 'done'; id: number; warnings: WireError[] } & BatchBuffers);

const port = parentPort;
if (port === null) throw new Error('@sealog/core pool-worker runs only as a worker thread');
const data = workerData as PoolWorkerData;

function wire(err: unknown, fallback: string): WireError {
  return isSealogError(err) ? { code: err.code, message: err.message } : { code: 'E_IO', message: fallback };
}

function serve(p: Preparer): void {
  port!.on('message', (m: ToPoolWorker) => {
    if (m.t === 'close') {
      p.close(); // hands unused ε leases back to the ledger's budget table
      port!.close();
      return;
    }
    const warnings: WireError[] = [];
    const out = prepareLines(m.parts, m.now, p, (err) =>
      warnings.push(wire(err, 'a record failed to prepare')),
    );
    const msg: FromPoolWorker = { t: 'done', id: m.id, warnings, ...out };
    port!.postMessage(msg, [out.bytes, out.lengths.buffer, out.ts.buffer]);
  });
  port!.postMessage({ t: 'ready' } satisfies FromPoolWorker);
}

openPreparer(data.decoder, data.sink).then(serve, (err: unknown) => {
  port.postMessage({
    t: 'openFailed',
    error: wire(err, 'a prepare worker could not start'),
  } satisfies FromPoolWorker);
  port.close();
});
