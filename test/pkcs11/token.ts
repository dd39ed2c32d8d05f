// Shared by the PKCS#11 tests: raw token access in a child process (so the
// test's own calls never share the module with the code under test), the
// faulty-module wrapper, and an independent C2SP signed-note checker.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkcs11js = createRequire(join(here, '../../packages/core/package.json')).resolve('pkcs11js');

/**
 * Runs `body` (CommonJS) in a fresh node process with `p` (a PKCS11 loaded
 * with `module`, initialised, logged in as user on a R/W session `s` of the
 * token labelled `token`), `P` (pkcs11js) and `args`; returns what it prints as JSON.
 */
export function rawToken<T>(
  module: string,
  token: string,
  pin: string,
  body: string,
  args: unknown = null,
): T {
  const script = `
const P = require(${JSON.stringify(pkcs11js)});
const args = JSON.parse(process.argv[1]);
const p = new P.PKCS11();
p.load(${JSON.stringify(module)});
p.C_Initialize();
const slot = p.C_GetSlotList(true).find((x) => p.C_GetTokenInfo(x).label.trim() === ${JSON.stringify(token)});
const s = p.C_OpenSession(slot, P.CKF_SERIAL_SESSION | P.CKF_RW_SESSION);
p.C_Login(s, P.CKU_USER, process.env.RAW_PIN);
const find = (cls, label) => { p.C_FindObjectsInit(s, [{ type: P.CKA_CLASS, value: cls }, { type: P.CKA_LABEL, value: label }]); const h = p.C_FindObjects(s, 10); p.C_FindObjectsFinal(s); return h; };
const tryErr = (f) => { try { f(); return 'no error'; } catch (e) { return e.message; } };
const out = (() => { ${body} })();
p.C_Logout(s); p.C_CloseSession(s); p.C_Finalize();
process.stdout.write(JSON.stringify(out));
`;
  const r = spawnSync(process.execPath, ['-e', script, JSON.stringify(args)], {
    env: { ...process.env, RAW_PIN: pin },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`raw token script failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Compiles fixtures/faulty-module.c into `dir` and returns the .so path. */
export function buildFaultyModule(dir: string): string {
  const out = join(dir, 'faulty-module.so');
  const include = join(dirname(pkcs11js), 'includes/pkcs11');
  execFileSync('cc', [
    '-shared',
    '-fPIC',
    '-O1',
    '-I',
    include,
    '-o',
    out,
    join(here, 'fixtures/faulty-module.c'),
    '-ldl',
  ]);
  return out;
}

/**
 * A minimal C2SP signed-note verifier written from the spec, sharing no code
 * with sealog: given only verifier-key strings, returns the names whose
 * signatures (0x01 Ed25519, or 0x04 cosignature/v1 with its timestamp) verify.
 */
export function independentVerify(
  notePath: string,
  vkeys: string[],
): { verified: string[]; times: number[] } {
  const note = readFileSync(notePath, 'utf8');
  const split = note.lastIndexOf('\n\n');
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2).split('\n');
  if (lines.pop() !== '') throw new Error('note does not end in a newline');
  const keys = vkeys.map((v) => {
    // name+hexID+base64: split at the first two "+" (base64 itself may contain "+").
    const [name, hexId] = v.split('+', 2) as [string, string];
    const b64 = v.slice(name.length + hexId.length + 2);
    const material = Buffer.from(b64, 'base64');
    const type = material[0] as number;
    const pub = material.subarray(1);
    const id = createHash('sha256')
      .update(Buffer.concat([Buffer.from(`${name}\n`), material]))
      .digest()
      .subarray(0, 4);
    if (id.toString('hex') !== hexId) throw new Error(`key ID of ${name} does not match`);
    const key = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: pub.toString('base64url') },
      format: 'jwk',
    });
    return { name, id, type, key };
  });
  const verified: string[] = [];
  const times: number[] = [];
  for (const line of lines) {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m) throw new Error(`not a signature line: ${line}`);
    const sig = Buffer.from(m[2] as string, 'base64');
    const key = keys.find((k) => k.name === m[1] && k.id.equals(sig.subarray(0, 4)));
    if (!key) continue;
    if (key.type === 0x01 && verify(null, Buffer.from(text), key.key, sig.subarray(4)))
      verified.push(key.name);
    if (key.type === 0x04 && sig.length === 4 + 8 + 64) {
      const t = Number(sig.readBigUInt64BE(4));
      const msg = Buffer.from(`cosignature/v1\ntime ${t}\n${text}`);
      if (verify(null, msg, key.key, sig.subarray(12))) {
        verified.push(key.name);
        times.push(t);
      }
    }
  }
  return { verified, times };
}
