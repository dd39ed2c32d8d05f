import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBundleShape } from '../../packages/core/src/bundle/parse.js';
import { checkBundleTimestamps } from '../../packages/core/src/bundle/verify-timestamps.js';
import { checkBundleTimestampsWeb } from '../../packages/core/src/bundle/verify-timestamps-web.js';
import { isSealogError } from '../../packages/core/src/errors.js';
import {
  type Bundle,
  type BundleReport,
  createTimestampRequest,
  parseTimestampResponse,
  verifyBundle,
  verifyTimestampToken,
} from '../../packages/core/src/index.js';
import { verifyTimestampTokenWeb } from '../../packages/core/src/timestamp/verify-web.js';
import { createTestPki, OTHER_POLICY, startTestTsa, type TestPki, type TestTsa } from '../helpers/tsa.js';
import type { Setup } from './harness.js';
import { downUrl, setupIn, stampedBundle, writeStamped } from './verify-fixture.js';

// The browser's RFC 3161 check (timestamp/verify-web.ts: pkijs + WebCrypto)
// must judge every token exactly as the Node path (timestamp/verify.ts:
// node:crypto/OpenSSL) does, on tokens from the OpenSSL test TSA: the same
// pass with the same result, the same refusal with the same message. Node 20
// has crypto.subtle, so the browser path runs here; test/web-verifier-tsa.test.ts
// runs it in Chromium.

const enc = new TextEncoder();
const NOTE = enc.encode(
  'example.com/log\n5\nq5Ub3yUPZ0mP2SDMmV8HR0vQzVvPNb4cP0DdFFeBzjE=\n\n— example.com/log AAAA\n',
);
const OTHER_NOTE = enc.encode(
  'example.com/log\n6\nq5Ub3yUPZ0mP2SDMmV8HR0vQzVvPNb4cP0DdFFeBzjE=\n\n— example.com/log AAAA\n',
);

type Outcome = { ok: unknown } | { code: string; message: string };

async function outcome(fn: () => unknown): Promise<Outcome> {
  try {
    return { ok: JSON.parse(JSON.stringify(await fn())) };
  } catch (err) {
    if (!isSealogError(err)) throw err;
    return { code: err.code, message: err.message };
  }
}

type Options = Parameters<typeof verifyTimestampToken>[2];
/** Both paths' verdicts on one token; the test requires them equal. */
async function both(token: Uint8Array, note: Uint8Array, options: Options) {
  const node = await outcome(() => verifyTimestampToken(token, note, options));
  const web = await outcome(() => verifyTimestampTokenWeb(token, note, options));
  return { node, web };
}

async function tokenFor(pki: TestPki, data: Uint8Array, policy?: string): Promise<Uint8Array> {
  const req = createTimestampRequest(data, policy ? { policy } : {});
  return parseTimestampResponse(await pki.reply(req.der)).token;
}

let rsa: TestPki; // RSA TSA key, ESSCertIDv2, CA in the token
let ec: TestPki; // P-256 TSA key, ESSCertID (SHA-1)
let bare: TestPki; // no CA certificate in the token
let foreign: TestPki; // same names, other keys
let token: Uint8Array;

beforeAll(async () => {
  [rsa, ec, bare, foreign] = await Promise.all([
    createTestPki(),
    createTestPki({ key: 'ec', essCertId: 'v1' }),
    createTestPki({ chain: false }),
    createTestPki(),
  ]);
  token = await tokenFor(rsa, NOTE);
}, 120_000);
afterAll(async () => {
  for (const p of [rsa, ec, bare, foreign]) await p?.dispose();
});

describe('the browser RFC 3161 check agrees with the Node one', () => {
  it('valid tokens (RSA/ESSCertIDv2, P-256/ESSCertID, no chain in the token, the TSA certificate as anchor) pass with equal results', async () => {
    for (const pki of [rsa, ec, bare]) {
      const t = pki === rsa ? token : await tokenFor(pki, NOTE);
      for (const trustAnchors of [pki.caPem, pki.tsaPem]) {
        const r = await both(t, NOTE, { trustAnchors });
        expect(r.web).toEqual(r.node);
        expect(r.node).toMatchObject({ ok: { tsa: expect.stringContaining('sealog test TSA') } });
      }
    }
  });

  it('refusals carry the same code and message: other note, other CA, policy, future genTime, bad EKU, a TSA not pinned', async () => {
    const cases: [Uint8Array, Uint8Array, Options, RegExp][] = [
      [token, OTHER_NOTE, { trustAnchors: rsa.caPem }, /imprint mismatch/],
      [token, NOTE, { trustAnchors: foreign.caPem }, /untrusted chain/],
      [token, NOTE, { trustAnchors: [foreign.caPem, ec.caPem] }, /untrusted chain/],
      [token, NOTE, { trustAnchors: rsa.caPem, policy: OTHER_POLICY }, /policy mismatch/],
      [token, NOTE, { trustAnchors: rsa.caPem, now: new Date('2001-01-01T00:00:00Z') }, /in the future/],
      [
        await rsa.resign(token, 'eku-not-critical'),
        NOTE,
        { trustAnchors: rsa.caPem },
        /bad EKU.*not critical/,
      ],
      [await rsa.resign(token, 'eku-extra'), NOTE, { trustAnchors: rsa.caPem }, /bad EKU/],
      [await rsa.resign(token, 'no-eku'), NOTE, { trustAnchors: rsa.caPem }, /bad EKU.*no extendedKeyUsage/],
      [token, NOTE, { trustAnchors: rsa.caPem, signers: foreign.tsaPem }, /not pinned/],
      [token, NOTE, { trustAnchors: 'no pem here' }, /no trust anchor given/],
      [token, NOTE, { trustAnchors: rsa.caPem, signers: 'no pem here' }, /no TSA signer certificate given/],
      [token, NOTE, { trustAnchors: rsa.caPem, signers: rsa.caPem }, /is not a timestamping certificate/],
      [token, NOTE, { trustAnchors: rsa.caPem, policy: 'x' }, /not a dotted OID/],
      [token.subarray(0, 100), NOTE, { trustAnchors: rsa.caPem }, /not valid DER/],
    ];
    for (const [t, note, options, expected] of cases) {
      const r = await both(t, note, options);
      expect(r.web).toEqual(r.node);
      expect('message' in r.node ? r.node.message : 'passed').toMatch(expected);
    }
    // Pinned to its own certificate it passes on both.
    const pinned = await both(token, NOTE, { trustAnchors: rsa.caPem, signers: rsa.tsaPem });
    expect(pinned.web).toEqual(pinned.node);
    expect(pinned.node).toHaveProperty('ok');
  });

  it('every single flipped byte of a token: the same verdict on both paths', async () => {
    let refused = 0;
    for (const t of [token, await tokenFor(ec, NOTE)]) {
      const anchors = t === token ? rsa.caPem : ec.caPem;
      // Every byte of the RSA token, every third of the P-256 one (the run is long enough).
      for (let i = 0; i < t.length; i += t === token ? 1 : 3) {
        const bad = Uint8Array.from(t);
        bad[i] = (bad[i] ?? 0) ^ [0x01, 0x80, 0x10, 0x02][i % 4]!;
        const r = await both(bad, NOTE, { trustAnchors: anchors });
        expect({ at: i, ...r.web }).toEqual({ at: i, ...r.node });
        if (!('ok' in r.node)) refused++;
      }
    }
    // Most flips are refused; the rest land in bytes nothing signs or checks (e.g. unsigned attributes' tags).
    expect(refused).toBeGreaterThan(1200);
  }, 300_000);
});

