import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Bundle, SealogError } from '@sealog/core';

// `sealog export --html`: the offline verifier page (packages/web-verifier,
// copied into this package's dist/ at build time) with the bundle inside, so
// an auditor needs nothing but a browser. The page's CSP and script are
// untouched; the bundle goes in as data where page.html marks it.

const MARKER = '<!--SEALOG-BUNDLE-->';

/**
 * Where the page is: dist/verifier.html of this package (from src/ or
 * dist/ alike), else the web-verifier build of a source checkout.
 */
const CANDIDATES = ['../dist/verifier.html', '../../web-verifier/dist/verifier.html'];

/**
 * The built verifier page.
 * @throws SealogError E_IO when no built page is found (a source checkout that was not built).
 */
export function verifierPage(): string {
  for (const rel of CANDIDATES) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return readFileSync(path, 'utf8');
  }
  throw new SealogError(
    'E_IO',
    'the browser verifier page (verifier.html) is missing from @sealog/cli; reinstall it, or in a source checkout run the build',
  );
}

/**
 * The page with `bundle` embedded as `<script type="application/json" id="bundle">`.
 * Record text is the exported party's: every "<" in the JSON becomes \u003c
 * (the same string to JSON.parse), so nothing in it can end the script
 * element or open a comment.
 */
export function embedBundle(page: string, bundle: Bundle): string {
  if (page.split(MARKER).length !== 2)
    throw new SealogError('E_IO', 'verifier.html has no place for a bundle');
  const json = JSON.stringify(bundle).replaceAll('<', '\\u003c');
  return page.replace(MARKER, () => `<script type="application/json" id="bundle">${json}</script>`);
}

/**
 * Writes the page with the bundle to `out`, never overwriting.
 * @throws SealogError E_IO (page missing, `out` exists or cannot be written).
 */
export function writeHtmlBundle(bundle: Bundle, out: string): void {
  const html = embedBundle(verifierPage(), bundle);
  try {
    writeFileSync(out, html, { flag: 'wx' });
  } catch (err) {
    throw new SealogError('E_IO', `cannot write the page to ${out}`, { cause: err });
  }
}
