import * as asn1js from 'asn1js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPki, OTHER_POLICY, TEST_POLICY, type TestPki } from '../../../../../test/helpers/tsa.js';
import { isSealogError } from '../../errors.js';
import { createTimestampRequest } from '../request.js';
import { parseTimestampResponse } from '../response.js';
import { verifyTimestampToken } from '../verify.js';

const enc = new TextEncoder();
const NOTE = enc.encode(
  'example.com/log\n5\nq5Ub3yUPZ0mP2SDMmV8HR0vQzVvPNb4cP0DdFFeBzjE=\n\n— example.com/log AAAA\n',
);
const OTHER_NOTE = enc.encode(
  'example.com/log\n5\nAAAb3yUPZ0mP2SDMmV8HR0vQzVvPNb4cP0DdFFeBzjE=\n\n— example.com/log AAAA\n',
);

/** The SealogError `fn` throws, as { code, message }; fails the test if it returns or throws anything else. */
function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (!isSealogError(err)) throw err;
    return { code: err.code, message: err.message };
  }
  throw new Error('expected verification to fail, it passed');
}

async function tokenFor(pki: TestPki, data: Uint8Array): Promise<Uint8Array> {
  return parseTimestampResponse(await pki.reply(createTimestampRequest(data).der)).token;
}

/** [start, end) of a decoded block inside the token it was decoded from. */
function span(block: asn1js.AsnType): [number, number] {
  const v = (block as unknown as { valueBeforeDecodeView: Uint8Array }).valueBeforeDecodeView;
  return [v.byteOffset, v.byteOffset + v.byteLength];
}

/** Byte ranges of the token's parts (test-side navigation with asn1js). */
function parts(token: Uint8Array) {
  const root = asn1js.fromBER(new Uint8Array(token)).result as asn1js.Sequence;
  const sd = (root.valueBlock.value[1] as asn1js.Constructed).valueBlock.value[0] as asn1js.Sequence;
  const [, , encap, certs, signerInfos] = sd.valueBlock.value;
  const eContent = ((encap as asn1js.Sequence).valueBlock.value[1] as asn1js.Constructed).valueBlock
    .value[0]!;
  const signer = (signerInfos as asn1js.Set).valueBlock.value[0] as asn1js.Sequence;
  const fields = signer.valueBlock.value;
  const signedAttrs = fields.find((f) => f.idBlock.tagClass === 3 && f.idBlock.tagNumber === 0)!;
  const signature = fields[fields.length - 1]!;
  const firstCert = (certs as asn1js.Constructed).valueBlock.value[0]!;
  return {
    tstInfo: span(eContent),
    signedAttrs: span(signedAttrs),
    signature: span(signature),
    cert: span(firstCert),
  };
}

let pki: TestPki;
let foreign: TestPki;
let token: Uint8Array;
beforeAll(async () => {
  pki = await createTestPki();
  // Same names as the real one: only keys tell them apart.
  foreign = await createTestPki();
  token = await tokenFor(pki, NOTE);
});
afterAll(async () => {
  await pki?.dispose();
  await foreign?.dispose();
});

const anchors = () => ({ trustAnchors: pki.caPem });

