// Test access to the real PostgreSQL server started by test/setup/postgres.ts.
// Test files run in parallel against that one server, so each file should work
// in its own database (createTestDatabase). Restarting the shared server cuts
// every file's connections: a test that restarts or stops a server should
// start its own with startPrivateServer(), or use terminateConnections() to
// drop just its own database's connections.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { createCluster, destroyCluster, type PgCtl, restartCluster } from './pg-cluster.js';

const NO_SERVER =
  'no PostgreSQL test server: run the tests through vitest (test/setup/postgres.ts starts one), ' +
  'or set SEALOG_TEST_PG_URL to a server of your own';

/** The url of the shared test database (`sealog_test`). @throws {Error} when no server was set up. */
export function pgUrl(): string {
  const url = process.env.SEALOG_TEST_PG_URL || inject('pgUrl');
  if (!url) throw new Error(NO_SERVER);
  return url;
}

/**
 * How to drive the shared server with pg_ctl.
 * @throws {Error} when the server is not ours (SEALOG_TEST_PG_URL given without SEALOG_TEST_PG_CTL).
 */
export function sharedServer(): PgCtl {
  const json = process.env.SEALOG_TEST_PG_CTL || inject('pgCtl');
  if (!json) {
    throw new Error(
      `the PostgreSQL test server at ${pgUrl()} was not started by the test setup, so it cannot be ` +
        'restarted from a test; unset SEALOG_TEST_PG_URL, or set SEALOG_TEST_PG_CTL to its pg_ctl JSON',
    );
  }
  return JSON.parse(json) as PgCtl;
}

/** Runs one query on `url` over a fresh connection and returns its rows. */
export async function psql<T extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** A database name no parallel test file can pick: prefix, pid, random (<= 63 bytes, PostgreSQL's limit). */
function uniqueName(prefix: string): string {
  const clean =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9_]/g, '_')
      .slice(0, 32) || 'db';
  return `${clean}_${process.pid}_${randomBytes(5).toString('hex')}`;
}

/**
 * Creates an empty database with a unique name on the server of `adminUrl`
 * (default: the shared server), so test files do not see each other's tables.
 * `drop()` removes it, cutting any connection still open to it.
 */
export async function createTestDatabase(
  prefix: string,
  adminUrl: string = pgUrl(),
): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = uniqueName(prefix);
  await psql(adminUrl, `CREATE DATABASE ${quoteIdent(name)}`);
  return {
    url: withDatabase(adminUrl, name),
    name,
    drop: async () => {
      await psql(adminUrl, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    },
  };
}

/**
 * Restarts a server (default: the shared one) with `pg_ctl restart -m fast`:
 * open connections get an error, new ones succeed once this resolves.
 * @throws {Error} with the server log tail when the restart fails.
 */
export function restartServer(server: PgCtl = sharedServer()): Promise<void> {
  return restartCluster(server);
}

/**
 * Cuts every connection to the database of `url` except the one doing it,
 * as a dropped network connection would. Returns how many were cut.
 */
export async function terminateConnections(url: string): Promise<number> {
  const database = decodeURIComponent(new URL(url).pathname.slice(1));
  // In the select list, not the WHERE clause: the planner may reorder WHERE
  // conditions and terminate our own backend before excluding it.
  const rows = await psql<{ cut: boolean }>(
    url,
    'SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [database],
  );
  return rows.filter((r) => r.cut).length;
}

/**
 * Starts a server only the calling test uses (about a second of setup), for
 * tests that restart or stop it. `stop()` stops it and removes its directory.
 */
export async function startPrivateServer(): Promise<{ url: string; ctl: PgCtl; stop: () => Promise<void> }> {
  const { ctl, url } = await createCluster('sealog_test');
  return { url, ctl, stop: () => destroyCluster(ctl) };
}
