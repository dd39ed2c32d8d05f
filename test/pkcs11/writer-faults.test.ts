// A token that hangs under a running writer (issue 17 §2): logging goes on,
// nothing is lost, verify shows the tail as unsealed, and the writer seals it
// once the token answers again. The token is SoftHSM2 behind the faulty
// module of fixtures/faulty-module.c (see faults.test.ts).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSink, type SealogError, verifyLedger } from '../../packages/core/src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { useTokenKey } from './setup.js';

const PIN = '14142135';
const t = useTokenKey({
  token: 'flaky',
  pin: PIN,
  label: 'w',
  name: 'flaky.example/log',
  faulty: { timeoutMs: 300 },
});
const vkeys = () => [t.vkeys.log, t.vkeys.time];

const until = async (what: () => boolean, ms: number) => {
  const end = Date.now() + ms;
  while (!what() && Date.now() < end) await new Promise((ok) => setTimeout(ok, 50));
};

describe('a writer on a token that stops answering', () => {
  it('keeps every record, reports the failed seal, and seals the tail once the token is back', async () => {
    const path = join(tempDir(), 'audit.db');
    const errors: SealogError[] = [];
    const sink = await openSink(
      { path, checkpoint: { pkcs11: t.options, everyRecords: 10, everyMs: 200 } },
      { onError: (e) => errors.push(e) },
    );
    try {
      t.fault('hang');
      for (let i = 0; i < 60; i++) sink.write({ msg: 'audit', i });
      await sink.flush(); // commits do not wait for the token
      await until(() => errors.some((e) => /did not answer/.test(e.message)), 5000);
      expect(errors.map((e) => e.message).join('\n')).toMatch(/did not answer within 300 ms/);
      const during = verifyLedger(path, { keys: vkeys() });
      expect(during.size).toBe(60);
      expect(during.sealed).toBe(0);
      expect(during.ok).toBe(false); // no checkpoint covers them: said, not hidden
      expect(during.findings.map((f) => f.kind)).toContain('no-checkpoint');

      t.fault(''); // the token answers again
      for (let i = 60; i < 80; i++) sink.write({ msg: 'audit', i });
      await sink.flush();
      await until(() => verifyLedger(path, { keys: vkeys() }).sealed === 80, 15_000);
    } finally {
      t.fault('');
      await sink.close();
    }
    const after = verifyLedger(path, { keys: vkeys(), strict: true });
    expect(after.findings).toEqual([]);
    expect(after.sealed).toBe(80);
  });
});
