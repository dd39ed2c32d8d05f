import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Bundle,
  type BundleReport,
  createTimestampRequest,
  parseTimestampResponse,
  verifyBundlePath,
} from '../packages/core/src/index.js';
import { createTestPki, startTestTsa, type TestPki, type TestTsa } from './helpers/tsa.js';
import { PAGE_URL, startWebVerifier, type WebVerifier } from './helpers/web-page.js';
import type { Setup } from './timestamp/harness.js';
import { downUrl, setupIn, writeStamped, writeStampedBundle } from './timestamp/verify-fixture.js';

// Issue 16 in the browser: the offline page checks a bundle's RFC 3161 tokens
// against TSA roots the user gives (pkijs + WebCrypto, no network), and says
// of each token what `sealog verify-bundle --tsa-anchor` says. The tokens come
// from the repo's OpenSSL TSA (`openssl ts -reply` behind a loopback responder).

let web: WebVerifier;
let shared: string;
let rsa: TestPki; // RSA key, ESSCertIDv2: the TSA the writer used
let ec: TestPki; // P-256 key, ESSCertID (SHA-1)
let foreign: TestPki; // same names, other keys
let tsa: TestTsa;
let stamped: Setup;
let down: Setup;

const exported = (t: Setup, name: string, edit?: (b: Bundle) => void): string =>
  writeStampedBundle(shared, name, t, edit);

beforeAll(async () => {
  shared = mkdtempSync(join(tmpdir(), 'sealog-web-tsa-'));
  [rsa, ec, foreign] = await Promise.all([
    createTestPki(),
    createTestPki({ key: 'ec', essCertId: 'v1', name: 'ec test' }),
    createTestPki(),
  ]);
  tsa = await startTestTsa(rsa);
  stamped = setupIn(shared, 'stamped', rsa);
  await writeStamped(stamped, tsa.url, 4);
  down = setupIn(shared, 'down', rsa);
  await writeStamped(down, await downUrl(rsa), 4);
  web = await startWebVerifier();
}, 180_000);

afterAll(async () => {
  await web?.close();
  await tsa?.close();
  for (const p of [rsa, ec, foreign]) await p?.dispose();
  if (shared) rmSync(shared, { recursive: true, force: true });
});

/** The page's token rows, as [label, text]. */
const rows = (page: Page) =>
  page.$$eval('#timestamps-result tr', (trs) =>
    trs.map((tr) => [tr.querySelector('th')?.textContent ?? '', tr.querySelector('td')?.textContent ?? '']),
  );

/** What `sealog verify-bundle --tsa-anchor` reports, as the page would draw it. */
function nodeRows(r: BundleReport): string[][] {
  return (r.timestamps ?? []).map((x) => [
    `${x.note === 'none' ? 'no note of the bundle' : `${x.note} note`} (size ${x.size ?? '?'})`,
    `${x.ok ? 'OK' : 'NOT OK'} — ${x.message}`,
  ]);
}

describe('web verifier checks RFC 3161 tokens offline', () => {
  it('says of every token what verify-bundle says: valid, foreign CA, flipped byte, P-256 TSA, required without a token', async () => {
    const good = exported(stamped, 'good');
    const flipped = exported(stamped, 'flipped', (b) => {
      const der = Buffer.from(b.timestamps![0]!.token, 'base64');
      der[der.length - 1]! ^= 0x01;
      b.timestamps![0]!.token = der.toString('base64');
    });
    // A token from the P-256 TSA over the bundle checkpoint note, in place of the writer's.
    const ecReply = await ec.reply(
      createTimestampRequest(new TextEncoder().encode(JSON.parse(readFileSync(good, 'utf8')).checkpoint)).der,
    );
    const ecToken = parseTimestampResponse(ecReply).token;
    const byEc = exported(stamped, 'by-ec', (b) => {
      b.timestamps = [
        {
          size: b.manifest.checkpoint.size,
          noteSha256: createHash('sha256').update(b.checkpoint).digest('base64'),
          token: Buffer.from(ecToken).toString('base64'),
        },
      ];
    });
    const unstamped = exported(down, 'unstamped');
    const caFile = join(shared, 'rsa-ca.pem');
    writeFileSync(caFile, rsa.caPem);

    const page = await web.open();
    await page.click('#tsa-options summary');
    // The anchor from a file, as a user picks it.
    await page.setInputFiles('#tsa-file', caFile);
    await page.selectOption('#tsa-mode', 'required');
    const cases: [string, string[], string, 'ok' | 'failed', RegExp][] = [
      [good, stamped.keys, rsa.caPem, 'ok', /timestamped by .*sealog test TSA/],
      [good, stamped.keys, foreign.caPem, 'failed', /untrusted chain/],
      [flipped, stamped.keys, rsa.caPem, 'failed', /does not verify/],
      [byEc, stamped.keys, ec.caPem, 'ok', /timestamped by .*ec test TSA/],
      [byEc, stamped.keys, rsa.caPem, 'failed', /untrusted chain/],
      [unstamped, down.keys, rsa.caPem, 'failed', /none in the bundle/],
    ];
    let first = true;
    for (const [file, keys, anchors, status, row] of cases) {
      await page.fill('#keys', keys.join('\n'));
      if (!first) await page.fill('#tsa-anchors', anchors);
      first = false;
      await page.setInputFiles('#file', file);
      await page.waitForSelector(`#verdict[data-status="${status}"]`);
      const node = verifyBundlePath(file, { keys, tsaAnchors: anchors, tsa: 'required' });
      expect(node.status).toBe(status);
      const shown = await rows(page);
      expect(shown).toEqual(nodeRows(node).length > 0 ? nodeRows(node) : [['Tokens', 'none in the bundle']]);
      expect(shown.map((r) => r[1]).join('\n')).toMatch(row);
      const problems = status === 'failed' ? await page.textContent('#problems') : '';
      for (const p of node.problems) expect(problems).toContain(p);
      // Reset the page between files so the next wait sees a fresh verdict.
      await page.setInputFiles('#file', join(import.meta.dirname, '..', 'package.json'));
      await page.waitForSelector('#verdict[data-status="unreadable"]');
    }

    // Not a certificate, or a bad policy OID: named as options, not ignored.
    await page.fill('#keys', stamped.keys.join('\n'));
    await page.fill('#tsa-anchors', 'not a certificate');
    await page.setInputFiles('#file', good);
    await page.waitForSelector('#verdict[data-status="failed"]');
    expect(await page.textContent('#problems')).toContain('TSA options: no trust anchor given');
    await page.fill('#tsa-anchors', rsa.caPem);
    await page.fill('#tsa-policy', 'not.an.oid');
    await page.waitForSelector('#problems >> text=/tsaPolicy "not.an.oid" is not a dotted OID/');
    await page.fill('#tsa-policy', '');
    await page.waitForSelector('#verdict[data-status="ok"]');

    // Pinned TSA signing certificates: another TSA's fails naming the one that signed, its own passes.
    await page.fill('#tsa-signers', foreign.tsaPem);
    await page.waitForSelector('#verdict[data-status="failed"]');
    expect(await page.textContent('#problems')).toMatch(
      /and pinned signers: timestamp token: not pinned: the token is signed by CN=sealog test TSA/,
    );
    await page.fill('#tsa-signers', rsa.tsaPem);
    await page.waitForSelector('#verdict[data-status="ok"]');

    expect(web.errors).toEqual([]);
    expect(new Set(web.requests)).toEqual(new Set([PAGE_URL]));
  });
});
