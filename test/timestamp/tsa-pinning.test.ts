import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  exportBundle,
  LedgerReader,
  requestTimestamp,
  type VerifyOptions,
  verifyLedger,
  verifyTimestampToken,
} from '../../packages/core/src/index.js';
import { runCli } from '../helpers/cli.js';
import { createTestPki, startTestTsa, type TestPki, type TestTsa } from '../helpers/tsa.js';
import type { Setup } from './harness.js';
import { secondTsa } from './second-tsa.js';
import { setupIn, writeStamped } from './verify-fixture.js';

// TSA signer pinning (issue 16): many TSAs chain to one public root, and any of
// them can mint a token with any genTime for a note a log-key thief rewrote.
// `--tsa-signer` names the TSA's own certificate: a token counts only if that
// certificate signed it. Two TSAs under one test root: the pinned one and
// another, whose tokens pass under the root alone and fail under the pin.

let shared: string;
let pki: TestPki;
let pinnedTsa: TestTsa;
/** Same CA, another key and certificate: the TSA the verifier did not choose. */
let otherTsa: TestTsa;
/** A ledger stamped by the other TSA. */
let byOther: Setup;
/** The same log stamped by the pinned one. */
let byPinned: Setup;
let files: { pinned: string; other: string; ca: string; noPem: string };

beforeAll(async () => {
  shared = mkdtempSync(join(tmpdir(), 'sealog-tsa-pinning-'));
  pki = await createTestPki();
  pinnedTsa = await startTestTsa(pki);
  otherTsa = await startTestTsa(await secondTsa(pki, 'rogue TSA'));
  byOther = setupIn(shared, 'other', pki);
  await writeStamped(byOther, otherTsa.url, 2);
  byPinned = setupIn(shared, 'pinned', pki);
  await writeStamped(byPinned, pinnedTsa.url, 2);
  files = {
    pinned: join(shared, 'pinned-tsa.pem'),
    other: join(shared, 'other-tsa.pem'),
    ca: byOther.caFile,
    noPem: join(shared, 'no-pem.txt'),
  };
  writeFileSync(files.pinned, pki.tsaPem);
  writeFileSync(files.other, otherTsa.pki.tsaPem);
  writeFileSync(files.noPem, 'not a certificate\n');
}, 120_000);
afterAll(async () => {
  await pinnedTsa?.close();
  await otherTsa?.close();
  await pki?.dispose();
  if (shared) rmSync(shared, { recursive: true, force: true });
});

