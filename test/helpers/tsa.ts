// A real RFC 3161 TSA for tests (issue 16): a loopback node:http responder
// that answers each POST by running `openssl ts -reply` on the request (the
// PKI is made by tsa-pki.ts). Modes make it misbehave for the client's
// failure tests.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { createTestPki, type TestPki } from './tsa-pki.js';

export {
  type CertProfile,
  createTestPki,
  OTHER_POLICY,
  type PkiOptions,
  TEST_POLICY,
  type TestPki,
} from './tsa-pki.js';

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

/**
 * A test PKI and a TSA in mode 'ok' for a whole test file: made before its
 * first test and handed to `started`, stopped and removed after its last.
 */
export function useTestTsa(started: (fixture: { pki: TestPki; tsa: TestTsa }) => void): void {
  let pki: TestPki | undefined;
  let tsa: TestTsa | undefined;
  beforeAll(async () => {
    pki = await createTestPki();
    tsa = await startTestTsa(pki);
    started({ pki, tsa });
  });
  afterAll(async () => {
    await tsa?.close();
    await pki?.dispose();
  });
}
