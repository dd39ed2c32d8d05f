// A real PKCS#11 token for tests: SoftHSM2 (Debian's softhsm2, installed by
// scripts/ensure-softhsm.mjs) with a private configuration and token directory
// per test file, pointed to by SOFTHSM2_CONF, so no system token is read or
// changed and parallel test files never share a token.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MODULES = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
];

export interface SoftHsm {
  /** Path of libsofthsm2.so. */
  readonly module: string;
  /** The temp directory holding softhsm2.conf and tokens/. */
  readonly dir: string;
  /** Initialises a token in a free slot; returns its slot ID. */
  initToken(label: string, pins?: { so?: string; user?: string }): number;
  /** Writes a 0600 file holding `pin` and returns its path. */
  pinFile(pin: string): string;
  /** Removes the token directory and restores SOFTHSM2_CONF. */
  cleanup(): void;
}

/** The SoftHSM module, or a message saying how to install it. */
export function softHsmModule(): string {
  const found = MODULES.find((p) => existsSync(p));
  if (!found) throw new Error('SoftHSM2 is not installed: run node scripts/ensure-softhsm.mjs');
  return found;
}

/**
 * Creates a private SoftHSM configuration and sets SOFTHSM2_CONF to it. Call
 * it before the module is first initialised in this process (SoftHSM reads
 * its configuration in C_Initialize), and init every token before opening a
 * key: a running SoftHSM does not see tokens initialised later by softhsm2-util.
 */
export function createSoftHsm(): SoftHsm {
  const module = softHsmModule();
  const dir = mkdtempSync(join(tmpdir(), 'sealog-softhsm-'));
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens, { mode: 0o700 });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(
    conf,
    `directories.tokendir = ${tokens}/\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
  );
  const previous = process.env.SOFTHSM2_CONF;
  process.env.SOFTHSM2_CONF = conf;
  let pins = 0;
  return {
    module,
    dir,
    initToken(label, p = {}) {
      const out = execFileSync(
        'softhsm2-util',
        [
          '--init-token',
          '--free',
          '--label',
          label,
          '--so-pin',
          p.so ?? '87654321',
          '--pin',
          p.user ?? '1234',
        ],
        { env: { ...process.env, SOFTHSM2_CONF: conf }, encoding: 'utf8' },
      );
      const slot = /reassigned to slot (\d+)/.exec(out)?.[1];
      if (slot === undefined) throw new Error(`softhsm2-util did not report a slot: ${out}`);
      return Number(slot);
    },
    pinFile(pin) {
      const path = join(dir, `pin-${pins++}`);
      writeFileSync(path, `${pin}\n`, { mode: 0o600 });
      chmodSync(path, 0o600);
      return path;
    },
    cleanup() {
      if (previous === undefined) delete process.env.SOFTHSM2_CONF;
      else process.env.SOFTHSM2_CONF = previous;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
