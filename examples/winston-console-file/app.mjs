// winston with Console and File transports; sealog is one more entry in the list.
// Usage: node app.mjs [dir]  (needs dir/audit.key from `sealog keygen`; writes dir/app.log and dir/audit.db)
import { join } from 'node:path';
import { SealogTransport } from '@sealog/winston';
import winston from 'winston';

const dir = process.argv[2] ?? '.';
const logger = winston.createLogger({
  level: 'info',
  format: winston.format.json(),
  transports: [
    new winston.transports.Console({ format: winston.format.simple() }),
    new winston.transports.File({ filename: join(dir, 'app.log') }),
    new SealogTransport({ path: join(dir, 'audit.db'), checkpoint: { keyFile: join(dir, 'audit.key') } }),
  ],
});

logger.info('user logged in', { user: 'u-42' });
logger.warn('large export', { user: 'u-42', rows: 1200 });
logger.error('export failed', { user: 'u-42', reason: 'quota exceeded' });

// end() makes every transport finish; the logger's 'finish' means the ledger is committed.
logger.on('finish', () => console.log('all transports finished'));
logger.end();
