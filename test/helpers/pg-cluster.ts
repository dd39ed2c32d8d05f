// One throwaway PostgreSQL cluster in a temp directory: create, start, restart,
// stop. Used by the vitest global setup (the shared server) and by tests that
// need a server of their own. PostgreSQL refuses to run as root, so as root
// every server command runs through `runuser` as an unprivileged user.
import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
// @ts-expect-error -- plain .mjs script without type declarations
import { findPgBin } from '../../scripts/ensure-postgres.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
    pgCtl: string;
  }
}

/** What a test needs to drive a cluster with pg_ctl; serialised as JSON into SEALOG_TEST_PG_CTL. */
export interface PgCtl {
  bin: string;
  dataDir: string;
  /** The user server commands run as (via runuser), or null when we are not root. */
  runAsUser: string | null;
  logFile: string;
  port: number;
  /** The temp directory holding the data dir, the log and the unix socket. */
  rootDir: string;
}

const execFileAsync = promisify(execFile);
const FALLBACK_USER = 'sealog-pg';
const START_TIMEOUT_S = '60';

/** A port that was free a moment ago on 127.0.0.1 (the kernel picks it for port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('could not read the picked port'))));
    });
  });
}

/** The last lines of the server log, for error messages. */
export function logTail(ctl: Pick<PgCtl, 'logFile'>, lines = 40): string {
  if (!existsSync(ctl.logFile)) return `(no server log at ${ctl.logFile})`;
  const text = readFileSync(ctl.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  return `--- last lines of ${ctl.logFile} ---\n${text || '(empty)'}`;
}

function userExists(name: string): boolean {
  return spawnSync('id', ['-u', name], { stdio: 'ignore' }).status === 0;
}

/** As root: Debian's `postgres` user, else a system user we create once. Not root: null. */
function serverUser(): string | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
  if (userExists('postgres')) return 'postgres';
  if (!userExists(FALLBACK_USER)) {
    const r = spawnSync(
      'useradd',
      ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', FALLBACK_USER],
      {
        encoding: 'utf8',
      },
    );
    // Exit 9 = the user appeared meanwhile (a parallel test created it).
    if (r.status !== 0 && r.status !== 9) {
      throw new Error(
        `PostgreSQL refuses to run as root and there is no postgres user; useradd ${FALLBACK_USER} failed: ` +
          `${r.error?.message ?? r.stderr}`,
      );
    }
  }
  return FALLBACK_USER;
}

function idOf(user: string, flag: '-u' | '-g'): number {
  return Number(spawnSync('id', [flag, user], { encoding: 'utf8' }).stdout.trim());
}

/** The command line that runs `tool` from the cluster's bin dir, as the server user when root. */
function commandFor(ctl: PgCtl, tool: string, args: string[]): [string, string[]] {
  const path = join(ctl.bin, tool);
  return ctl.runAsUser ? ['runuser', ['-u', ctl.runAsUser, '--', path, ...args]] : [path, args];
}

/** Runs a server tool; on failure throws an Error with its output and the server log tail. */
async function runTool(ctl: PgCtl, tool: string, args: string[], what: string): Promise<void> {
  const [cmd, argv] = commandFor(ctl, tool, args);
  try {
    // cwd = the cluster dir: the server user may not be allowed into the caller's cwd.
    await execFileAsync(cmd, argv, { cwd: ctl.rootDir, encoding: 'utf8' });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    const output = [err.stderr, err.stdout].filter(Boolean).join('\n').trim() || err.message;
    throw new Error(
      `PostgreSQL test server: ${what} failed (${cmd} ${argv.join(' ')}):\n${output}\n${logTail(ctl)}`,
      {
        cause: e,
      },
    );
  }
}

/** Starts the server and waits until it accepts connections. */
export function startServer(ctl: PgCtl): Promise<void> {
  const args = ['-D', ctl.dataDir, '-l', ctl.logFile, '-w', '-t', START_TIMEOUT_S, 'start'];
  return runTool(ctl, 'pg_ctl', args, 'starting the server');
}

/** Restarts the server: every open connection is cut, new ones succeed once this resolves. */
export function restartCluster(ctl: PgCtl): Promise<void> {
  const args = ['-D', ctl.dataDir, '-l', ctl.logFile, '-m', 'fast', '-w', '-t', START_TIMEOUT_S, 'restart'];
  return runTool(ctl, 'pg_ctl', args, 'restarting the server');
}

