import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  Ed25519Signer,
  isSealogError,
  openCheckpoint,
  requestTimestamp,
  signCheckpoint,
  verifyTimestampToken,
} from '../../packages/core/src/index.js';
import { type TestPki, type TestTsa, useTestTsa } from '../helpers/tsa.js';

// Issue 16, the attacker with the key: whoever steals the log's signing key
// can re-sign any history and stamp it with any time it likes — the log's
// signature and its cosignature/v1 time line vouch for nothing then. An RFC
// 3161 token fetched when the checkpoint was sealed binds the exact note bytes
// to the TSA's time; the rewritten note cannot carry it, and a token for the
// rewritten note is dated after the rewrite.

const ORIGIN = 'example.com/audit-log';
const enc = new TextEncoder();

let pki: TestPki;
let tsa: TestTsa;
useTestTsa((started) => {
  ({ pki, tsa } = started);
});

const root = (label: string) => new Uint8Array(createHash('sha256').update(label).digest());

describe('a stolen log key cannot backdate a rewritten history past a TSA token', () => {
  it('the old token does not match the re-signed note; a new token is dated after the rewrite', async () => {
    const key = new Ed25519Signer(ORIGIN, new Uint8Array(32).fill(42));
    const sealedAt = Math.floor(Date.now() / 1000);

    // The honest log seals size 1000 and timestamps the note bytes it stored.
    const honest = signCheckpoint(
      { origin: ORIGIN, size: 1000, root: root('honest records') },
      key,
      sealedAt,
    );
    const honestToken = await requestTimestamp(tsa.url, enc.encode(honest), { timeoutMs: 10_000 });
    const anchors = { trustAnchors: pki.caPem };
    const proved = verifyTimestampToken(honestToken.token, enc.encode(honest), anchors);

    // Later: the key is stolen, the records rewritten, the same size re-signed with the
    // same claimed time. The log's own verification cannot tell.
    const rewriteAt = Date.now();
    const forged = signCheckpoint(
      { origin: ORIGIN, size: 1000, root: root('rewritten records') },
      key,
      sealedAt,
    );
    const opened = openCheckpoint(forged, [key.verifierKey, key.timeCosigner().verifierKey]);
    expect(opened.time).toBe(sealedAt);
    expect(opened.checkpoint.size).toBe(1000);

    // The attacker carries the old token over: it names other bytes.
    let err: unknown;
    try {
      verifyTimestampToken(honestToken.token, enc.encode(forged), anchors);
    } catch (e) {
      err = e;
    }
    expect(isSealogError(err) && err.code).toBe('E_TAMPER');
    expect((err as Error).message).toMatch(/imprint mismatch/);

    // A fresh token for the forged note verifies, but is dated at the rewrite, not before it
    // (genTime has whole-second precision at this TSA, hence the floor).
    const forgedToken = await requestTimestamp(tsa.url, enc.encode(forged), { timeoutMs: 10_000 });
    const late = verifyTimestampToken(forgedToken.token, enc.encode(forged), anchors);
    expect(late.genTime.getTime()).toBeGreaterThanOrEqual(Math.floor(rewriteAt / 1000) * 1000);
    expect(late.genTime.getTime()).toBeGreaterThanOrEqual(proved.genTime.getTime());

    // The honest note and its token still verify together.
    expect(verifyTimestampToken(honestToken.token, enc.encode(honest), anchors).genTime).toEqual(
      proved.genTime,
    );
  });

  it('the imprint is over the stored bytes exactly: a note re-encoded with CRLF does not match', async () => {
    const key = new Ed25519Signer(ORIGIN, new Uint8Array(32).fill(43));
    const note = signCheckpoint({ origin: ORIGIN, size: 5, root: root('five') }, key, 1_700_000_000);
    const got = await requestTimestamp(tsa.url, enc.encode(note), { timeoutMs: 10_000 });
    expect(() =>
      verifyTimestampToken(got.token, enc.encode(note.replaceAll('\n', '\r\n')), { trustAnchors: pki.caPem }),
    ).toThrow(/imprint mismatch/);
  });
});
