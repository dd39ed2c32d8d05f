// A minimal node:http server that logs every request with pino into sealog.
// Usage: node app.mjs [dir] [port]  (needs dir/audit.key from `sealog keygen`; prints "listening <port>"; stop it with SIGTERM or Ctrl-C)
import { createServer } from 'node:http';
import { join } from 'node:path';
import pino from 'pino';

const dir = process.argv[2] ?? '.';
const port = Number(process.argv[3] ?? 0);
const logger = pino(
  pino.transport({
    target: '@sealog/pino',
    options: { path: join(dir, 'audit.db'), checkpoint: { keyFile: join(dir, 'audit.key') } },
  }),
);

let nextId = 0;
const server = createServer((req, res) => {
  const started = process.hrtime.bigint();
  const log = logger.child({ reqId: ++nextId });
  res.on('finish', () => {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    log.info({ method: req.method, url: req.url, status: res.statusCode, ms }, 'request completed');
  });
  res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'text/plain' });
  res.end('ok\n');
});

// The shutdown handler sealog documents: stop accepting, log, then process.exit().
// pino's exit hook flushes the worker and waits for the ledger to commit and close.
function shutdown(signal) {
  server.close();
  logger.info({ signal }, 'shutting down');
  process.exit(0);
}
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);

server.listen(port, '127.0.0.1', () => {
  logger.info({ port: server.address().port }, 'listening');
  console.log(`listening ${server.address().port}`);
});
