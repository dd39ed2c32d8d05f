// A token that hangs under a running writer (issue 17 §2): logging goes on,
// nothing is lost, verify shows the tail as unsealed, and the writer seals it
// once the token answers again. The token is SoftHSM2 behind the faulty
// module of fixtures/faulty-module.c (see faults.test.ts).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPkcs11Key,
  openSink,
  type Pkcs11KeyOptions,
  type SealogError,
  verifyLedger,
} from '../../packages/core/src/index.js';
import { createSoftHsm, type SoftHsm } from '../helpers/softhsm.js';
import { tempDir } from '../helpers/tmp.js';
import { buildFaultyModule } from './token.js';

const PIN = '14142135';
let hsm: SoftHsm;
let control: string;
let options: Pkcs11KeyOptions;
let vkeys: string[];

beforeAll(async () => {
  hsm = createSoftHsm();
  hsm.initToken('flaky', { user: PIN });
  control = join(hsm.dir, 'control');
  writeFileSync(control, '');
  process.env.SEALOG_P11_TARGET = hsm.module;
  process.env.SEALOG_P11_CONTROL = control;
  options = {
    module: buildFaultyModule(hsm.dir),
    token: 'flaky',
    label: 'w',
    name: 'flaky.example/log',
    pinFile: hsm.pinFile(PIN),
    timeoutMs: 300,
  };
  const k = await createPkcs11Key(options);
  vkeys = [k.log, k.time];
});

afterAll(() => {
  writeFileSync(control, '');
  hsm?.cleanup();
});

const until = async (what: () => boolean, ms: number) => {
  const end = Date.now() + ms;
  while (!what() && Date.now() < end) await new Promise((ok) => setTimeout(ok, 50));
};

describe('a writer on a token that stops answering', () => {
  it('keeps every record, reports the failed seal, and seals the tail once the token is back', async () => {
    const path = join(tempDir(), 'audit.db');
    const errors: SealogError[] = [];
    const sink = await openSink(
      { path, checkpoint: { pkcs11: options, everyRecords: 10, everyMs: 200 } },
      { onError: (e) => errors.push(e) },
    );
    try {
      writeFileSync(control, 'hang');
      for (let i = 0; i < 60; i++) sink.write({ msg: 'audit', i });
      await sink.flush(); // commits do not wait for the token
      await until(() => errors.some((e) => /did not answer/.test(e.message)), 5000);
      expect(errors.map((e) => e.message).join('\n')).toMatch(/did not answer within 300 ms/);
      const during = verifyLedger(path, { keys: vkeys });
      expect(during.size).toBe(60);
      expect(during.sealed).toBe(0);
      expect(during.ok).toBe(false); // no checkpoint covers them: said, not hidden
      expect(during.findings.map((f) => f.kind)).toContain('no-checkpoint');

      writeFileSync(control, ''); // the token answers again
      for (let i = 60; i < 80; i++) sink.write({ msg: 'audit', i });
      await sink.flush();
      await until(() => verifyLedger(path, { keys: vkeys }).sealed === 80, 15_000);
    } finally {
      writeFileSync(control, '');
      await sink.close();
    }
    const after = verifyLedger(path, { keys: vkeys, strict: true });
    expect(after.findings).toEqual([]);
    expect(after.sealed).toBe(80);
  });
});