describe('verifyTimestampToken refuses', () => {
  it('nothing when all is right (control)', () => {
    expect(verifyTimestampToken(token, NOTE, anchors()).policy).toBe(TEST_POLICY);
  });

  it('a token for another note: imprint mismatch', () => {
    const f = failure(() => verifyTimestampToken(token, OTHER_NOTE, anchors()));
    expect(f.code).toBe('E_TAMPER');
    expect(f.message).toMatch(/imprint mismatch/);
  });

  it('a token from a TSA under another CA with the same names: untrusted chain', async () => {
    const alien = await tokenFor(foreign, NOTE);
    expect(verifyTimestampToken(alien, NOTE, { trustAnchors: foreign.caPem }).tsa).toContain(
      'sealog test TSA',
    );
    const f = failure(() => verifyTimestampToken(alien, NOTE, anchors()));
    expect(f).toMatchObject({ code: 'E_TAMPER' });
    expect(f.message).toMatch(/untrusted chain/);
  });

  it('any single flipped byte in the TSTInfo', () => {
    const [start, end] = parts(token).tstInfo;
    let digestMismatch = 0;
    for (let i = start; i < end; i++) {
      const bad = Uint8Array.from(token);
      bad[i] = (bad[i] ?? 0) ^ 0x01;
      const f = failure(() => verifyTimestampToken(bad, NOTE, anchors()));
      expect(['E_TAMPER', 'E_FORMAT']).toContain(f.code);
      if (/messageDigest mismatch/.test(f.message)) digestMismatch++;
    }
    // genTime, serial and policy bytes parse fine: only the messageDigest binding catches them.
    expect(digestMismatch).toBeGreaterThan(10);
  });

  it('any single flipped byte in the signed attributes', () => {
    const [start, end] = parts(token).signedAttrs;
    let badSignature = 0;
    for (let i = start + 2; i < end; i++) {
      const bad = Uint8Array.from(token);
      bad[i] = (bad[i] ?? 0) ^ 0x01;
      const f = failure(() => verifyTimestampToken(bad, NOTE, anchors()));
      expect(['E_TAMPER', 'E_FORMAT']).toContain(f.code);
      if (/bad signature/.test(f.message)) badSignature++;
    }
    expect(badSignature).toBeGreaterThan(10);
  });

  it('flipped bytes across the signature', () => {
    const [start, end] = parts(token).signature;
    for (let i = start + 4; i < end; i += 3) {
      const bad = Uint8Array.from(token);
      bad[i] = (bad[i] ?? 0) ^ 0x80;
      const f = failure(() => verifyTimestampToken(bad, NOTE, anchors()));
      expect(f).toMatchObject({ code: 'E_TAMPER' });
      expect(f.message).toMatch(/bad signature/);
    }
  });

  it('flipped bytes across the TSA certificate the token carries', () => {
    const [start, end] = parts(token).cert;
    for (let i = start; i < end; i += 5) {
      const bad = Uint8Array.from(token);
      bad[i] = (bad[i] ?? 0) ^ 0x01;
      const f = failure(() => verifyTimestampToken(bad, NOTE, anchors()));
      expect(['E_TAMPER', 'E_FORMAT']).toContain(f.code);
    }
  });

  it('a certificate without exactly one critical timeStamping EKU: bad EKU', async () => {
    // Control: the same re-signing with a proper TSA certificate verifies.
    const good = await pki.resign(token, 'tsa');
    expect(verifyTimestampToken(good, NOTE, anchors()).tsa).toContain('resigned tsa');
    for (const profile of ['eku-not-critical', 'eku-extra', 'no-eku'] as const) {
      const bad = await pki.resign(token, profile);
      const f = failure(() => verifyTimestampToken(bad, NOTE, anchors()));
      expect(f.code, profile).toBe('E_TAMPER');
      expect(f.message, profile).toMatch(/bad EKU/);
    }
  });

  it('a policy other than the one required', () => {
    expect(verifyTimestampToken(token, NOTE, { ...anchors(), policy: TEST_POLICY }).policy).toBe(TEST_POLICY);
    const f = failure(() => verifyTimestampToken(token, NOTE, { ...anchors(), policy: OTHER_POLICY }));
    expect(f).toMatchObject({ code: 'E_TAMPER' });
    expect(f.message).toMatch(/policy mismatch/);
  });

  it('a genTime in the verifier’s future', () => {
    const genTime = verifyTimestampToken(token, NOTE, anchors()).genTime;
    const f = failure(() =>
      verifyTimestampToken(token, NOTE, { ...anchors(), now: new Date(genTime.getTime() - 3600_000) }),
    );
    expect(f.message).toMatch(/in the future/);
  });

  it('trailing bytes after the token, and a token over 64 KiB', () => {
    expect(failure(() => verifyTimestampToken(Uint8Array.from([...token, 0]), NOTE, anchors())).code).toBe(
      'E_FORMAT',
    );
    expect(failure(() => verifyTimestampToken(new Uint8Array(65 * 1024), NOTE, anchors())).message).toMatch(
      /larger than/,
    );
  });

  it('no or unreadable trust anchors: E_CONFIG', () => {
    expect(failure(() => verifyTimestampToken(token, NOTE, { trustAnchors: [] })).code).toBe('E_CONFIG');
    const broken = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    expect(failure(() => verifyTimestampToken(token, NOTE, { trustAnchors: broken })).code).toBe('E_CONFIG');
  });
});

describe('verifyTimestampToken accepts', () => {
  it('the TSA certificate itself pinned as the trust anchor', () => {
    expect(verifyTimestampToken(token, NOTE, { trustAnchors: pki.tsaPem }).tsa).toContain('sealog test TSA');
  });

  it('an ECDSA TSA with ESSCertID v1 (SHA-1 signingCertificate) and no chain in the token', async () => {
    const ec = await createTestPki({ key: 'ec', essCertId: 'v1', chain: false });
    try {
      const t = await tokenFor(ec, NOTE);
      expect(verifyTimestampToken(t, NOTE, { trustAnchors: ec.caPem }).tsa).toContain('sealog test TSA');
      expect(failure(() => verifyTimestampToken(t, NOTE, anchors())).message).toMatch(/untrusted chain/);
    } finally {
      await ec.dispose();
    }
  });
});
