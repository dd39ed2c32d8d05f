// pino with several targets: a JSON file, pretty output, and the sealog ledger.
// Usage: node app.mjs [dir]  (needs dir/audit.key from `sealog keygen`; writes dir/app.log, dir/pretty.log, dir/audit.db)
import { join } from 'node:path';
import pino from 'pino';

const dir = process.argv[2] ?? '.';
const transport = pino.transport({
  targets: [
    { target: 'pino/file', options: { destination: join(dir, 'app.log') }, level: 'debug' },
    { target: 'pino-pretty', options: { destination: join(dir, 'pretty.log'), colorize: false } },
    // Audit ledger: only info and above are sealed.
    {
      target: '@sealog/pino',
      options: { path: join(dir, 'audit.db'), checkpoint: { keyFile: join(dir, 'audit.key') } },
      level: 'info',
    },
  ],
});
const logger = pino({ level: 'debug' }, transport);

logger.debug({ cache: 'warm' }, 'startup detail (file and pretty only)');
for (let i = 0; i < 10; i++) logger.info({ order: i, amount: 10 * i }, 'order placed');
logger.error({ order: 3 }, 'payment declined');
