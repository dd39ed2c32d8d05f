// Red team: overload 'block' with a ledger that commits on a slow but healthy
// schedule (batchDelayMs 1500, a valid option up to 2^31-1 ms). The stall
// detector reads "no commit for stallMs (1 s)" as a failing store and sheds,
// although nothing is wrong with the store.
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { parseGap } from '../../../packages/core/src/index.js';
import { PINO_TARGET, readVerified, tempDir } from '../../transport-helpers.js';

describe('red team: block vs a slow commit schedule', () => {
  it('pino block + sync: nothing shed when the ledger commits every 1.5 s', async () => {
    const dir = tempDir();
    const transport = pino.transport({
      target: PINO_TARGET,
      options: {
        path: join(dir, 'a.db'),
        maxQueueBytes: 64 * 1024,
        overload: 'block',
        batchDelayMs: 1500,
        batchSize: 1_000_000,
        workers: 0,
      },
      sync: true,
    });
    const logger = pino(transport);
    for (let i = 0; i < 3000; i++) logger.info({ i, pad: 'x'.repeat(100) }, 'm');
    await new Promise<void>((res) => {
      transport.once('close', () => res());
      transport.end();
    });
    const entries = readVerified(join(dir, 'a.db'));
    const shed = entries.reduce((n, e) => n + (parseGap(e)?.records ?? 0), 0);
    expect(shed).toBe(0);
  }, 60_000);
});
