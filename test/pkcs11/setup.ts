// The setup the PKCS#11 writer, erase and fault tests share: a private SoftHSM2
// with one token and a sealog key pair created on it, for the whole test file.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createPkcs11Key, type Pkcs11KeyOptions } from '../../packages/core/src/index.js';
import { createSoftHsm, type SoftHsm } from '../helpers/softhsm.js';
import { buildFaultyModule } from './token.js';

export interface TokenKey {
  hsm: SoftHsm;
  /** What the transports' checkpoint.pkcs11 (and --pkcs11 files) take to reach the key. */
  options: Pkcs11KeyOptions;
  /** The verifier keys createPkcs11Key printed. */
  vkeys: { log: string; time: string };
  /** Faulty only: what the module does next (`hang`, ...; '' answers normally): fixtures/faulty-module.c. */
  fault(word: string): void;
}

/**
 * Before the file's tests: SoftHSM2 with token `token` (user PIN `pin`) and the
 * key pair `label` of log `name` on it. With `faulty`, the key is reached
 * through fixtures/faulty-module.c (compiled now), which gives up after
 * `faulty.timeoutMs`. After them: the fault cleared, the token removed.
 */
export function useTokenKey(o: {
  token: string;
  pin: string;
  label: string;
  name: string;
  faulty?: { timeoutMs: number };
}): TokenKey {
  let control: string | undefined;
  const t = {
    fault(word: string) {
      if (!control) throw new Error('fault() needs useTokenKey({ faulty })');
      writeFileSync(control, word);
    },
  } as TokenKey;
  beforeAll(async () => {
    t.hsm = createSoftHsm();
    t.hsm.initToken(o.token, { user: o.pin });
    let module = t.hsm.module;
    if (o.faulty) {
      control = join(t.hsm.dir, 'control');
      writeFileSync(control, '');
      process.env.SEALOG_P11_TARGET = t.hsm.module;
      process.env.SEALOG_P11_CONTROL = control;
      module = buildFaultyModule(t.hsm.dir);
    }
    t.options = { module, token: o.token, label: o.label, name: o.name, pinFile: t.hsm.pinFile(o.pin) };
    if (o.faulty) t.options.timeoutMs = o.faulty.timeoutMs;
    const k = await createPkcs11Key(t.options);
    t.vkeys = { log: k.log, time: k.time };
  });
  afterAll(() => {
    if (control) writeFileSync(control, '');
    t.hsm?.cleanup();
  });
  return t;
}
