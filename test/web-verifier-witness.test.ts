import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_URL, startWebVerifier, type WebVerifier } from './helpers/web-page.js';
import { type WitnessedBundles, witnessedBundles } from './witness/witnessed-bundles.js';

// Issue 16 in the browser: the offline page takes witness keys and a quorum,
// and fails a bundle whose checkpoint the quorum did not cosign. Bundles come
// from `sealog export` over a ledger two real `sealog witness serve` cosigned.

let web: WebVerifier;
let w: WitnessedBundles;

beforeAll(async () => {
  w = await witnessedBundles();
  web = await startWebVerifier();
}, 180_000);

afterAll(async () => {
  await web?.close();
  await w?.close();
});

describe('web verifier with witness keys', () => {
  it('shows the witnesses and their times, and fails a quorum not met, a missing or a forged cosignature', async () => {
    const page = await web.open();
    await page.fill('#keys', w.ledger.logKey);
    await page.click('#witness-options summary');
    await page.fill('#witnesses', `${w.W1}\n# a comment\n${w.W2}`);
    await page.setInputFiles('#file', w.bothFile);
    await page.waitForSelector('#verdict[data-status="ok"]');
    expect(await page.textContent('#witness-quorum')).toBe(
      '2 of 2 given witness(es) cosigned the checkpoint; 2 needed: MET',
    );
    const rows = await page.$$eval('#witnesses-result tr td', (tds) => tds.map((t) => t.textContent));
    expect(rows.slice(1)).toEqual([
      expect.stringMatching(/^witness\.example\/w1: cosigned at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      expect.stringMatching(/^witness2\.example\/w2: cosigned at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    ]);

    // Only w1 cosigned the checkpoint at 30: quorum 2 fails, quorum 1 passes.
    await page.setInputFiles('#file', w.onlyW1File);
    await page.waitForSelector('#verdict[data-status="failed"]');
    expect(await page.textContent('#witness-quorum')).toBe(
      '1 of 2 given witness(es) cosigned the checkpoint; 2 needed: NOT MET',
    );
    expect(await page.textContent('#problems')).toContain(
      'witnesses: the bundle checkpoint is cosigned by 1 of the 2 given witness(es), fewer than the quorum of 2',
    );
    await page.fill('#quorum', '1');
    await page.waitForSelector('#verdict[data-status="ok"]');

    // The witnesses' notes removed: only the log key vouches, which is not enough.
    const stripped = { ...w.both, cosignedNotes: undefined };
    const strippedFile = join(w.dir, 'stripped.json');
    writeFileSync(strippedFile, JSON.stringify(stripped));
    await page.setInputFiles('#file', strippedFile);
    await page.waitForSelector('#verdict[data-status="failed"]');
    expect(await page.textContent('#witness-quorum')).toBe(
      '0 of 2 given witness(es) cosigned the checkpoint; 1 needed: NOT MET',
    );

    // w2's line altered in its last signature byte: a forged cosignature, named.
    const forged = JSON.parse(JSON.stringify(w.both)) as typeof w.both;
    forged.cosignedNotes![1] = forged
      .cosignedNotes![1]!.split('\n')
      .map((l) => {
        if (!l.startsWith('\u2014 witness2.example/w2 ')) return l;
        const [dash, name, sig] = l.split(' ');
        const bytes = Buffer.from(sig!, 'base64');
        bytes[bytes.length - 1]! ^= 0x01;
        return `${dash} ${name} ${bytes.toString('base64')}`;
      })
      .join('\n');
    const forgedFile = join(w.dir, 'forged.json');
    writeFileSync(forgedFile, JSON.stringify(forged));
    await page.setInputFiles('#file', forgedFile);
    await page.waitForSelector('#verdict[data-status="failed"]');
    expect(await page.textContent('#problems')).toContain(
      'cosigned note 2: the cosignature line by witness witness2.example/w2',
    );

    // A quorum out of range and a log key given as a witness are named, not ignored.
    await page.setInputFiles('#file', w.bothFile);
    await page.fill('#quorum', '3');
    await page.waitForSelector('#verdict[data-status="failed"]');
    expect(await page.textContent('#problems')).toContain(
      'witness policy: quorum must be an integer from 1 to 2 (the number of distinct witnesses given), got 3',
    );
    await page.fill('#quorum', '');
    await page.fill('#witnesses', w.ledger.logKey);
    await page.waitForSelector('#verdict[data-status="failed"]');
    expect(await page.textContent('#problems')).toContain(
      'is a log signing key (type 0x01), not a witness cosigner key',
    );

    expect(web.errors).toEqual([]);
    expect(new Set(web.requests)).toEqual(new Set([PAGE_URL]));
  });
});
