#!/usr/bin/env node
// Makes sure the PostgreSQL server binaries (initdb, pg_ctl, postgres) exist,
// because the test suite runs the PostgreSQL ledger backend (#10) against a
// real server that test/setup/postgres.ts creates in a temp directory. Only
// the binaries are needed: no system cluster, no service is used.
//
// Usage: node scripts/ensure-postgres.mjs   (exit 0 = binaries available)
// Env:   SEALOG_PG_BIN=/path/to/bin  a directory holding initdb, pg_ctl and postgres.
//
// The module also exports findPgBin() so the vitest global setup finds the
// same binaries this script checked.
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { aptInstall, failer } from './apt.mjs';

const TOOLS = ['initdb', 'pg_ctl', 'postgres'];
const DEBIAN_ROOT = '/usr/lib/postgresql';

/** True when `dir` holds every server binary the tests run. */
function hasTools(dir) {
  return TOOLS.every((tool) => existsSync(join(dir, tool)));
}

/** Debian's /usr/lib/postgresql/<major>/bin directories, newest major first. */
function debianBinDirs() {
  if (!existsSync(DEBIAN_ROOT)) return [];
  return readdirSync(DEBIAN_ROOT)
    .filter((name) => /^\d+(\.\d+)?$/.test(name))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
    .map((name) => join(DEBIAN_ROOT, name, 'bin'));
}

/**
 * The directory holding initdb, pg_ctl and postgres, or undefined when none is found.
 * Order: $SEALOG_PG_BIN, the newest /usr/lib/postgresql/N/bin (Debian keeps the
 * server binaries off PATH), then PATH.
 * @throws {Error} when SEALOG_PG_BIN is set but lacks one of the binaries,
 *   because silently falling back would test a different server than asked for.
 */
export function findPgBin(env = process.env) {
  if (env.SEALOG_PG_BIN) {
    const dir = resolve(env.SEALOG_PG_BIN);
    const missing = TOOLS.filter((tool) => !existsSync(join(dir, tool)));
    if (missing.length > 0) {
      throw new Error(
        `SEALOG_PG_BIN=${dir} has no ${missing.join(', ')}; point it at a PostgreSQL bin directory`,
      );
    }
    return dir;
  }
  const onPath = (env.PATH ?? '').split(delimiter).filter(Boolean);
  return [...debianBinDirs(), ...onPath].find(hasTools);
}

const fail = failer('ensure-postgres');

function found() {
  try {
    return findPgBin();
  } catch (e) {
    return fail(e.message);
  }
}

function main() {
  const present = found();
  if (present) {
    process.stdout.write(`ensure-postgres: ${present} has ${TOOLS.join(', ')}\n`);
    return;
  }
  const howTo =
    "install Debian's postgresql package (as root: apt-get update && apt-get install -y --no-install-recommends postgresql), " +
    'or set SEALOG_PG_BIN to a directory holding initdb, pg_ctl and postgres';
  aptInstall('ensure-postgres', {
    missing: 'PostgreSQL server binaries are missing',
    howTo,
    packages: ['postgresql'],
  });
  const installed = found();
  if (!installed) fail(`apt-get finished but initdb, pg_ctl and postgres are still not found; ${howTo}`);
  process.stdout.write(`ensure-postgres: installed ${installed}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
