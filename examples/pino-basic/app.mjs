// Plain pino app. The only sealog line is the transport; log calls are unchanged.
// Usage: node app.mjs [dir]  (needs dir/audit.key from `sealog keygen`; writes dir/audit.db)
import { join } from 'node:path';
import pino from 'pino';

const dir = process.argv[2] ?? '.';
const logger = pino(
  pino.transport({
    target: '@sealog/pino',
    options: { path: join(dir, 'audit.db'), checkpoint: { keyFile: join(dir, 'audit.key') } },
  }),
);

logger.info({ user: 'u-42', action: 'login' }, 'user logged in');
logger.warn({ user: 'u-42', action: 'export', rows: 1200 }, 'large export');
logger.error({ err: new Error('quota exceeded') }, 'export failed');
// Nothing else to do: on normal exit pino ends the transport, which commits and closes the ledger.
