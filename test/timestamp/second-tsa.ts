// A second TSA under the CA of a test PKI (issue 16, TSA signer pinning): its
// own key and timestamping certificate issued by the same root, answering with
// `openssl ts -reply`. Many TSAs chain to one public root; this is the one the
// verifier did not mean to trust.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestPki } from '../helpers/tsa.js';
import { signUnderCa } from '../helpers/tsa-pki.js';

const run = promisify(execFile);
const openssl = (args: string[], cwd: string) => run('openssl', args, { cwd, maxBuffer: 1 << 20 });

let made = 0;

/**
 * Issues a TSA certificate (EKU critical, timeStamping) for a fresh key under
 * `pki`'s CA, subject `CN=<name>`, and returns a TestPki whose `reply` signs
 * with it (same CA, so the same anchor). `resign` and `dispose` are `pki`'s.
 */
export async function secondTsa(pki: TestPki, name = 'second TSA'): Promise<TestPki> {
  const dir = pki.dir;
  const base = `second-${made++}`;
  const key = `${base}.key`;
  const cert = `${base}.pem`;
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key], dir);
  await signUnderCa(dir, base, key, name, 9000 + made, 'v3_tsa');
  // Its own serial file, so its replies never race the first TSA's on one file.
  const config = (await readFile(join(dir, 'openssl.cnf'), 'utf8')).replace(
    /^serial = .*$/m,
    `serial = ${join(dir, `${base}.serial`)}`,
  );
  await writeFile(join(dir, `${base}.cnf`), config);
  await writeFile(join(dir, `${base}.serial`), '01\n');
  let queue: Promise<unknown> = Promise.resolve();
  let n = 0;
  const reply = (query: Uint8Array): Promise<Uint8Array> => {
    const job = queue.then(async () => {
      const id = `${base}-q${n++}`;
      await writeFile(join(dir, `${id}.tsq`), query);
      await openssl(
        [
          'ts',
          '-reply',
          '-config',
          `${base}.cnf`,
          '-section',
          'tsa_config',
          '-queryfile',
          `${id}.tsq`,
          '-inkey',
          key,
          '-signer',
          cert,
          '-chain',
          'ca.pem',
          '-out',
          `${id}.tsr`,
        ],
        dir,
      );
      return new Uint8Array(await readFile(join(dir, `${id}.tsr`)));
    });
    queue = job.catch(() => undefined);
    return job;
  };
  return { ...pki, tsaPem: await readFile(join(dir, cert), 'utf8'), reply };
}
