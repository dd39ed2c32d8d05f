// Builds dist/verifier.html: one self-contained file (inline script + style,
// CSP by hash, no external resource), so a recipient can open it offline.
//
// The verification code is @sealog/core's own source (bundle/verify.ts and the
// note/merkle modules it imports), bundled by rolldown with two swaps for the
// browser: core's hash.ts (node:crypto) → src/shims/hash.ts (@noble/hashes),
// and node:crypto → src/shims/crypto.ts. Any other node: import fails the build.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rolldown } from 'rolldown';

const here = dirname(fileURLToPath(import.meta.url));
const coreHash = resolve(here, '../core/src/hash.js');
const shim = (name) => join(here, 'src/shims', name);

const browserSwaps = {
  name: 'sealog-browser-swaps',
  resolveId(source, importer) {
    if (source === 'node:crypto' || source === 'crypto') return shim('crypto.ts');
    if (source.startsWith('node:')) {
      throw new Error(`the browser verifier must not import ${source} (from ${importer})`);
    }
    if (importer && source.endsWith('hash.js') && resolve(dirname(importer), source) === coreHash) {
      return shim('hash.ts');
    }
    return null;
  },
};

const bundle = await rolldown({
  input: join(here, 'src/main.ts'),
  platform: 'browser',
  plugins: [browserSwaps],
  resolve: { extensionAlias: { '.js': ['.ts', '.js'] } },
});
const { output } = await bundle.generate({ format: 'iife', minify: false });
await bundle.close();

// "</script" inside the code would end the inline script early.
const script = output[0].code.replaceAll('</script', '<\\/script');
const style = readFileSync(join(here, 'src/style.css'), 'utf8');
const sha = (text) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
const csp = [
  "default-src 'none'",
  `script-src ${sha(script)}`,
  `style-src ${sha(style)}`,
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');
const version = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8')).version;
const html = readFileSync(join(here, 'src/page.html'), 'utf8')
  .replace('%CSP%', () => csp)
  .replace('/*STYLE*/', () => style)
  .replace('%VERSION%', () => version)
  .replace('/*SCRIPT*/', () => script);
// `sealog export --html` puts the bundle where this marker is, before the
// script that reads it; exactly one, or the CLI would embed in the wrong place.
if (html.split('<!--SEALOG-BUNDLE-->').length !== 2)
  throw new Error('page.html must hold one <!--SEALOG-BUNDLE-->');
mkdirSync(join(here, 'dist'), { recursive: true });
writeFileSync(join(here, 'dist/verifier.html'), html);
process.stdout.write(`wrote dist/verifier.html (${html.length} bytes)\n`);
