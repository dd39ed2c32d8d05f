// Test-only line decoders for the prepare pool's tests. Plain JavaScript: real
// worker threads import them, outside the test runner's TypeScript transform.
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { isMainThread, threadId } from 'node:worker_threads';

/** A JSON object as parsed; anything else kept as `{ time, unparsedLine }` (the pino decoder's shape). */
export function json() {
  return (line, now) => {
    try {
      const v = JSON.parse(line);
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v;
    } catch {
      // kept below
    }
    return { time: now, unparsedLine: line };
  };
}

function spin(ms) {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: a worker that is working, not waiting
  }
}

/**
 * JSON lines `{ id, spin? }`: spins `spin` ms, then records which thread
 * prepared the line and when (ms since the epoch, comparable across threads).
 */
export function traced() {
  return (line) => {
    const r = JSON.parse(line);
    if (r.spin) spin(r.spin);
    return { ...r, thread: threadId, at: performance.timeOrigin + performance.now() };
  };
}

/**
 * Lines as `{ line }` after `spinMs`, except: "EXIT" ends the worker once
 * (first time only: `flag` file), "POISON" ends every worker (never the
 * test's own thread), "THROW" throws an error quoting a card number,
 * "REFUSE" is refused.
 */
export function crashing(cfg) {
  return (line) => {
    if (line === 'EXIT' && !existsSync(cfg.flag)) {
      writeFileSync(cfg.flag, '');
      process.exit(7);
    }
    if (line === 'POISON' && !isMainThread) process.exit(9);
    if (line === 'THROW') throw new Error('card 4111 1111 1111 1111 did not parse');
    if (line === 'REFUSE') return Symbol.for('sealog.refuseLine');
    spin(cfg.spinMs ?? 0);
    return { line };
  };
}

/**
 * A decoder that loads on the pool's own thread, and on worker threads logs
 * each load to `log`; the first worker to load it fails after `spinMs`.
 */
export function oneWorkerBroken(cfg) {
  if (!isMainThread) {
    appendFileSync(cfg.log, 'x');
    let first = false;
    try {
      writeFileSync(cfg.flag, '', { flag: 'wx' });
      first = true;
    } catch {
      // another worker was first
    }
    if (first) {
      spin(cfg.spinMs);
      throw new Error('no decoder on this thread');
    }
  }
  return json();
}
