// The PKI of the test TSA (issue 16), made only with the `openssl` CLI
// (scripts/ensure-openssl.mjs installs it): a CA and TSA certificates in a temp
// directory, `openssl ts -reply` to answer a request, and `openssl cms -sign`
// to re-sign a token with certificates a real TSA would refuse to use.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** OID of id-ct-TSTInfo (RFC 3161 §2.4.2). */
const ID_CT_TSTINFO = '1.2.840.113549.1.9.16.1.4';
/** The policy the test TSA stamps by default, and one more it accepts. */
export const TEST_POLICY = '1.3.6.1.4.1.99999.1';
export const OTHER_POLICY = '1.3.6.1.4.1.99999.2';

/**
 * How a TSA certificate is made:
 * - 'tsa': EKU critical, timeStamping only (RFC 3161 §2.3);
 * - 'eku-not-critical': EKU timeStamping, not critical;
 * - 'eku-extra': EKU critical, timeStamping and serverAuth;
 * - 'no-eku': no extendedKeyUsage at all.
 * openssl ts -reply refuses all but 'tsa', so tokens for the others are made
 * with {@link TestPki.resign} (openssl cms -sign -cades).
 */
export type CertProfile = 'tsa' | 'eku-not-critical' | 'eku-extra' | 'no-eku';

const PROFILE_EXT: Record<CertProfile, string> = {
  tsa: 'extendedKeyUsage = critical,timeStamping',
  'eku-not-critical': 'extendedKeyUsage = timeStamping',
  'eku-extra': 'extendedKeyUsage = critical,timeStamping,serverAuth',
  'no-eku': '',
};

export interface PkiOptions {
  /** Name used in subjects, so two PKIs are told apart. Default 'sealog test'. */
  name?: string;
  /** TSA key type. Default 'rsa' (2048 bits); 'ec' is P-256. */
  key?: 'rsa' | 'ec';
  /** signingCertificate (ESSCertID, SHA-1) or signingCertificateV2 (RFC 5816, SHA-256). Default 'v2'. */
  essCertId?: 'v1' | 'v2';
  /** Put the CA certificate in each token (openssl ts -reply -chain). Default true. */
  chain?: boolean;
}

export interface TestPki {
  dir: string;
  /** The CA certificate, PEM: the trust anchor. */
  caPem: string;
  /** The TSA's certificate, PEM. */
  tsaPem: string;
  /** Runs `openssl ts -reply` on a DER TimeStampReq and returns the DER TimeStampResp. */
  reply(query: Uint8Array): Promise<Uint8Array>;
  /**
   * Re-signs the TSTInfo of `token` as a new token signed by a fresh certificate
   * of `profile` from the same CA, with a signingCertificateV2 attribute.
   */
  resign(token: Uint8Array, profile: CertProfile): Promise<Uint8Array>;
  /** Removes the directory (call in afterAll). */
  dispose(): Promise<void>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await run('openssl', args, { cwd, maxBuffer: 1 << 20 });
}