describe('verifyTimestampToken with signers', () => {
  it('a token from another TSA under the same root passes under the root, fails pinned', async () => {
    const note = new TextEncoder().encode('a note\n');
    const other = await requestTimestamp(otherTsa.url, note, { timeoutMs: 10_000 });
    const mine = await requestTimestamp(pinnedTsa.url, note, { timeoutMs: 10_000 });
    expect(verifyTimestampToken(other.token, note, { trustAnchors: pki.caPem }).tsa).toMatch(/rogue TSA/);
    expect(() =>
      verifyTimestampToken(other.token, note, { trustAnchors: pki.caPem, signers: pki.tsaPem }),
    ).toThrow(
      expect.objectContaining({
        code: 'E_TAMPER',
        message: expect.stringMatching(/not pinned: the token is signed by CN=rogue TSA \(serial number 0x/),
      }),
    );
    const ok = verifyTimestampToken(mine.token, note, { trustAnchors: pki.caPem, signers: [pki.tsaPem] });
    expect(ok.tsa).toMatch(/sealog test TSA/);
    // Both pinned: both count.
    const both = { trustAnchors: pki.caPem, signers: [pki.tsaPem, otherTsa.pki.tsaPem] };
    expect(verifyTimestampToken(other.token, note, both).tsa).toMatch(/rogue TSA/);
    // Pinning does not replace the chain: the pinned certificate alone is no anchor here.
    const look = await createTestPki({ name: 'look-alike' });
    try {
      expect(() =>
        verifyTimestampToken(mine.token, note, { trustAnchors: look.caPem, signers: pki.tsaPem }),
      ).toThrow(/untrusted chain/);
    } finally {
      await look.dispose();
    }
  });

  it('a signer that is no PEM certificate, or not a timestamping certificate: E_CONFIG', () => {
    const bad: [VerifyOptions['tsaSigners'], RegExp][] = [
      ['not a certificate', /no TSA signer certificate given/],
      [pki.caPem, /TSA signer certificate 1 \(CN=sealog test CA\) is not a timestamping certificate/],
      [[pki.tsaPem, pki.caPem], /TSA signer certificate 2 .* bad EKU/],
      ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', /not a readable X\.509/],
    ];
    for (const [signers, message] of bad) {
      expect(() =>
        verifyTimestampToken(new Uint8Array(1), new Uint8Array(1), {
          trustAnchors: pki.caPem,
          signers: signers!,
        }),
      ).toThrow(expect.objectContaining({ code: 'E_CONFIG', message: expect.stringMatching(message) }));
    }
  });
});

describe('verifyLedger with tsaSigners', () => {
  const opts = (t: Setup, extra: Partial<VerifyOptions> = {}): VerifyOptions => ({
    keys: t.keys,
    tsaAnchors: pki.caPem,
    tsa: 'required',
    ...extra,
  });

  it("the other TSA's tokens: ok under the root alone, bad-timestamp naming it when pinned", () => {
    expect(verifyLedger(byOther.path, opts(byOther)).ok).toBe(true);
    const r = verifyLedger(byOther.path, opts(byOther, { tsaSigners: pki.tsaPem }));
    expect(r.ok).toBe(false);
    expect(r.sealed).toBe(0);
    expect(r.tsa).toMatchObject({ verified: 0, timestamped: 0, signers: ['CN=sealog test TSA tsa'] });
    const bad = r.findings.filter((f) => f.kind === 'bad-timestamp');
    expect(bad.length).toBeGreaterThan(0);
    for (const f of bad)
      expect(f.message).toMatch(/pinned signers.*not pinned: the token is signed by CN=rogue TSA/);
    // Pinning the TSA that did stamp it: sealed again.
    expect(verifyLedger(byOther.path, opts(byOther, { tsaSigners: otherTsa.pki.tsaPem })).ok).toBe(true);
    // The pinned TSA's own ledger passes under its pin.
    const mine = verifyLedger(byPinned.path, opts(byPinned, { tsaSigners: pki.tsaPem }));
    expect(mine.findings).toEqual([]);
    expect(mine.tsa?.timestamped).toBe(mine.tsa?.checkpoints);
  });

  it('tsaSigners without anchors, or not a TSA certificate: E_CONFIG before the file is read', () => {
    for (const extra of [
      { tsaAnchors: undefined, tsa: undefined, tsaSigners: pki.tsaPem },
      { tsaSigners: pki.caPem },
      { tsaSigners: 'no pem' },
    ] as Partial<VerifyOptions>[]) {
      expect(() => verifyLedger(join(shared, 'missing.db'), opts(byOther, extra))).toThrow(
        expect.objectContaining({ code: 'E_CONFIG' }),
      );
    }
  });
});

const keyArgs = (t: Setup) => t.keys.flatMap((k) => ['--key', k]);

describe('sealog verify / verify-bundle --tsa-signer', () => {
  it('verify: the unpinned TSA fails naming it, exit 1; without the pin exit 0', async () => {
    const base = ['verify', byOther.path, ...keyArgs(byOther), '--tsa-anchor', files.ca, '--tsa', 'required'];
    expect((await runCli(base)).code).toBe(0);
    const r = await runCli([...base, '--tsa-signer', files.pinned]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/timestamps \(required, pinned to CN=sealog test TSA tsa\): 0 of \d+/);
    expect(r.out).toMatch(/bad-timestamp .*not pinned: the token is signed by CN=rogue TSA/);
    const ok = await runCli([...base, '--tsa-signer', files.pinned, '--tsa-signer', files.other]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/pinned to CN=sealog test TSA tsa; CN=rogue TSA/);
  });

  it('verify: usage errors, exit 2', async () => {
    const base = ['verify', byOther.path, ...keyArgs(byOther)];
    const cases: [string[], RegExp][] = [
      [['--tsa-signer', files.pinned], /--tsa-signer needs --tsa-anchor/],
      [['--tsa-anchor', files.ca, '--tsa-signer', files.noPem], /TSA signer file .*no-pem\.txt holds no PEM/],
      [
        ['--tsa-anchor', files.ca, '--tsa-signer', files.ca],
        /E_CONFIG: TSA signer certificate 1 \(CN=sealog test CA\) is not a timestamping certificate/,
      ],
      [['--tsa-anchor', files.ca, '--tsa-signer', join(shared, 'absent.pem')], /cannot read TSA signer file/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli([...base, ...args]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
    }
  });

  it('verify-bundle: a token from the unpinned TSA fails, exit 1; usage errors exit 2', async () => {
    const reader = new LedgerReader(byOther.path);
    const bundle = join(shared, 'bundle.json');
    try {
      const { bundle: b } = exportBundle(reader, {
        query: { seqFrom: 0, seqTo: 10 },
        keys: byOther.keys,
        anchorText: readFileSync(byOther.anchor, 'utf8'),
      });
      writeFileSync(bundle, JSON.stringify(b));
    } finally {
      reader.close();
    }
    const base = [
      'verify-bundle',
      bundle,
      ...keyArgs(byOther),
      '--tsa-anchor',
      files.ca,
      '--tsa',
      'required',
    ];
    expect((await runCli(base)).code).toBe(0);
    const r = await runCli([...base, '--tsa-signer', files.pinned]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/and pinned signers: .*not pinned: the token is signed by CN=rogue TSA/);
    expect((await runCli([...base, '--tsa-signer', files.other])).code).toBe(0);
    const noAnchor = await runCli([
      'verify-bundle',
      bundle,
      ...keyArgs(byOther),
      '--tsa-signer',
      files.pinned,
    ]);
    expect(noAnchor.code).toBe(2);
    expect(noAnchor.err).toMatch(/--tsa-signer need --tsa-anchor/);
    const caAsSigner = await runCli([...base, '--tsa-signer', files.ca]);
    expect(caAsSigner.code).toBe(2);
    expect(caAsSigner.err).toMatch(/not a timestamping certificate/);
  });
});
