import { describe, expect, it } from 'vitest';
import {
  OTHER_POLICY,
  startTestTsa,
  type TestPki,
  type TestTsa,
  type TsaMode,
  useTestTsa,
} from '../../../../../test/helpers/tsa.js';
import { isSealogError } from '../../errors.js';
import { requestTimestamp } from '../client.js';
import { verifyTimestampToken } from '../verify.js';

const NOTE = new TextEncoder().encode(
  'example.com/log\n7\nq5Ub3yUPZ0mP2SDMmV8HR0vQzVvPNb4cP0DdFFeBzjE=\n\n— example.com/log AAAA\n',
);

let pki: TestPki;
let tsa: TestTsa;
useTestTsa((started) => {
  ({ pki, tsa } = started);
});

/** Runs a request in `mode`; returns the SealogError and how long it took. Anything else fails the test. */
async function failing(mode: TsaMode, timeoutMs = 5000, url = tsa.url) {
  tsa.mode = mode;
  const started = Date.now();
  try {
    await requestTimestamp(url, NOTE, { timeoutMs });
  } catch (err) {
    if (!isSealogError(err)) throw err;
    return { code: err.code, message: err.message, ms: Date.now() - started };
  } finally {
    tsa.mode = 'ok';
  }
  throw new Error(`mode ${mode}: expected a failure`);
}

describe('requestTimestamp fails typed, and within its timeout', () => {
  it('works against the honest TSA (control), sending RFC 3161 §3.4 content type', async () => {
    const got = await requestTimestamp(tsa.url, NOTE, { timeoutMs: 10_000, policy: OTHER_POLICY });
    expect(got.policy).toBe(OTHER_POLICY);
    expect(
      verifyTimestampToken(got.token, NOTE, { trustAnchors: pki.caPem, policy: OTHER_POLICY }).policy,
    ).toBe(OTHER_POLICY);
  });

  it('TSA down (connection refused)', async () => {
    const gone = await startTestTsa(pki);
    await gone.close();
    const f = await failing('ok', 5000, gone.url);
    expect(f.code).toBe('E_IO');
    expect(f.message).toMatch(/cannot reach TSA/);
  });

  it('connection reset without an answer', async () => {
    expect((await failing('reset')).code).toBe('E_IO');
  });

  it('TSA that never answers: E_IO at the timeout, not later', async () => {
    const f = await failing('hang', 400);
    expect(f).toMatchObject({ code: 'E_IO' });
    expect(f.message).toMatch(/did not answer within 400 ms/);
    expect(f.ms).toBeLessThan(400 + 4000);
  });

  it('TSA that sends headers and then trickles the body: the timeout covers the body', async () => {
    const f = await failing('trickle', 1500);
    expect(f.code).toBe('E_IO');
    expect(f.message).toMatch(/did not answer within/);
    expect(f.ms).toBeLessThan(1500 + 4000);
  });

  it('garbage bytes: E_FORMAT', async () => {
    expect((await failing('garbage')).code).toBe('E_FORMAT');
  });

  it('a reply sent as text/html: E_FORMAT naming the content type', async () => {
    const f = await failing('html');
    expect(f).toMatchObject({ code: 'E_FORMAT' });
    expect(f.message).toMatch(/text\/html/);
  });

  it('HTTP 500: E_IO', async () => {
    const f = await failing('http-500');
    expect(f).toMatchObject({ code: 'E_IO' });
    expect(f.message).toMatch(/HTTP 500/);
  });

  it('a body over 64 KiB: E_FORMAT without reading it all', async () => {
    const f = await failing('huge');
    expect(f).toMatchObject({ code: 'E_FORMAT' });
    expect(f.message).toMatch(/65536/);
  });

  it('a genuine token for another imprint: E_TAMPER', async () => {
    const f = await failing('wrong-imprint');
    expect(f).toMatchObject({ code: 'E_TAMPER' });
    expect(f.message).toMatch(/imprint mismatch/);
  });

  it('a genuine token for another nonce (a replayed answer): E_TAMPER', async () => {
    const f = await failing('wrong-nonce');
    expect(f).toMatchObject({ code: 'E_TAMPER' });
    expect(f.message).toMatch(/nonce mismatch/);
  });

  it('a policy the TSA does not serve: its rejection, as E_IO with the reason', async () => {
    tsa.mode = 'ok';
    const err = await requestTimestamp(tsa.url, NOTE, { timeoutMs: 5000, policy: '1.2.3.4.5' }).catch(
      (e) => e,
    );
    expect(isSealogError(err) && err.code).toBe('E_IO');
    expect(err.message).toMatch(/rejection \(unacceptedPolicy\)/);
  });

  it('bad options: E_CONFIG before any request', async () => {
    const sent = tsa.requests.length;
    for (const [url, opts] of [
      ['ftp://127.0.0.1/tsa', { timeoutMs: 1000 }],
      ['not a url', { timeoutMs: 1000 }],
      [tsa.url, { timeoutMs: 0 }],
      [tsa.url, { timeoutMs: 1000, policy: 'x.y' }],
    ] as const) {
      const err = await requestTimestamp(url, NOTE, opts).catch((e) => e);
      expect(isSealogError(err) && err.code, url).toBe('E_CONFIG');
    }
    expect(tsa.requests.length).toBe(sent);
  });
});
