// Must run before any core module: they reach for the global Buffer.
import './shims/install-buffer.js';
import { verifyBundle } from '../../core/src/bundle/verify.js';
import { renderReport } from './render.js';

// The page: pick or drop a bundle, optionally paste trusted keys, see the
// verdict. Nothing leaves the page: no fetch, no XHR, and the CSP in
// page.html forbids every network source (test/web-verifier.test.ts checks).

const MAX_FILE_BYTES = 512 * 1024 * 1024;
const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

let loaded: { name: string; bytes: Uint8Array } | undefined;

function trustedKeys(): string[] {
  return $<HTMLTextAreaElement>('keys')
    .value.split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

function run(): void {
  if (!loaded) return;
  const report = verifyBundle(loaded.bytes, { keys: trustedKeys() });
  renderReport($('result'), report, loaded.name);
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
  setTimeout(run, 0);
}

$<HTMLInputElement>('file').addEventListener('change', (e) => {
  void load((e.target as HTMLInputElement).files?.[0]);
});
$('keys').addEventListener('input', run);
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
document.body.dataset.ready = 'true';
