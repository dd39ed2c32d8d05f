// `sealog keygen --pkcs11` on a real SoftHSM2 token, through the CLI.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPkcs11Key, parseVerifierKey } from '../../packages/core/src/index.js';
import { BIN } from '../helpers/bin.js';
import { runCli } from '../helpers/cli.js';
import { createSoftHsm, type SoftHsm } from '../helpers/softhsm.js';
import { rawToken } from './token.js';

const PIN = '61803398';
let hsm: SoftHsm;
let n = 0;

beforeAll(() => {
  hsm = createSoftHsm();
  for (const t of ['cli', 'half', 'spawned']) hsm.initToken(t, { user: PIN });
});

afterAll(() => hsm?.cleanup());

/** Writes an options file in the token directory, the PIN file beside it (relative path). */
function optionsFile(fields: Record<string, unknown>): string {
  const pinFile = hsm.pinFile(PIN);
  const path = join(hsm.dir, `options-${n++}.json`);
  writeFileSync(
    path,
    JSON.stringify({ module: hsm.module, pinFile: pinFile.slice(hsm.dir.length + 1), ...fields }),
  );
  return path;
}

describe('sealog keygen --pkcs11', () => {
  it('creates two pairs on the token, prints the log and time vkeys, and adopts them on a second run', async () => {
    const file = optionsFile({ token: 'cli', label: 'billing', name: 'audit.example.com/billing' });
    const first = await runCli(['keygen', '--pkcs11', file]);
    expect(first.code).toBe(0);
    expect(first.err).toMatch(/^created key pairs "billing" and "billing\/time" on the token/);
    const [log, time, ...rest] = first.out.trimEnd().split('\n');
    expect(rest).toEqual([]);
    expect(parseVerifierKey(log ?? '')).toMatchObject({ name: 'audit.example.com/billing', type: 1 });
    expect(parseVerifierKey(time ?? '')).toMatchObject({ name: 'audit.example.com/billing/time', type: 4 });
    const again = await runCli(['keygen', '--pkcs11', file]);
    expect([again.code, again.out]).toEqual([0, first.out]);
    expect(again.err).toMatch(/^adopted existing key pairs/);
    // What keygen printed is what the signer uses.
    const key = await openPkcs11Key({
      module: hsm.module,
      token: 'cli',
      label: 'billing',
      name: 'audit.example.com/billing',
      pinFile: hsm.pinFile(PIN),
    });
    expect([key.log.verifierKey, key.time.verifierKey]).toEqual([log, time]);
    await key.close();
    // --name renames the key (the origin), not the pairs on the token.
    const renamed = await runCli(['keygen', '--pkcs11', file, '--name', 'other.example/x']);
    expect(renamed.out).toMatch(/^other\.example\/x\+[0-9a-f]{8}\+\S+\nother\.example\/x\/time\+/);
    for (const r of [first, again, renamed]) expect(r.out + r.err).not.toContain(PIN);
  });

  it('refuses a token holding only the log pair, naming the missing label', async () => {
    rawToken(
      hsm.module,
      'half',
      PIN,
      `p.C_GenerateKeyPair(s, { mechanism: 0x1055 },
        [{ type: P.CKA_TOKEN, value: true }, { type: P.CKA_LABEL, value: 'solo' }, { type: P.CKA_EC_PARAMS, value: Buffer.from('06032b6570', 'hex') }],
        [{ type: P.CKA_TOKEN, value: true }, { type: P.CKA_PRIVATE, value: true }, { type: P.CKA_LABEL, value: 'solo' },
         { type: P.CKA_SIGN, value: true }, { type: P.CKA_SENSITIVE, value: true }, { type: P.CKA_EXTRACTABLE, value: false }]);
      return null;`,
    );
    const r = await runCli([
      'keygen',
      '--pkcs11',
      optionsFile({ token: 'half', label: 'solo', name: 'solo.example' }),
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /E_KEY: .*holds keys labelled "solo" but none labelled "solo\/time"; .*not adopted/,
    );
    // Nothing was generated beside the stray pair.
    const objects = rawToken<number>(
      hsm.module,
      'half',
      PIN,
      `return find(P.CKO_PRIVATE_KEY, 'solo/time').length;`,
    );
    expect(objects).toBe(0);
  });

  it('rejects bad options files with the field named, and --out with --pkcs11', async () => {
    const typo = await runCli(['keygen', '--pkcs11', optionsFile({ token: 'cli', lable: 'x', label: 'y' })]);
    expect(typo.code).toBe(2);
    expect(typo.err).toMatch(/E_CONFIG: unknown option ".*options-\d+\.json\.lable"; did you mean "label"\?/);
    const both = await runCli(['keygen', '--pkcs11', optionsFile({ token: 'cli', slot: 1, label: 'y' })]);
    expect(both.err).toMatch(/give exactly one of token .* and slot/);
    const pin = await runCli(['keygen', '--pkcs11', optionsFile({ token: 'cli', label: 'y', pin: PIN })]);
    expect(pin.err).toMatch(/unknown option ".*\.pin"; did you mean "pinEnv"|unknown option ".*\.pin"/);
    expect(pin.err).not.toContain(PIN);
    const bad = join(hsm.dir, 'bad.json');
    writeFileSync(bad, `{"module": "x", "pin": "${PIN}",`);
    const broken = await runCli(['keygen', '--pkcs11', bad]);
    expect(broken.err).toMatch(/is not valid JSON/);
    expect(broken.err).not.toContain(PIN);
    const out = await runCli(['keygen', '--pkcs11', bad, '--out', 'k.key']);
    expect([out.code, out.err]).toEqual([2, expect.stringMatching(/--out is for key files/)]);
  });

  it('works from the built binary (pkcs11js loaded on first use from the published layout)', () => {
    const file = optionsFile({ token: 'spawned', label: 'bin', name: 'bin.example' });
    const r = spawnSync(process.execPath, [BIN, 'keygen', '--pkcs11', file], { encoding: 'utf8' });
    expect([r.status, r.stderr]).toEqual([0, expect.stringMatching(/^created key pairs "bin"/)]);
    expect(r.stdout).toMatch(/^bin\.example\+[0-9a-f]{8}\+\S+\nbin\.example\/time\+[0-9a-f]{8}\+\S+\n$/);
  });

  it('without pkcs11js installed, file keys still work and a PKCS#11 key says how to install it', () => {
    // Preloads make `pkcs11js` unresolvable to import (an ESM resolve hook) and to require
    // (the CJS resolver), as on an install where its optional native build failed.
    const hooks = join(hsm.dir, 'no-pkcs11js-hooks.mjs');
    writeFileSync(
      hooks,
      `export async function resolve(spec, ctx, next) {
         if (spec === 'pkcs11js') throw Object.assign(new Error("Cannot find package 'pkcs11js'"), { code: 'ERR_MODULE_NOT_FOUND' });
         return next(spec, ctx);
       }`,
    );
    const preload = join(hsm.dir, 'no-pkcs11js.mjs');
    writeFileSync(
      preload,
      `import M, { register } from 'node:module';
       register(${JSON.stringify(`file://${hooks}`)});
       const r = M._resolveFilename;
       M._resolveFilename = function (req, ...a) {
         if (req === 'pkcs11js') throw Object.assign(new Error("Cannot find module 'pkcs11js'"), { code: 'MODULE_NOT_FOUND' });
         return r.call(this, req, ...a);
       };`,
    );
    const run = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', preload, BIN, ...args], { encoding: 'utf8' });
    const file = run('keygen', '--name', 'plain.example', '--out', join(hsm.dir, 'plain.key'));
    expect([file.status, file.stdout]).toEqual([0, expect.stringMatching(/^plain\.example\+/)]);
    const p11 = run(
      'keygen',
      '--pkcs11',
      optionsFile({ token: 'spawned', label: 'none', name: 'none.example' }),
    );
    expect(p11.status).toBe(2);
    expect(p11.stderr).toMatch(
      /E_CONFIG: PKCS#11 keys need the optional dependency pkcs11js, .* npm install pkcs11js/,
    );
  });
});
