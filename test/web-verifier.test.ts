import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle } from '../packages/core/src/index.js';
import { exportFrom, sealedLedger } from './bundle-fixture.js';
import { tempDir } from './helpers/tmp.js';
import { PAGE, startWebVerifier, type WebVerifier } from './helpers/web-page.js';

// The offline verifier in real headless Chromium (Debian's chromium package,
// driven by playwright-core). Install it with `node scripts/ensure-chromium.mjs`.

const ROOT = resolve(import.meta.dirname, '..');
// Tests never write into the repo: the screenshot goes to a temp dir unless
// SEALOG_UPDATE_SCREENSHOT=1 asks to refresh docs/web-verifier.png.
const SCREENSHOT =
  process.env.SEALOG_UPDATE_SCREENSHOT === '1'
    ? join(ROOT, 'docs/web-verifier.png')
    : join(mkdtempSync(join(tmpdir(), 'sealog-shot-')), 'web-verifier.png');

let web: WebVerifier;

beforeAll(async () => {
  web = await startWebVerifier();
}, 120_000);

afterAll(async () => {
  await web?.close();
});

const openPage = () => web.open();

describe('web verifier in headless Chromium', () => {
  it('shows VERIFIED for a good bundle and FAILED for a tampered one, with no network request', async () => {
    const dir = tempDir();
    const l = await sealedLedger(dir, 30, { alsoAt: 16 });
    // A filtered export (warnings only), so the page has withheld rows to explain.
    const good = exportFrom(
      l,
      {
        seqFrom: 6,
        seqTo: 22,
        match: (r) => JSON.parse(r.entry.toString()).level === 40,
      },
      l.vkeys,
      ['--seq 6..21', '--level warn'],
    );
    const goodPath = join(dir, 'bundle.json');
    writeFileSync(goodPath, JSON.stringify(good));
    const tampered = JSON.parse(JSON.stringify(good)) as Bundle;
    tampered.entries[2]!.entry = Buffer.from(
      Buffer.from(tampered.entries[2]!.entry, 'base64').toString().replace('"export"', '"delete"'),
    ).toString('base64');
    const badPath = join(dir, 'tampered.json');
    writeFileSync(badPath, JSON.stringify(tampered));

    const page = await openPage();
    await page.fill('#keys', l.vkeys.join('\n'));
    await page.setInputFiles('#file', goodPath);
    await page.waitForSelector('#verdict');
    expect(await page.getAttribute('#verdict', 'data-status')).toBe('ok');
    expect(await page.textContent('#verdict')).toMatch(
      /^VERIFIED — every record is in the signed checkpoint/,
    );
    expect(await page.textContent('#cp-origin')).toBe(l.origin);
    expect(await page.textContent('#cp-size')).toBe('30');
    expect(await page.textContent('#cp-root')).toBe(good.manifest.checkpoint.root);
    const keyId = l.vkeys[0]!.split('+')[1]!;
    expect(await page.textContent('#cp-signer')).toBe(`${l.origin}  (key ID ${keyId})`);
    expect(await page.textContent('#cp-time')).toMatch(
      new RegExp(
        `^${new Date(1_760_000_500_000).toISOString().replace('.000Z', 'Z')}  \\(cosigned by ${l.origin}/time [0-9a-f]{8}\\)$`,
      ),
    );
    expect(await page.textContent('#records-summary')).toBe('Records: 6 of 6 verified');
    expect(
      await page.$$eval('#records tr.pass', (rows) => rows.map((r) => r.getAttribute('data-seq'))),
    ).toEqual(['6', '9', '12', '15', '18', '21']);
    expect(await page.textContent('#withheld')).toBe('10 (between the first and last record)');
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    await page.setInputFiles('#file', badPath);
    await page.waitForSelector('#verdict[data-status="failed"]');
    expect(await page.textContent('#verdict')).toMatch(/^FAILED — 1 problem\(s\)/);
    expect(
      await page.$$eval('#records tr.fail', (rows) => rows.map((r) => r.getAttribute('data-seq'))),
    ).toEqual(['12']);
    expect(await page.textContent('#records tr.fail')).toMatch(/FAIL: entry bytes were changed/);
    expect(await page.textContent('#problems')).toMatch(/^record 12: entry bytes were changed/);

    // Keys removed: the bundle's own key is used, and the page says what that means.
    await page.fill('#keys', '');
    await page.setInputFiles('#file', goodPath);
    await page.waitForSelector('#verdict[data-status="self"]');
    expect(await page.textContent('#notes')).toMatch(/self-consistent/);

    // A key from another log: the signature check fails.
    const other = await sealedLedger(dir, 3, { origin: 'other.example/log', name: 'other' });
    await page.fill('#keys', other.vkeys.join('\n'));
    await page.waitForSelector('#verdict[data-status="failed"]');
    expect(await page.textContent('#problems')).toMatch(
      /checkpoint signature: signed only by keys other than the ones pasted/,
    );

    await page.setInputFiles('#file', join(ROOT, 'package.json'));
    await page.waitForSelector('#verdict[data-status="unreadable"]');

    expect(web.errors).toEqual([]);
    // The only request the browser made is loading the page itself.
    expect(new Set(web.requests)).toEqual(new Set([pathToFileURL(PAGE).href]));
    expect(readFileSync(SCREENSHOT).subarray(1, 4).toString()).toBe('PNG');
  });

  it('the page declares a CSP that forbids every network source and inlines everything', () => {
    const html = readFileSync(PAGE, 'utf8');
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
    expect(csp).toMatch(
      /^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'; style-src 'sha256-[A-Za-z0-9+/=]+'/,
    );
    // No external resource and no code path that could reach the network (URLs in comments are fine).
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|<img|<iframe/);
    expect(html).not.toMatch(/fetch\(|XMLHttpRequest|WebSocket|sendBeacon|EventSource|new Worker|import\(/);
  });
});
