import { describe, expect, it } from 'vitest';
import { TEST_POLICY, type TestPki, type TestTsa, useTestTsa } from '../../../../../test/helpers/tsa.js';
import { requestTimestamp } from '../client.js';
import { createTimestampRequest } from '../request.js';
import { parseTimestampResponse } from '../response.js';
import { parseTimestampToken } from '../token.js';
import { verifyTimestampToken } from '../verify.js';

const note = new TextEncoder().encode(
  'example.com/log\n5\nq5Ub3yUPZ0mP2SDMmV8HR0vQzVvPNb4cP0DdFFeBzjE=\n\n— example.com/log AAAA\n',
);

let pki: TestPki;
let tsa: TestTsa;
useTestTsa((started) => {
  ({ pki, tsa } = started);
});

describe('RFC 3161 against a real openssl TSA', () => {
  it('requests over HTTP, and the token verifies offline against the CA', async () => {
    const before = Date.now();
    const got = await requestTimestamp(tsa.url, note, { timeoutMs: 10_000 });
    expect(got.status).toBe('granted');
    expect(got.policy).toBe(TEST_POLICY);
    expect(Math.abs(got.genTime.getTime() - before)).toBeLessThan(60_000);
    const v = verifyTimestampToken(got.token, note, { trustAnchors: pki.caPem });
    expect(v.genTime.getTime()).toBe(got.genTime.getTime());
    expect(v.tsa).toContain('sealog test TSA');
    expect(v.policy).toBe(TEST_POLICY);
    expect(v.serialNumber).toBe(got.serialNumber);
    expect(v.accuracyMs).toBe(1500);
    expect(parseTimestampToken(got.token).genTime.getTime()).toBe(v.genTime.getTime());
  });

  it('reads openssl’s request fields back (version, nonce, certReq, policy)', async () => {
    const req = createTimestampRequest(note, { policy: TEST_POLICY });
    const resp = parseTimestampResponse(await pki.reply(req.der));
    const info = parseTimestampToken(resp.token);
    expect(info.nonce).toBe(req.nonce);
    expect(info.policy).toBe(TEST_POLICY);
    expect(Buffer.from(info.imprint)).toEqual(Buffer.from(req.imprint));
  });
});
