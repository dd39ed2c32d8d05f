import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

// The offline verifier page in real headless Chromium, as test/web-verifier.test.ts
// drives it: built from the current sources, every request and page error recorded.

const CHROMIUM = process.env.SEALOG_CHROMIUM || '/usr/bin/chromium';
const ROOT = resolve(import.meta.dirname, '..', '..');
export const PAGE = join(ROOT, 'packages/web-verifier/dist/verifier.html');
export const PAGE_URL = pathToFileURL(PAGE).href;

export interface WebVerifier {
  open(): Promise<Page>;
  /** Every URL the browser requested. */
  requests: string[];
  /** Page errors and console errors. */
  errors: string[];
  close(): Promise<void>;
}

/** Builds the page and starts Chromium. */
export async function startWebVerifier(): Promise<WebVerifier> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}. Install it with \`node scripts/ensure-chromium.mjs\`, or set SEALOG_CHROMIUM.`,
    );
  }
  const build = spawnSync(process.execPath, [join(ROOT, 'packages/web-verifier/build.mjs')], {
    encoding: 'utf8',
  });
  if (build.status !== 0) throw new Error(`web-verifier build failed: ${build.stderr}`);
  const profile = mkdtempSync(join(tmpdir(), 'sealog-chromium-'));
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1100, height: 1000 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const requests: string[] = [];
  const errors: string[] = [];
  context.on('request', (r) => requests.push(r.url()));
  return {
    requests,
    errors,
    async open() {
      const page = await context.newPage();
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`console: ${m.text()}`);
      });
      await page.goto(PAGE_URL);
      await page.waitForSelector('body[data-ready="true"]');
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
