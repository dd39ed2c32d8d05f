#!/usr/bin/env node
// Makes sure a Chromium binary exists for the browser test of the offline
// verifier (test/web-verifier.test.ts). Debian's `chromium` package is used
// because playwright's own browser downloads need a CDN we cannot rely on;
// playwright-core drives any Chromium through `executablePath`.
//
// Usage: node scripts/ensure-chromium.mjs   (exit 0 = chromium available)
// Env:   SEALOG_CHROMIUM=/path/to/chromium  overrides the default path.
import { existsSync } from 'node:fs';
import { aptInstall, failer } from './apt.mjs';

const path = process.env.SEALOG_CHROMIUM || '/usr/bin/chromium';

const fail = failer('ensure-chromium');

if (existsSync(path)) {
  process.stdout.write(`ensure-chromium: ${path} present\n`);
  process.exit(0);
}
const howTo =
  "install Debian's chromium package (as root: apt-get update && apt-get install -y --no-install-recommends chromium), " +
  'or set SEALOG_CHROMIUM to a Chromium binary';
if (process.env.SEALOG_CHROMIUM) fail(`SEALOG_CHROMIUM=${path} does not exist; ${howTo}`);
aptInstall('ensure-chromium', { missing: `${path} is missing`, howTo, packages: ['chromium'] });
if (!existsSync(path)) fail(`apt-get finished but ${path} is still missing; ${howTo}`);
process.stdout.write(`ensure-chromium: installed ${path}\n`);
