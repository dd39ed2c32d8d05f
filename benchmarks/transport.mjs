// Helpers for benchmarks that run real pino transports (worker threads).
import pino from 'pino';

/**
 * Ends a pino transport and resolves when its worker has closed (everything
 * committed): `true`, or `false` if `timeoutMs` passed first (the worker is
 * left running; the caller reports it and exits).
 */
export function endTransport(transport, { timeoutMs } = {}) {
  // pino unrefs the worker: hold the loop open while waiting for close.
  const keepAlive = setInterval(() => {}, 1000);
  let timer;
  return new Promise((resolve, reject) => {
    transport.once('error', reject);
    transport.once('close', () => resolve(true));
    if (timeoutMs !== undefined) timer = setTimeout(() => resolve(false), timeoutMs);
    transport.end();
  }).finally(() => {
    clearInterval(keepAlive);
    clearTimeout(timer);
  });
}

/**
 * A pino logger over one transport target, and its transport. Waits for the
 * worker to be ready; rejects with the worker's startup error (e.g. sealog's
 * E_CONFIG). `sync: true` makes logger.info block while the worker's buffer is
 * full instead of growing it in the app's thread (thread-stream's option).
 */
export async function loggerFor(target, options, { sync = false } = {}) {
  const transport = pino.transport({ target, options, ...(sync ? { sync: true } : {}) });
  // Create the logger first: with expectPinoConfig the worker becomes ready only
  // after pino has sent it the logger's config.
  const logger = pino({ base: { pid: process.pid, hostname: 'bench' } }, transport);
  const keepAlive = setInterval(() => {}, 1000);
  await new Promise((resolve, reject) => {
    transport.once('ready', resolve);
    transport.once('error', reject);
  }).finally(() => clearInterval(keepAlive));
  return { logger, transport };
}

/**
 * True when `err` is sealog refusing `option` as unknown: an option another
 * change is adding that this build does not have yet. The row then says so
 * instead of the scenario failing.
 */
export function notBuiltYet(err, option) {
  const message = String(err?.message);
  return (
    (err?.code === 'E_CONFIG' || message.includes('E_CONFIG')) &&
    message.includes(`unknown sealog option "${option}"`)
  );
}
