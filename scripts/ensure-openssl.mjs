#!/usr/bin/env node
// Makes sure the `openssl` command exists, because the RFC 3161 timestamp tests
// (issue 16) run a real TSA: test/helpers/tsa.ts makes a CA and a TSA
// certificate with `openssl req`/`openssl x509` in a temp directory and answers
// each request with `openssl ts -reply`. Only the command is needed; no
// configuration of the system's OpenSSL is read or changed.
//
// Usage: node scripts/ensure-openssl.mjs   (exit 0 = openssl available)
import { spawnSync } from 'node:child_process';
import { aptInstall, failer } from './apt.mjs';

const fail = failer('ensure-openssl');

/** `openssl version` output, or undefined when the command does not run. */
function opensslVersion() {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout.trim();
}

function main() {
  const present = opensslVersion();
  if (present) {
    process.stdout.write(`ensure-openssl: ${present}\n`);
    return;
  }
  const howTo = "install Debian's openssl package (as root: apt-get update && apt-get install -y openssl)";
  aptInstall('ensure-openssl', { missing: 'the openssl command is missing', howTo, packages: ['openssl'] });
  const installed = opensslVersion();
  if (!installed) fail(`apt-get finished but openssl still does not run; ${howTo}`);
  process.stdout.write(`ensure-openssl: installed ${installed}\n`);
}

main();
