#!/usr/bin/env node
// Makes sure a Chromium binary exists for the browser test of the offline
// verifier (test/web-verifier.test.ts). Debian's `chromium` package is used
// because playwright's own browser downloads need a CDN we cannot rely on;
// playwright-core drives any Chromium through `executablePath`.
//
// Usage: node scripts/ensure-chromium.mjs   (exit 0 = chromium available)
// Env:   SEALOG_CHROMIUM=/path/to/chromium  overrides the default path.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const path = process.env.SEALOG_CHROMIUM || '/usr/bin/chromium';

function fail(message) {
  process.stderr.write(`ensure-chromium: ${message}\n`);
  process.exit(1);
}

function run(cmd, args) {
  process.stderr.write(`ensure-chromium: ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.error) fail(`could not run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} exited with ${r.status}`);
}

if (existsSync(path)) {
  process.stdout.write(`ensure-chromium: ${path} present\n`);
  process.exit(0);
}
const howTo =
  "install Debian's chromium package (as root: apt-get update && apt-get install -y --no-install-recommends chromium), " +
  'or set SEALOG_CHROMIUM to a Chromium binary';
if (process.env.SEALOG_CHROMIUM) fail(`SEALOG_CHROMIUM=${path} does not exist; ${howTo}`);
if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
  fail(`${path} is missing and we are not root, so it cannot be installed here; ${howTo}`);
}
if (!existsSync('/usr/bin/apt-get')) fail(`${path} is missing and apt-get is not available; ${howTo}`);
run('apt-get', ['update']);
run('apt-get', ['install', '-y', '--no-install-recommends', 'chromium']);
if (!existsSync(path)) fail(`apt-get finished but ${path} is still missing; ${howTo}`);
process.stdout.write(`ensure-chromium: installed ${path}\n`);
