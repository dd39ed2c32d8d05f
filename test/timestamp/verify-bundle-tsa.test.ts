import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, BundleReport } from '../../packages/core/src/index.js';
import { runCli } from '../helpers/cli.js';
import { createTestPki, startTestTsa, type TestPki, type TestTsa } from '../helpers/tsa.js';
import type { Setup } from './harness.js';
import { downUrl, setupIn, writeStamped, writeStampedBundle } from './verify-fixture.js';

// `sealog verify-bundle --tsa-anchor` (issue 16, item 2): the tokens a bundle
// carries are checked against the notes they stamp, on Node only (the browser
// verifier has no X.509 chain validation).

let shared: string;
let pki: TestPki;
let other: TestPki;
let tsa: TestTsa;
let stamped: Setup;
let down: Setup;

const bundleOf = (t: Setup, name: string, edit?: (b: Bundle) => void): string =>
  writeStampedBundle(shared, name, t, edit);

beforeAll(async () => {
  shared = mkdtempSync(join(tmpdir(), 'sealog-verify-bundle-tsa-'));
  pki = await createTestPki();
  other = await createTestPki({ name: 'look-alike' });
  tsa = await startTestTsa(pki);
  stamped = setupIn(shared, 'stamped', pki);
  await writeStamped(stamped, tsa.url, 4);
  down = setupIn(shared, 'down', pki);
  await writeStamped(down, await downUrl(pki), 4);
}, 120_000);
afterAll(async () => {
  await tsa?.close();
  await pki?.dispose();
  await other?.dispose();
  if (shared) rmSync(shared, { recursive: true, force: true });
});

const verify = (t: Setup, bundle: string, ...args: string[]) =>
  runCli(['verify-bundle', bundle, ...t.keys.flatMap((k) => ['--key', k]), ...args]);

describe('sealog verify-bundle --tsa-anchor', () => {
  it('required, the checkpoint token valid: exit 0, the TSA shown', async () => {
    const b = bundleOf(stamped, 'ok');
    const r = await verify(stamped, b, '--tsa-anchor', stamped.caFile, '--tsa', 'required');
    expect(r.out).toMatch(/^VERIFIED/);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/timestamp: {2}checkpoint note \(size \d+\): ok, timestamped by .*sealog test/);
    const json = JSON.parse(
      (await verify(stamped, b, '--tsa-anchor', stamped.caFile, '--json')).out,
    ) as BundleReport;
    expect(json.timestamps!.length).toBeGreaterThan(1);
    expect(json.timestamps!.every((t) => t.ok && typeof t.tsaTime === 'number')).toBe(true);
  });

  it('a token from another CA, or a flipped token byte: exit 1', async () => {
    const b = bundleOf(stamped, 'ok2');
    const r = await verify(stamped, b, '--tsa-anchor', join(shared, 'other.pem'));
    expect(r.code).toBe(2); // the anchor file does not exist
    writeFileSync(join(shared, 'other.pem'), other.caPem);
    const o = await verify(stamped, b, '--tsa-anchor', join(shared, 'other.pem'));
    expect(o.code).toBe(1);
    expect(o.out).toMatch(/untrusted chain/);
    const flipped = bundleOf(stamped, 'flipped', (bundle) => {
      const der = Buffer.from(bundle.timestamps![0]!.token, 'base64');
      der[der.length - 1]! ^= 0x01;
      bundle.timestamps![0]!.token = der.toString('base64');
    });
    const f = await verify(stamped, flipped, '--tsa-anchor', stamped.caFile);
    expect(f.code).toBe(1);
    expect(f.out).toMatch(/problem: {4}timestamp #1 .*does not verify/);
    // Without --tsa-anchor the bundle still verifies: tokens are not looked at.
    expect((await verify(stamped, flipped)).code).toBe(0);
  });

  it('no token (the TSA was down): best-effort exit 0 with a note, required exit 1', async () => {
    const b = bundleOf(down, 'down');
    const best = await verify(down, b, '--tsa-anchor', stamped.caFile);
    expect(best.code).toBe(0);
    expect(best.out).toMatch(/untimestamped/);
    const req = await verify(down, b, '--tsa-anchor', stamped.caFile, '--tsa', 'required');
    expect(req.code).toBe(1);
    expect(req.out).toMatch(/--tsa required/);
  });

  it('--tsa without --tsa-anchor, or a bad mode: exit 2', async () => {
    const b = bundleOf(stamped, 'ok3');
    expect((await verify(stamped, b, '--tsa', 'required')).code).toBe(2);
    expect((await verify(stamped, b, '--tsa-anchor', stamped.caFile, '--tsa', 'x')).code).toBe(2);
  });
});
