// Red team: winston with overload 'block'. The app thread bounds the UTF-16
// length of the lines it has posted and the worker has not settled; the
// worker's intake (policy 'shed', peek = level undefined, receive time) bounds
// its queued lines plus the ledger's queued *entry bytes*. An entry is larger
// than its line (time stamped, pseudonyms longer than the ids, UTF-8 for
// non-ASCII text), so the worker fills while the app thread still sees room:
// with `block`, records are shed although the ledger never stalled, and the
// gap counts them under level "unknown" at their receive time.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import winston from 'winston';
import { parseGap } from '../../../packages/core/src/index.js';
import { readVerified, tempDir, WINSTON_DIST } from '../../transport-helpers.js';

const N = 20_000;
const T0 = 1_700_000_000_000;

describe('red team: winston block', () => {
  for (const [text, warm] of [
    ['ascii', false],
    ['ascii', true],
    ['cjk', true],
  ] as const) {
    it(`block (${text}, ${warm ? 'after the worker is up' : 'right after construction'}): nothing is shed while the ledger keeps committing`, async () => {
      const dir = tempDir();
      const key = join(dir, 'psn.key');
      writeFileSync(key, randomBytes(32).toString('base64'), { mode: 0o600 });
      const { SealogTransport } = (await import(
        WINSTON_DIST
      )) as typeof import('../../../packages/winston/src/index.js');
      const transport = new SealogTransport({
        path: join(dir, 'a.db'),
        maxQueueBytes: 64 * 1024,
        overload: 'block',
        // A larger prepare pool (valid up to 64) takes longer to start: the worker answers nothing meanwhile.
        workers: 4,
        privacy: { pseudonymize: { paths: ['user'], keys: [{ id: 'k1', file: key }], current: 'k1' } },
      });
      const logger = winston.createLogger({ transports: [transport] });
      if (warm) await transport.flush(); // the worker (and its prepare pool) are up
      const firstGapAt: number[] = [];
      const msg = text === 'cjk' ? '監査記録'.repeat(20) : 'audit record '.repeat(6);
      for (let i = 0; i < N; i++) {
        logger.log({
          level: 'info',
          message: msg,
          i,
          user: `u${i}`,
          timestamp: new Date(T0 + i).toISOString(),
        });
      }
      await new Promise<void>((res) => {
        logger.once('finish', () => res());
        logger.end();
      });
      const entries = readVerified(join(dir, 'a.db'));
      let seen = 0;
      for (const e of entries) {
        if (parseGap(e)) firstGapAt.push(seen);
        else seen++;
      }
      console.log(`${text} warm=${warm}: gaps after stored record #`, firstGapAt.slice(0, 5));
      const gaps = entries.map((e) => parseGap(e)).filter((g) => g !== undefined);
      const shed = gaps.reduce((n, g) => n + g.records, 0);
      const levels = gaps.flatMap((g) => Object.keys(g.levels).map((l) => `${g.reason}:${l}`));
      expect({ stored: entries.length - gaps.length, shed, levels: [...new Set(levels)] }).toEqual({
        stored: N,
        shed: 0,
        levels: [],
      });
    }, 120_000);
  }
});
