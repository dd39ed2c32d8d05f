#!/usr/bin/env node
// Makes sure SoftHSM2 is installed, because the PKCS#11 tests (issue 17) sign
// on a real PKCS#11 token: test/helpers/softhsm.ts points SOFTHSM2_CONF at a
// private config and token directory per run and initialises a token with
// `softhsm2-util`. Needs Debian's `softhsm2` (the module libsofthsm2.so and
// softhsm2-util); no system-wide token or configuration is read or changed.
//
// Usage: node scripts/ensure-softhsm.mjs   (exit 0 = module and tool present)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { aptInstall, failer } from './apt.mjs';

/** Where Debian's libsofthsm2 puts the module (the first is a symlink to the second). */
const SOFTHSM_MODULES = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
];

const fail = failer('ensure-softhsm');

/** `softhsm2-util --version` output, or undefined when the tool does not run. */
function utilVersion() {
  const r = spawnSync('softhsm2-util', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout.trim();
}

function present() {
  const module = SOFTHSM_MODULES.find((p) => existsSync(p));
  const version = utilVersion();
  return module && version ? { module, version } : undefined;
}

function main() {
  const found = present();
  if (found) {
    process.stdout.write(`ensure-softhsm: SoftHSM ${found.version} (${found.module})\n`);
    return;
  }
  const howTo = "install Debian's softhsm2 package (as root: apt-get update && apt-get install -y softhsm2)";
  aptInstall('ensure-softhsm', {
    missing: 'SoftHSM2 (libsofthsm2.so, softhsm2-util) is missing',
    howTo,
    packages: ['softhsm2'],
  });
  const installed = present();
  if (!installed) fail(`apt-get finished but libsofthsm2.so or softhsm2-util is still missing; ${howTo}`);
  process.stdout.write(`ensure-softhsm: installed SoftHSM ${installed.version} (${installed.module})\n`);
}

main();
