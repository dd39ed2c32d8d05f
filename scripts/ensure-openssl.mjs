#!/usr/bin/env node
// Makes sure the `openssl` command exists, because the RFC 3161 timestamp tests
// (issue 16) run a real TSA: test/helpers/tsa.ts makes a CA and a TSA
// certificate with `openssl req`/`openssl x509` in a temp directory and answers
// each request with `openssl ts -reply`. Only the command is needed; no
// configuration of the system's OpenSSL is read or changed.
//
// Usage: node scripts/ensure-openssl.mjs   (exit 0 = openssl available)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

function fail(message) {
  process.stderr.write(`ensure-openssl: ${message}\n`);
  process.exit(1);
}

/** `openssl version` output, or undefined when the command does not run. */
function opensslVersion() {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout.trim();
}

function run(cmd, args) {
  process.stderr.write(`ensure-openssl: ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.error) fail(`could not run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} exited with ${r.status}`);
}

function main() {
  const present = opensslVersion();
  if (present) {
    process.stdout.write(`ensure-openssl: ${present}\n`);
    return;
  }
  const howTo = "install Debian's openssl package (as root: apt-get update && apt-get install -y openssl)";
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    fail(`the openssl command is missing and we are not root, so it cannot be installed here; ${howTo}`);
  }
  if (!existsSync('/usr/bin/apt-get'))
    fail(`the openssl command is missing and apt-get is not available; ${howTo}`);
  run('apt-get', ['update']);
  run('apt-get', ['install', '-y', '--no-install-recommends', 'openssl']);
  const installed = opensslVersion();
  if (!installed) fail(`apt-get finished but openssl still does not run; ${howTo}`);
  process.stdout.write(`ensure-openssl: installed ${installed}\n`);
}

main();
