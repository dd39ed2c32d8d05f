// Helpers for benchmarks that run real pino transports (worker threads).
import pino from 'pino';

/** Ends a pino transport and resolves when its worker has closed (everything committed). */
export function endTransport(transport) {
  // pino unrefs the worker: hold the loop open while waiting for close.
  const keepAlive = setInterval(() => {}, 1000);
  return new Promise((resolve, reject) => {
    transport.once('error', reject);
    transport.once('close', () => {
      clearInterval(keepAlive);
      resolve();
    });
    transport.end();
  });
}

/** A pino logger over one transport target, and its transport. Waits for the worker to be ready. */
export async function loggerFor(target, options) {
  const transport = pino.transport({ target, options });
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