function config(dir: string, opts: Required<PkiOptions>): string {
  return `
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
${(Object.keys(PROFILE_EXT) as CertProfile[])
  .map(
    (p) => `[ v3_${p.replaceAll('-', '_')} ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
${PROFILE_EXT[p]}
`,
  )
  .join('')}
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = ${dir}
serial = ${join(dir, 'tsaserial')}
crypto_device = builtin
signer_cert = ${join(dir, 'tsa.pem')}
signer_key = ${join(dir, 'tsa.key')}
${opts.chain ? `certs = ${join(dir, 'ca.pem')}` : ''}
signer_digest = sha256
default_policy = ${TEST_POLICY}
other_policies = ${OTHER_POLICY}
digests = sha256, sha384, sha512
accuracy = secs:1, millisecs:500
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = ${opts.essCertId === 'v1' ? 'sha1' : 'sha256'}
`;
}

async function genKey(dir: string, file: string, key: 'rsa' | 'ec'): Promise<void> {
  const alg =
    key === 'rsa'
      ? ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']
      : ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  await openssl(['genpkey', ...alg, '-out', file], dir);
}

let serial = 100;

/** Issues a certificate of `profile` for `key` under the CA in `dir`; returns its PEM file name. */
async function issue(dir: string, name: string, profile: CertProfile, key: string): Promise<string> {
  const base = `${profile}-${serial}`;
  return signUnderCa(dir, base, key, `${name} ${profile}`, serial++, `v3_${profile.replaceAll('-', '_')}`);
}

/**
 * Signs a certificate for `key` (a file in `dir`) under the CA in `dir`, subject
 * `CN=<cn>`, with the openssl.cnf section `extensions`; writes `<base>.pem` and
 * returns that name.
 */
export async function signUnderCa(
  dir: string,
  base: string,
  key: string,
  cn: string,
  serialNumber: number,
  extensions: string,
): Promise<string> {
  await openssl(
    ['req', '-new', '-key', key, '-subj', `/CN=${cn}`, '-config', 'openssl.cnf', '-out', `${base}.csr`],
    dir,
  );
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      `${base}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-set_serial',
      String(serialNumber),
      '-days',
      '365',
      '-extfile',
      'openssl.cnf',
      '-extensions',
      extensions,
      '-out',
      `${base}.pem`,
    ],
    dir,
  );
  return `${base}.pem`;
}

/** Creates a CA and a TSA certificate (EKU critical,timeStamping) with openssl in a new temp directory. */
export async function createTestPki(options: PkiOptions = {}): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'sealog-tsa-'));
  const opts: Required<PkiOptions> = {
    name: 'sealog test',
    key: 'rsa',
    essCertId: 'v2',
    chain: true,
    ...options,
  };
  await writeFile(join(dir, 'openssl.cnf'), config(dir, opts));
  await writeFile(join(dir, 'tsaserial'), '01\n');
  await genKey(dir, 'ca.key', 'ec');
  await openssl(
    [
      'req',
      '-new',
      '-x509',
      '-key',
      'ca.key',
      '-config',
      'openssl.cnf',
      '-extensions',
      'v3_ca',
      '-days',
      '3650',
      '-subj',
      `/CN=${opts.name} CA`,
      '-out',
      'ca.pem',
    ],
    dir,
  );
  await genKey(dir, 'tsa.key', opts.key);
  await run('cp', [join(dir, await issue(dir, `${opts.name} TSA`, 'tsa', 'tsa.key')), join(dir, 'tsa.pem')]);
  // Certificates for resign(), issued now so they are valid at the genTime of any later token.
  const resigners = {} as Record<CertProfile, string>;
  for (const p of Object.keys(PROFILE_EXT) as CertProfile[]) {
    resigners[p] = await issue(dir, `${opts.name} resigned`, p, 'tsa.key');
  }
  const caPem = await readFile(join(dir, 'ca.pem'), 'utf8');
  const tsaPem = await readFile(join(dir, 'tsa.pem'), 'utf8');

  // openssl ts -reply increments the serial file: one reply at a time.
  let queue: Promise<unknown> = Promise.resolve();
  let n = 0;
  const reply = (query: Uint8Array): Promise<Uint8Array> => {
    const job = queue.then(async () => {
      const id = n++;
      await writeFile(join(dir, `q${id}.tsq`), query);
      const args = [
        'ts',
        '-reply',
        '-config',
        'openssl.cnf',
        '-section',
        'tsa_config',
        '-queryfile',
        `q${id}.tsq`,
        '-inkey',
        'tsa.key',
        '-signer',
        'tsa.pem',
        '-out',
        `r${id}.tsr`,
      ];
      if (opts.chain) args.push('-chain', 'ca.pem');
      await openssl(args, dir);
      return new Uint8Array(await readFile(join(dir, `r${id}.tsr`)));
    });
    queue = job.catch(() => undefined);
    return job;
  };

  const resign = async (token: Uint8Array, profile: CertProfile): Promise<Uint8Array> => {
    const base = `resign-${n++}`;
    await writeFile(join(dir, `${base}.tok`), token);
    // The token's own content, unchanged (its signature is checked, not its chain).
    await openssl(
      [
        'cms',
        '-verify',
        '-noverify',
        '-binary',
        '-inform',
        'DER',
        '-in',
        `${base}.tok`,
        '-out',
        `${base}.tst`,
      ],
      dir,
    );
    await openssl(
      [
        'cms',
        '-sign',
        '-binary',
        '-nodetach',
        '-cades',
        '-nosmimecap',
        '-md',
        'sha256',
        '-econtent_type',
        ID_CT_TSTINFO,
        '-in',
        `${base}.tst`,
        '-signer',
        resigners[profile],
        '-inkey',
        'tsa.key',
        '-certfile',
        'ca.pem',
        '-outform',
        'DER',
        '-out',
        `${base}.der`,
      ],
      dir,
    );
    return new Uint8Array(await readFile(join(dir, `${base}.der`)));
  };

  const dispose = () => rm(dir, { recursive: true, force: true });
  return { dir, caPem, tsaPem, reply, resign, dispose };
}
