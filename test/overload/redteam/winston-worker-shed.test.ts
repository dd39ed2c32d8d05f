// Red team: winston, default 'shed'. The app thread counts line characters
// in flight; the worker's intake counts its queued line characters plus the
// ledger's queued *entry bytes*. Pseudonyms make an entry several times its
// line, so the worker fills while the app thread sees room, and the worker
// sheds with peek = { level: undefined, time: receive time }: the gap counts
// these records under "unknown" at the wrong time (claim 1: "counted by level
// and time").
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import winston from 'winston';
import { parseGap } from '../../../packages/core/src/index.js';
import { readVerified, tempDir, WINSTON_DIST } from '../../transport-helpers.js';

const N = 30_000;
const T0 = 1_700_000_000_000;

describe('red team: winston worker-side shedding', () => {
  for (const overload of ['shed', 'block'] as const)
    it(`${overload}: every shed record is counted under its own level${overload === 'block' ? ', and block sheds nothing while the ledger commits' : ''}`, async () => {
      const dir = tempDir();
      const key = join(dir, 'psn.key');
      writeFileSync(key, randomBytes(32).toString('base64'), { mode: 0o600 });
      const { SealogTransport } = (await import(
        WINSTON_DIST
      )) as typeof import('../../../packages/winston/src/index.js');
      const fields = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
      const transport = new SealogTransport({
        path: join(dir, 'a.db'),
        maxQueueBytes: 64 * 1024,
        workers: 0,
        overload,
        privacy: { pseudonymize: { paths: fields, keys: [{ id: 'k1', file: key }], current: 'k1' } },
      });
      await transport.flush(); // the worker is up
      const logger = winston.createLogger({ transports: [transport] });
      for (let round = 0; round < 10; round++) {
        for (let i = 0; i < N / 10; i++) {
          const rec: Record<string, unknown> = {
            level: 'warn',
            message: '',
            timestamp: new Date(T0).toISOString(),
          };
          for (const f of fields) rec[f] = 'x';
          logger.log(rec as winston.LogEntry);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      await new Promise<void>((res) => {
        logger.once('finish', () => res());
        logger.end();
      });
      const gaps = readVerified(join(dir, 'a.db'))
        .map((e) => parseGap(e))
        .filter((g) => g !== undefined);
      const byLevel: Record<string, number> = {};
      for (const g of gaps) for (const [l, n] of Object.entries(g.levels)) byLevel[l] = (byLevel[l] ?? 0) + n;
      console.log('gap counts by level', byLevel, 'times', gaps.map((g) => [g.first, g.last]).slice(0, 4));
      expect(Object.keys(byLevel).filter((l) => l !== 'warn')).toEqual([]);
      if (overload === 'block') expect(byLevel).toEqual({});
    }, 120_000);
});
