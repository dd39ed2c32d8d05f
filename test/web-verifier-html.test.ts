import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportCommand } from '../packages/cli/src/commands/export.js';
import { generateKey, Ledger } from '../packages/core/src/index.js';
import { exportFrom, type SealedLedger, seal } from './bundle-fixture.js';
import { runCli } from './helpers/cli.js';
import { PAGE_URL, startWebVerifier, type WebVerifier } from './helpers/web-page.js';

// Issue 19: `sealog export --html` writes one page with the bundle inside, that
// an auditor opens with nothing installed. The bundle was written by the party
// under audit, so one record tries to close the embedding <script>.

let web: WebVerifier;
let l: SealedLedger;
let dir: string;
const HOSTILE = '</script><script>document.title="pwned"</script><!--';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sealog-html-'));
  const origin = 'audit.example.com/billing';
  const key = generateKey(origin);
  l = {
    path: join(dir, 'audit.db'),
    anchor: join(dir, 'audit.anchor'),
    origin,
    vkeys: [key.verifierKey, key.cosignerVerifierKey],
    privateKey: key.privateKey,
  };
  const ledger = Ledger.open({ path: l.path, batchDelayMs: 0 });
  for (let i = 0; i < 6; i++)
    ledger.write({
      time: 1_760_000_000_000 + i * 1000,
      level: 30,
      msg: i === 3 ? HOSTILE : 'invoice viewed',
      n: i,
    });
  await ledger.close();
  await seal(l);
  web = await startWebVerifier();
}, 180_000);

afterAll(async () => {
  await web?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The embedded bundle JSON of an exported page. */
const embedded = (html: string): string =>
  /<script type="application\/json" id="bundle">([^<]*)<\/script>/.exec(html)?.[1] ?? '';

describe('sealog export --html', () => {
  it('writes one page that verifies the bundle inside with the pasted key, fails a tampered copy, and uses no network', async () => {
    const out = join(dir, 'evidence.html');
    const r = await runCli(['export', l.path, '--key', l.vkeys[0]!, '--key', l.vkeys[1]!, '--html', out]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(out);
    const html = readFileSync(out, 'utf8');
    // The JSON cannot end the script early: every "<" in it is escaped.
    expect(embedded(html)).not.toBe('');
    expect(embedded(html)).toContain('\\u003c');
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    // The page's CSP (no network source) is kept.
    expect(html).toMatch(
      /http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'sha256-/,
    );

    const page = await web.open();
    const url = pathToFileURL(out).href;
    await page.goto(url);
    await page.waitForSelector('#verdict');
    // Without a pasted key the bundle's own keys prove only self-consistency.
    expect(await page.getAttribute('#verdict', 'data-status')).toBe('self');
    expect(await page.textContent('#notes')).toMatch(/self-consistent/);
    expect(await page.textContent('#result')).toMatch(/evidence\.html/);
    await page.fill('#keys', l.vkeys.join('\n'));
    await page.waitForSelector('#verdict[data-status="ok"]');
    expect(await page.textContent('#records-summary')).toBe('Records: 6 of 6 verified');
    expect(await page.textContent('#records')).toContain(HOSTILE);
    expect(await page.title()).not.toBe('pwned');

    // A tampered copy: one record's bytes changed inside the embedded bundle.
    const bundle = JSON.parse(embedded(html));
    bundle.entries[1].entry = Buffer.from(
      Buffer.from(bundle.entries[1].entry, 'base64').toString().replace('invoice viewed', 'invoice deleted'),
    ).toString('base64');
    const bad = join(dir, 'tampered.html');
    writeFileSync(
      bad,
      html.replace(embedded(html), () => JSON.stringify(bundle).replaceAll('<', '\\u003c')),
    );
    await page.goto(pathToFileURL(bad).href);
    await page.waitForSelector('#verdict');
    await page.fill('#keys', l.vkeys.join('\n'));
    await page.waitForSelector('#verdict[data-status="failed"]');
    expect(await page.textContent('#verdict')).toMatch(/^FAILED/);
    expect(await page.textContent('#problems')).toMatch(/record 1: entry bytes were changed/);

    expect(web.errors).toEqual([]);
    expect(new Set(web.requests)).toEqual(new Set([PAGE_URL, url, pathToFileURL(bad).href]));
  });

  it('refuses an --html path that exists or does not end in .html', async () => {
    const out = join(dir, 'exists.html');
    writeFileSync(out, 'x');
    const r = await runCli(['export', l.path, '--key', l.vkeys[0]!, '--html', out]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/already exists/);
    const r2 = await runCli(['export', l.path, '--key', l.vkeys[0]!, '--html', join(dir, 'page.json')]);
    expect(r2.code).toBe(2);
    expect(r2.err).toMatch(/--html .*\.html/);
    expect(readFileSync(out, 'utf8')).toBe('x');
  });

  it('the page ships in the @sealog/cli tarball as dist/verifier.html', () => {
    const cli = join(import.meta.dirname, '../packages/cli');
    execFileSync(process.execPath, [join(cli, 'scripts/copy-verifier.mjs')]);
    const [pack] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
        cwd: cli,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    );
    expect(pack.files.map((f: { path: string }) => f.path)).toContain('dist/verifier.html');
    // What the bundle README and export's help tell people to open is that file.
    const readme = exportFrom(l).readme;
    expect(readme).toContain('node_modules/@sealog/cli/dist/verifier.html');
    expect(readme).toContain('sealog export --html');
    expect(readme).not.toContain('packages/web-verifier');
    expect(exportCommand.usage).toContain('@sealog/cli as dist/verifier.html');
    expect(exportCommand.usage).not.toContain('packages/web-verifier');
  });
});
