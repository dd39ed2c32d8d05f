import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportFrom, type SealedLedger, sealedLedger } from './bundle-fixture.js';
import { tempDir } from './helpers/tmp.js';
import { startWebVerifier, type WebVerifier } from './helpers/web-page.js';

// Issue 19 item 11: the page speaks to someone with a browser, not a shell;
// records are readable, searchable and all reachable.

let web: WebVerifier;

beforeAll(async () => {
  web = await startWebVerifier();
}, 180_000);

afterAll(async () => {
  await web?.close();
});

async function bundleFile(l: SealedLedger, dir: string): Promise<string> {
  const path = join(dir, 'bundle.json');
  writeFileSync(path, JSON.stringify(exportFrom(l)));
  return path;
}

describe('web verifier UX', () => {
  it('a wrong key: one line for the checkpoint, one for the records it leaves unchecked, no CLI flags', async () => {
    const dir = tempDir();
    const l = await sealedLedger(dir, 8);
    const other = await sealedLedger(dir, 3, { origin: 'other.example/log', name: 'other' });
    const page = await web.open();
    await page.fill('#keys', other.vkeys.join('\n'));
    await page.setInputFiles('#file', await bundleFile(l, dir));
    await page.waitForSelector('#verdict[data-status="failed"]');
    const problems = await page.$$eval('#problems li', (li) => li.map((x) => x.textContent ?? ''));
    expect(problems.join('\n')).not.toMatch(/--key|record 0:/);
    expect(problems[0]).toMatch(/checkpoint signature: signed only by keys other than the ones pasted/);
    expect(problems).toContain('records 0–7 (8): not checked, because the checkpoint did not verify');
    expect(problems.length).toBeLessThanOrEqual(3);
    expect(await page.textContent('#verdict')).toMatch(new RegExp(`^FAILED — ${problems.length} problem`));
    expect(await page.textContent('body')).not.toMatch(/choose the file/);
  });

  it('shows records readable, pages past 2000 and filters by text', async () => {
    const dir = tempDir();
    const l = await sealedLedger(dir, 2300);
    const page = await web.open();
    await page.fill('#keys', l.vkeys.join('\n'));
    await page.setInputFiles('#file', await bundleFile(l, dir));
    await page.waitForSelector('#verdict[data-status="ok"]');
    // seq 3: a warning (fixture: every third record), time 1_760_000_003_000.
    const row = page.locator('#records tr[data-seq="3"]');
    expect(await row.locator('.time').textContent()).toBe('2025-10-09T08:53:23.000Z');
    expect(await row.locator('.level').textContent()).toBe('warn');
    expect(await row.locator('.msg').textContent()).toBe('permission denied');
    expect(await row.locator('.fields').textContent()).toBe('action=export actor=psn:k1:user3 n=3');
    // The exact stored bytes are still there to read.
    expect(await row.locator('.raw').textContent()).toContain('"msg":"permission denied"');
    expect(await page.locator('#records tr[data-seq="2299"]').count()).toBe(0);
    expect(await page.textContent('#records-page')).toMatch(/^records 1–1000 of 2300/);
    await page.click('#records-next');
    await page.click('#records-next');
    expect(await page.textContent('#records-page')).toMatch(/^records 2001–2300 of 2300/);
    expect(await page.locator('#records tr[data-seq="2299"]').count()).toBe(1);
    await page.fill('#search', 'user4 permission');
    // Words are ANDed: warnings (seq % 3 == 0) of user4 (seq % 5 == 4): seq ≡ 9 mod 15.
    expect(await page.textContent('#records-page')).toMatch(/^records 1–153 of 153 matching/);
    expect(await page.getAttribute('#records tr[data-seq]', 'data-seq')).toBe('9');
    // What the row shows is searched too: the level name, not only the stored number.
    await page.fill('#search', 'warn');
    expect(await page.textContent('#records-page')).toMatch(/^records 1–767 of 767 matching/);
    await page.fill('#search', 'no such text');
    expect(await page.textContent('#records-page')).toMatch(/no record matches/);
    expect(web.errors).toEqual([]);
  }, 120_000);
});