/** Stops the server (fast: open connections are cut). */
export function stopServer(ctl: PgCtl): Promise<void> {
  return runTool(ctl, 'pg_ctl', ['-D', ctl.dataDir, '-m', 'fast', '-w', 'stop'], 'stopping the server');
}

/** Synchronous last-resort stop for process exit, when no teardown ran. Errors are ignored. */
export function stopClusterSync(ctl: PgCtl): void {
  const [cmd, argv] = commandFor(ctl, 'pg_ctl', ['-D', ctl.dataDir, '-m', 'immediate', 'stop']);
  spawnSync(cmd, argv, { cwd: ctl.rootDir, stdio: 'ignore' });
  rmSync(ctl.rootDir, { recursive: true, force: true });
}

/** Stops the server if it runs, then removes its directory. */
export async function destroyCluster(ctl: PgCtl): Promise<void> {
  const [cmd, argv] = commandFor(ctl, 'pg_ctl', ['-D', ctl.dataDir, 'status']);
  // pg_ctl status exits 3 when no server runs (a test may have stopped it).
  const running = spawnSync(cmd, argv, { cwd: ctl.rootDir, stdio: 'ignore' }).status === 0;
  try {
    if (running) await stopServer(ctl);
  } finally {
    rmSync(ctl.rootDir, { recursive: true, force: true });
  }
}

/** The url of `database` on the cluster (trust auth over TCP on 127.0.0.1). */
export function clusterUrl(ctl: Pick<PgCtl, 'port'>, database: string): string {
  return `postgres://postgres@127.0.0.1:${ctl.port}/${database}`;
}

async function createDatabase(ctl: PgCtl, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: clusterUrl(ctl, 'postgres') });
  try {
    await client.connect();
    await client.query(`CREATE DATABASE ${name}`);
  } catch (e) {
    throw new Error(
      `PostgreSQL test server: CREATE DATABASE ${name} failed: ${(e as Error).message}\n${logTail(ctl)}`,
      {
        cause: e,
      },
    );
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Creates a cluster in a fresh temp directory, starts it on a free port of
 * 127.0.0.1 and creates `database` in it.
 * @throws {Error} naming the failed step, with tool output and the server log tail;
 *   the temp directory is removed first.
 */
export async function createCluster(database: string): Promise<{ ctl: PgCtl; url: string }> {
  const bin: string | undefined = findPgBin();
  if (!bin) {
    throw new Error(
      'PostgreSQL test server: initdb, pg_ctl and postgres were not found (SEALOG_PG_BIN, /usr/lib/postgresql/*/bin, PATH); ' +
        'run `node scripts/ensure-postgres.mjs` (installs them as root), or set SEALOG_TEST_PG_URL to a server of your own',
    );
  }
  const rootDir = mkdtempSync(join(tmpdir(), 'sealog-pg-'));
  const ctl: PgCtl = {
    bin,
    dataDir: join(rootDir, 'data'),
    runAsUser: null,
    logFile: join(rootDir, 'server.log'),
    port: await freePort(),
    rootDir,
  };
  try {
    ctl.runAsUser = serverUser();
    if (ctl.runAsUser) chownSync(rootDir, idOf(ctl.runAsUser, '-u'), idOf(ctl.runAsUser, '-g'));
    const initArgs = ['-D', ctl.dataDir, '--auth=trust', '-U', 'postgres', '--encoding=UTF8', '--locale=C'];
    await runTool(ctl, 'initdb', initArgs, 'initdb');
    writeFileSync(
      join(ctl.dataDir, 'postgresql.conf'),
      // Appended, so pg_ctl restart keeps them; only loopback TCP and our own socket dir.
      `\n# sealog test server\nlisten_addresses = '127.0.0.1'\nport = ${ctl.port}\nunix_socket_directories = '${rootDir}'\n`,
      { flag: 'a' },
    );
    await startServer(ctl);
    await createDatabase(ctl, database);
    return { ctl, url: clusterUrl(ctl, database) };
  } catch (e) {
    stopClusterSync(ctl);
    throw e;
  }
}
