// Copies the built browser verifier (packages/web-verifier, a private
// workspace package) into dist/ so it ships in @sealog/cli: users get
// node_modules/@sealog/cli/dist/verifier.html, and `sealog export --html`
// embeds bundles in it. turbo.json builds web-verifier first.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const from = join(here, '../../web-verifier/dist/verifier.html');
if (!existsSync(from)) {
  process.stderr.write(`${from} is missing: build @sealog/web-verifier first (npx turbo run build does)\n`);
  process.exit(1);
}
mkdirSync(join(here, '../dist'), { recursive: true });
copyFileSync(from, join(here, '../dist/verifier.html'));