// Bundles: checkBundleTimestamps (Node) and checkBundleTimestampsWeb give the same report.
let shared: string;
let tsa: TestTsa;
let stamped: Setup;
let down: Setup;

const bundleOf = (t: Setup, edit?: (b: Bundle) => void): Bundle => stampedBundle(t, edit);

type TsaOptions = Parameters<typeof checkBundleTimestamps>[2];
async function bothReports(b: Bundle, keys: string[], o: TsaOptions): Promise<[BundleReport, BundleReport]> {
  const shape = parseBundleShape(JSON.stringify(b));
  if ('error' in shape) throw new Error(shape.error);
  const node = verifyBundle(b, { keys });
  const web = verifyBundle(b, { keys });
  checkBundleTimestamps(shape.shape, node, o);
  await checkBundleTimestampsWeb(shape.shape, web, o);
  return [node, web];
}

describe('bundle tokens: the same report from the browser path as from verify-bundle', () => {
  beforeAll(async () => {
    shared = mkdtempSync(join(tmpdir(), 'sealog-verify-web-'));
    tsa = await startTestTsa(rsa);
    stamped = setupIn(shared, 'stamped', rsa);
    await writeStamped(stamped, tsa.url, 4);
    down = setupIn(shared, 'down', rsa);
    await writeStamped(down, await downUrl(rsa), 4);
  }, 120_000);
  afterAll(async () => {
    await tsa?.close();
    if (shared) rmSync(shared, { recursive: true, force: true });
  });

  it('good, flipped, foreign, unmatched, malformed and missing tokens, best-effort and required', async () => {
    const flip = (b: Bundle) => {
      const der = Buffer.from(b.timestamps![0]!.token, 'base64');
      der[der.length - 1]! ^= 0x01;
      b.timestamps![0]!.token = der.toString('base64');
    };
    const junk = (b: Bundle) => {
      b.timestamps!.push({ size: 1, noteSha256: 'AAAA', token: 'AAAA' });
      b.timestamps!.push({
        size: 1,
        noteSha256: b.timestamps![0]!.noteSha256,
        token: Buffer.from('garbage').toString('base64'),
      });
    };
    const unmatched = (b: Bundle) => {
      b.timestamps![0]!.noteSha256 = Buffer.alloc(32, 7).toString('base64');
    };
    const runs: [Bundle, string[], TsaOptions][] = [
      [bundleOf(stamped), stamped.keys, { tsaAnchors: rsa.caPem, tsa: 'required' }],
      [bundleOf(stamped, flip), stamped.keys, { tsaAnchors: rsa.caPem }],
      [bundleOf(stamped), stamped.keys, { tsaAnchors: foreign.caPem }],
      [bundleOf(stamped), stamped.keys, { tsaAnchors: rsa.caPem, tsaPolicy: OTHER_POLICY }],
      [bundleOf(stamped, junk), stamped.keys, { tsaAnchors: rsa.caPem }],
      [bundleOf(stamped, unmatched), stamped.keys, { tsaAnchors: rsa.caPem }],
      [bundleOf(stamped), [stamped.keys[0]!], { tsaAnchors: rsa.caPem, tsa: 'required' }],
      [bundleOf(down), down.keys, { tsaAnchors: rsa.caPem }],
      [bundleOf(down), down.keys, { tsaAnchors: rsa.caPem, tsa: 'required' }],
    ];
    const statuses: string[] = [];
    for (const [b, keys, o] of runs) {
      const [node, web] = await bothReports(b, keys, o);
      expect(web).toEqual(node);
      statuses.push(node.status);
    }
    // The runs cover both verdicts, and every token kind the report knows.
    expect(statuses).toEqual(['ok', 'failed', 'failed', 'failed', 'failed', 'ok', 'ok', 'ok', 'failed']);
  });
});
