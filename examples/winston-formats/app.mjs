// winston with the usual formats: timestamp, errors with stacks, splat and JSON.
// Usage: node app.mjs [dir]  (needs dir/audit.key from `sealog keygen`; writes dir/audit.db)
import { join } from 'node:path';
import { SealogTransport } from '@sealog/winston';
import winston from 'winston';

const { format } = winston;
const dir = process.argv[2] ?? '.';
const logger = winston.createLogger({
  level: 'debug',
  format: format.combine(format.timestamp(), format.errors({ stack: true }), format.splat(), format.json()),
  defaultMeta: { service: 'billing' },
  transports: [
    new winston.transports.Console({ format: format.combine(format.colorize(), format.simple()) }),
    new SealogTransport({ path: join(dir, 'audit.db'), checkpoint: { keyFile: join(dir, 'audit.key') } }),
  ],
});

logger.info('invoice %s issued for %d EUR', 'INV-7', 120, { customer: 'c-9' });
logger.debug('cache stats', { hits: 12, misses: 3 });
logger.error('charge failed', new Error('card declined'));
logger.child({ requestId: 'r-1' }).warn('retrying charge');

logger.on('finish', () => console.log('all transports finished'));
logger.end();
