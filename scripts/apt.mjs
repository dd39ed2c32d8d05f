// What the ensure-*.mjs scripts share: report under their own name, and install
// Debian packages with apt-get when run as root, or stop with what to do.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** A `fail(message)` that prints `<tag>: message` and exits 1. */
export function failer(tag) {
  return (message) => {
    process.stderr.write(`${tag}: ${message}\n`);
    process.exit(1);
  };
}

/**
 * Installs `packages` with apt-get (non-interactive, no recommends). Fails,
 * saying `missing` and `howTo`, when not root or when apt-get is absent.
 */
export function aptInstall(tag, { missing, howTo, packages }) {
  const fail = failer(tag);
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    fail(`${missing} and we are not root, so it cannot be installed here; ${howTo}`);
  }
  if (!existsSync('/usr/bin/apt-get')) fail(`${missing} and apt-get is not available; ${howTo}`);
  const run = (cmd, args) => {
    process.stderr.write(`${tag}: ${cmd} ${args.join(' ')}\n`);
    const r = spawnSync(cmd, args, {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (r.error) fail(`could not run ${cmd}: ${r.error.message}`);
    if (r.status !== 0) fail(`${cmd} ${args.join(' ')} exited with ${r.status}`);
  };
  run('apt-get', ['update']);
  run('apt-get', ['install', '-y', '--no-install-recommends', ...packages]);
}
