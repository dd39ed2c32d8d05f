// Must run before any core module: they reach for the global Buffer.
import './shims/install-buffer.js';
import { parseBundleShape } from '../../core/src/bundle/parse.js';
import { verifyBundle } from '../../core/src/bundle/verify.js';
import type { BundleTsaOptions } from '../../core/src/bundle/verify-timestamps.js';
import { checkBundleTimestampsWeb } from '../../core/src/bundle/verify-timestamps-web.js';
import { renderReport } from './render.js';

// The page: pick or drop a bundle (or open a page with one inside, from
// `sealog export --html`), optionally paste trusted keys, see the verdict. Nothing leaves the page: no fetch, no XHR, and the CSP in
// page.html forbids every network source (test/web-verifier.test.ts checks).

const MAX_FILE_BYTES = 512 * 1024 * 1024;
const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

let loaded: { name: string; bytes: Uint8Array } | undefined;

/** Non-empty, non-comment lines of a textarea: keys, one per line. */
function lines(id: string): string[] {
  return $<HTMLTextAreaElement>(id)
    .value.split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** The witness policy as typed; verifyBundle judges it (a bad key or quorum is a problem it names). */
function witnessOptions(): { witnesses?: string[]; quorum?: number } {
  const witnesses = lines('witnesses');
  const q = $<HTMLInputElement>('quorum').value.trim();
  const out: { witnesses?: string[]; quorum?: number } = {};
  if (witnesses.length > 0) out.witnesses = witnesses;
  // Not a whole number: passed as NaN, which verifyBundle refuses by name.
  if (q !== '') out.quorum = /^\d{1,6}$/.test(q) ? Number(q) : Number.NaN;
  return out;
}

/** The TSA options as given; undefined when no trust anchor is pasted. */
function tsaOptions(): BundleTsaOptions | undefined {
  const anchors = $<HTMLTextAreaElement>('tsa-anchors').value;
  const mode = $<HTMLSelectElement>('tsa-mode').value;
  const policy = $<HTMLInputElement>('tsa-policy').value.trim();
  const signers = $<HTMLTextAreaElement>('tsa-signers').value;
  if (anchors.trim() === '') {
    if (mode === 'required' || policy !== '' || signers.trim() !== '') return { tsaAnchors: [] }; // refused by name
    return undefined;
  }
  const o: BundleTsaOptions = { tsaAnchors: anchors, tsa: mode === 'required' ? 'required' : 'best-effort' };
  if (policy !== '') o.tsaPolicy = policy;
  if (signers.trim() !== '') o.tsaSigners = signers;
  return o;
}

let runs = 0;

/** Verifies the loaded bundle with what is typed now; a newer run supersedes an older one still checking tokens. */
async function run(): Promise<void> {
  if (!loaded) return;
  const id = ++runs;
  const { name, bytes } = loaded;
  const report = verifyBundle(bytes, { keys: lines('keys'), ...witnessOptions() });
  const tsa = tsaOptions();
  if (tsa && report.status !== 'unreadable') {
    const parsed = parseBundleShape(bytes);
    try {
      if ('shape' in parsed) await checkBundleTimestampsWeb(parsed.shape, report, tsa);
    } catch (err) {
      // The options (an unreadable PEM, a bad OID): named, and the bundle is not passed.
      report.problems.push(`TSA options: ${err instanceof Error ? err.message : String(err)}`);
      report.status = 'failed';
    }
  }
  if (id !== runs) return;
  renderReport($('result'), report, name);
  document.body.dataset.status = report.status;
}

async function load(file: File | undefined): Promise<void> {
  if (!file) return;
  if (file.size > MAX_FILE_BYTES) {
    loaded = undefined;
    $('result').textContent = `${file.name} is larger than 512 MiB; not a sealog bundle.`;
    return;
  }
  loaded = { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
  $('result').textContent = 'Verifying…';
  // Let the browser paint "Verifying…" before the synchronous work.
  setTimeout(() => void run(), 0);
}

$<HTMLInputElement>('file').addEventListener('change', (e) => {
  void load((e.target as HTMLInputElement).files?.[0]);
});
for (const id of ['keys', 'witnesses', 'quorum', 'tsa-anchors', 'tsa-signers', 'tsa-policy', 'tsa-mode'])
  $(id).addEventListener(id === 'tsa-mode' ? 'change' : 'input', () => void run());
$<HTMLInputElement>('tsa-file').addEventListener('change', async (e) => {
  const files = [...((e.target as HTMLInputElement).files ?? [])];
  // PEM files are small; a larger one is not a certificate list.
  const texts = await Promise.all(files.filter((f) => f.size <= 1024 * 1024).map((f) => f.text()));
  const area = $<HTMLTextAreaElement>('tsa-anchors');
  area.value = [area.value.trim(), ...texts].filter((t) => t !== '').join('\n');
  void run();
});
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  void load(e.dataTransfer?.files[0]);
});
// A page written by `sealog export --html` carries its bundle in
// <script type="application/json" id="bundle">: data, never run (the CSP
// allows only this page's own script), read as text and verified like a file.
const embedded = document.getElementById('bundle');
if (embedded instanceof HTMLScriptElement && embedded.type === 'application/json') {
  $('embedded-note').hidden = false;
  const page = decodeURIComponent(location.pathname.split('/').pop() ?? '') || 'this page';
  loaded = { name: `${page} (the bundle inside this page)`, bytes: new TextEncoder().encode(embedded.text) };
  $('result').textContent = 'Verifying…';
  setTimeout(() => void run(), 0);
}
document.body.dataset.ready = 'true';
