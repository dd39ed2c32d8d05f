import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSink } from '../../packages/core/src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { readVerified } from '../transport-helpers.js';

// Finding 9b of issue 14: noise paths did not look inside a Map or a toJSON
// value while the encoder expanded them, so the core API stored a raw metric.
// A real SQLite ledger through openSink; the raw bytes of its files searched.

// Metric values no noised marker can hold (granularity 1 puts markers on whole numbers).
const IN_MAP = 734.123457;
const IN_TOJSON = 912.654321;
const NESTED = 377.246813;

function ledgerBytes(dir: string): string {
  return readdirSync(dir)
    .filter((f) => f.startsWith('audit.db'))
    .map((f) => readFileSync(join(dir, f)).toString('latin1'))
    .join('\n');
}

describe('attack: a metric inside a Map or a toJSON value bypasses the noise', () => {
  it('no raw metric reaches the ledger file or its WAL, and each is noised', async () => {
    const dir = tempDir();
    const keyFile = join(dir, 'psn.key');
    writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
    const field = { mechanism: 'laplace', epsilon: 0.5, lower: 0, upper: 1000, granularity: 1 };
    const sink = await openSink({
      path: join(dir, 'audit.db'),
      privacy: {
        pseudonymize: { paths: ['user.id'], keys: [{ id: 'k1', file: keyFile }] },
        noise: {
          unit: 'user.id',
          budget: { epsilon: 100, windowSeconds: 86_400 },
          fields: { 'req.latencyMs': field, 'res.bytes': field, 'db.stats.ms': field },
        },
      },
    });
    sink.write({
      msg: 'served',
      user: { id: 'u-42' },
      req: new Map<string, unknown>([['latencyMs', IN_MAP]]),
      res: { toJSON: () => ({ bytes: IN_TOJSON }) },
      db: { stats: new Map([['ms', { toJSON: () => NESTED }]]) },
    });
    await sink.flush();
    const live = ledgerBytes(dir);
    await sink.close();
    for (const raw of [IN_MAP, IN_TOJSON, NESTED]) {
      expect(live.includes(String(raw)), `${raw} in the live files`).toBe(false);
      expect(ledgerBytes(dir).includes(String(raw)), `${raw} in the closed files`).toBe(false);
    }
    const [r] = readVerified(join(dir, 'audit.db')) as Record<
      string,
      Record<string, Record<string, unknown>>
    >[];
    expect(r?.req?.latencyMs).toMatchObject({ dp: 'laplace', epsilon: 0.5 });
    expect(r?.res?.bytes).toMatchObject({ dp: 'laplace' });
    expect((r?.db?.stats as Record<string, unknown>)?.ms).toMatchObject({ dp: 'laplace' });
  });
});
