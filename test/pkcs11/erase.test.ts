// `sealog erase` signing its erasure statement on a PKCS#11 token (issue 18
// item 4b), on a real SoftHSM2 token: the key never leaves it, and verify
// accepts the statement under the token's verifier key.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSink, type SealogError, verifyLedger } from '../../packages/core/src/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { useTokenKey } from './setup.js';

const PIN = '31415926';
const ORIGIN = 'token.example/audit';
const t = useTokenKey({ token: 'eraser', pin: PIN, label: 'audit', name: ORIGIN });

describe('sealog erase --pkcs11', () => {
  it('signs the statement on the token; verify passes and lists the erasure', async () => {
    const dir = tempDir();
    const path = join(dir, 'audit.db');
    const errors: SealogError[] = [];
    const sink = await openSink(
      { path, checkpoint: { pkcs11: t.options, everyRecords: 10 } },
      { onError: (e) => errors.push(e) },
    );
    for (let i = 0; i < 25; i++)
      sink.write({ msg: 'audit', subject: i === 4 ? 'SUBJECT-pkcs11-4f1e' : 'other', i });
    await sink.close();
    expect(errors).toEqual([]);
    const tokenFile = join(dir, 'token.json');
    writeFileSync(tokenFile, JSON.stringify(t.options));
    const r = await runCli([
      'erase',
      path,
      '--seq',
      '4',
      '--reason',
      'DSR-77',
      '--pkcs11',
      tokenFile,
      '--yes',
      '--json',
    ]);
    expect(r.code, r.err).toBe(0);
    expect((JSON.parse(r.out) as { erased: number[] }).erased).toEqual([4]);
    const v = verifyLedger(path, { keys: [t.vkeys.log], strict: true });
    expect(v.findings).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.erasures?.map((e) => [e.seq, e.reason, e.erased])).toEqual([[4, 'DSR-77', true]]);
  });
});
