// pino posts its config (levels, messageKey) to the worker once. With several
// targets in one worker, a sealog target that opens later than the message
// arrives must still get it: otherwise it never resolves, pino's worker never
// becomes ready, nothing is stored and the app's end() throws after 10 s
// (issue 15 red team, finding 1).
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { PINO_TARGET, readVerified, tempDir } from '../transport-helpers.js';

const SLOW = join(import.meta.dirname, '..', 'fixtures', 'slow-sealog.mjs');

describe('pino targets and the config message', () => {
  it('a sealog target that opens late (a wrapper) still gets pino’s config and stores', async () => {
    const dir = tempDir();
    const transport = pino.transport({
      targets: [
        { target: PINO_TARGET, options: { path: join(dir, 'a.db'), workers: 0 } },
        { target: SLOW, options: { path: join(dir, 'b.db'), workers: 0 } },
      ],
    });
    // The logger first: pino sends the config when it is built, and the worker is ready after.
    const logger = pino({ customLevels: { audit: 35 } }, transport);
    const ready = await new Promise<boolean>((res) => {
      const t = setTimeout(() => res(false), 20_000);
      transport.once('ready', () => {
        clearTimeout(t);
        res(true);
      });
    });
    expect(ready, 'pino worker became ready (every target resolved)').toBe(true);
    for (let i = 0; i < 20; i++) (logger as pino.Logger<'audit'>).audit({ i }, 'm');
    await new Promise<void>((res) => {
      transport.once('close', () => res());
      transport.end();
    });
    for (const db of ['a.db', 'b.db']) {
      const records = readVerified(join(dir, db));
      expect(records.map((r) => r.i)).toEqual([...Array(20).keys()]);
      expect(records[0]).toMatchObject({ level: 35, levelLabel: 'audit' }); // the custom level's label: the config arrived
    }
  }, 40_000);
});
