// A real RFC 3161 TSA for tests (issue 16), made only with the `openssl` CLI
// (scripts/ensure-openssl.mjs installs it): a CA and TSA certificates are
// created in a temp directory, and a loopback node:http responder answers each
// POST by running `openssl ts -reply` on the request. Modes make it misbehave
// for the client's failure tests.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
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
  await openssl(
    [
      'req',
      '-new',
      '-key',
      key,
      '-subj',
      `/CN=${name} ${profile}`,
      '-config',
      'openssl.cnf',
      '-out',
      `${base}.csr`,
    ],
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
      String(serial++),
      '-days',
      '365',
      '-extfile',
      'openssl.cnf',
      '-extensions',
      `v3_${profile.replaceAll('-', '_')}`,
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

/**
 * How the responder answers:
 * - 'ok': the openssl reply, application/timestamp-reply;
 * - 'reset': destroys the connection without an answer;
 * - 'hang': reads the request and never answers;
 * - 'trickle': sends the headers, then one byte a second, never finishing;
 * - 'garbage': 200 random bytes as application/timestamp-reply;
 * - 'html': the openssl reply, but as text/html;
 * - 'http-500': status 500;
 * - 'huge': 200 KiB of zeros as application/timestamp-reply;
 * - 'wrong-imprint': the openssl reply to the request with one imprint byte flipped;
 * - 'wrong-nonce': the openssl reply to the request with one nonce byte flipped.
 */
export type TsaMode =
  | 'ok'
  | 'reset'
  | 'hang'
  | 'trickle'
  | 'garbage'
  | 'html'
  | 'http-500'
  | 'huge'
  | 'wrong-imprint'
  | 'wrong-nonce';

export interface TestTsa {
  url: string;
  pki: TestPki;
  mode: TsaMode;
  /** The requests received, as DER. */
  requests: Uint8Array[];
  close(): Promise<void>;
}

// The SHA-256 AlgorithmIdentifier OID as DER (06 09 …), then the imprint OCTET STRING header.
const SHA256_OID_DER = Buffer.from('0609608648016503040201', 'hex');

/** Where the 32 imprint bytes start in a DER TimeStampReq (test tooling, not a parser). */
function imprintAt(query: Buffer): number {
  let at = query.indexOf(SHA256_OID_DER);
  if (at < 0) throw new Error('no SHA-256 imprint in the request');
  at += SHA256_OID_DER.length;
  if (query[at] === 0x05) at += 2; // NULL parameters
  if (query[at] !== 0x04 || query[at + 1] !== 0x20) throw new Error('unexpected imprint encoding');
  return at + 2;
}

/** Flips the first imprint byte of a DER TimeStampReq. */
function flipImprint(query: Uint8Array): Uint8Array {
  const out = Buffer.from(query);
  const at = imprintAt(out);
  out[at] = (out[at] ?? 0) ^ 0xff;
  return out;
}

/** Flips the last byte of the nonce: the INTEGER after the imprint (and after a reqPolicy OID, if any). */
function flipNonce(query: Uint8Array): Uint8Array {
  const out = Buffer.from(query);
  let at = imprintAt(out) + 32;
  if (out[at] === 0x06) at += 2 + (out[at + 1] ?? 0);
  if (out[at] !== 0x02) throw new Error('no nonce after the imprint');
  const last = at + 1 + (out[at + 1] ?? 0);
  out[last] = (out[last] ?? 0) ^ 0x01;
  return out;
}

function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

async function answer(tsa: TestTsa, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const mode = tsa.mode;
  if (mode === 'reset') {
    req.socket.destroy();
    return;
  }
  const query = new Uint8Array(await body(req));
  tsa.requests.push(query);
  const send = (status: number, type: string, data: Uint8Array) => {
    res.writeHead(status, { 'content-type': type, 'content-length': data.length });
    res.end(data);
  };
  switch (mode) {
    case 'hang':
      return;
    case 'trickle': {
      res.writeHead(200, { 'content-type': 'application/timestamp-reply' });
      const t = setInterval(() => res.write(Buffer.from([0x30])), 1000);
      res.on('close', () => clearInterval(t));
      return;
    }
    case 'garbage':
      return send(
        200,
        'application/timestamp-reply',
        new Uint8Array(200).map(() => Math.floor(Math.random() * 256)),
      );
    case 'http-500':
      return send(500, 'text/plain', Buffer.from('internal error'));
    case 'huge':
      return send(200, 'application/timestamp-reply', new Uint8Array(200 * 1024));
    case 'html':
      return send(200, 'text/html', await tsa.pki.reply(query));
    case 'wrong-imprint':
      return send(200, 'application/timestamp-reply', await tsa.pki.reply(flipImprint(query)));
    case 'wrong-nonce':
      return send(200, 'application/timestamp-reply', await tsa.pki.reply(flipNonce(query)));
    default:
      return send(200, 'application/timestamp-reply', await tsa.pki.reply(query));
  }
}

/** Starts a loopback HTTP TSA answering with `pki`; `mode` can be changed between requests. */
export async function startTestTsa(pki: TestPki, mode: TsaMode = 'ok'): Promise<TestTsa> {
  let server: Server | undefined;
  const tsa: TestTsa = {
    url: '',
    pki,
    mode,
    requests: [],
    close: () =>
      new Promise<void>((resolve) => {
        if (!server) return resolve();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server = createServer((req, res) => {
    answer(tsa, req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  tsa.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tsa`;
  return tsa;
}
