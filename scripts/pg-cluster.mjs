// @ts-check
// One throwaway PostgreSQL cluster in a temp directory: create, start, restart,
// stop. Plain JavaScript so that both the vitest setup (TypeScript) and the
// benchmarks (plain .mjs) use this one implementation. PostgreSQL refuses to
// run as root, so as root every server command runs through `runuser` as an
// unprivileged user.
import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { findPgBin } from './ensure-postgres.mjs';

/**
 * What it takes to drive a cluster with pg_ctl; plain JSON, so it can travel in an env variable.
 * @typedef {object} PgCtl
 * @property {string} bin directory holding initdb, pg_ctl and postgres
 * @property {string} dataDir
 * @property {string | null} runAsUser the user server commands run as (via runuser), or null when we are not root
 * @property {string} logFile
 * @property {number} port
 * @property {string} rootDir the temp directory holding the data dir, the log and the unix socket
 */

const execFileAsync = promisify(execFile);
const FALLBACK_USER = 'sealog-pg';
const START_TIMEOUT_S = '60';

/**
 * A port that was free a moment ago on 127.0.0.1 (the kernel picks it for port 0).
 * @returns {Promise<number>}
 */
export function freePort() {
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

/**
 * The last lines of the server log, for error messages.
 * @param {Pick<PgCtl, 'logFile'>} ctl
 * @returns {string}
 */
export function logTail(ctl, lines = 40) {
  if (!existsSync(ctl.logFile)) return `(no server log at ${ctl.logFile})`;
  const text = readFileSync(ctl.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  return `--- last lines of ${ctl.logFile} ---\n${text || '(empty)'}`;
}

/** @param {string} name */
function userExists(name) {
  return spawnSync('id', ['-u', name], { stdio: 'ignore' }).status === 0;
}

/**
 * As root: Debian's `postgres` user, else a system user we create once. Not root: null.
 * @returns {string | null}
 */
function serverUser() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
  if (userExists('postgres')) return 'postgres';
  if (!userExists(FALLBACK_USER)) {
    const args = ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', FALLBACK_USER];
    const r = spawnSync('useradd', args, { encoding: 'utf8' });
    // Exit 9 = the user appeared meanwhile (a parallel process created it).
    if (r.status !== 0 && r.status !== 9) {
      throw new Error(
        `PostgreSQL refuses to run as root and there is no postgres user; useradd ${FALLBACK_USER} failed: ` +
          `${r.error?.message ?? r.stderr}`,
      );
    }
  }
  return FALLBACK_USER;
}

/** @param {string} user @param {'-u' | '-g'} flag */
function idOf(user, flag) {
  return Number(spawnSync('id', [flag, user], { encoding: 'utf8' }).stdout.trim());
}

/**
 * The command line that runs `tool` from the cluster's bin dir, as the server user when root.
 * @param {PgCtl} ctl @param {string} tool @param {string[]} args
 * @returns {[string, string[]]}
 */
function commandFor(ctl, tool, args) {
  const path = join(ctl.bin, tool);
  return ctl.runAsUser ? ['runuser', ['-u', ctl.runAsUser, '--', path, ...args]] : [path, args];
}

/**
 * Runs a server tool.
 * @param {PgCtl} ctl @param {string} tool @param {string[]} args @param {string} what
 * @throws {Error} naming the step, with the tool's output and the server log tail
 */
async function runTool(ctl, tool, args, what) {
  const [cmd, argv] = commandFor(ctl, tool, args);
  try {
    // cwd = the cluster dir: the server user may not be allowed into the caller's cwd.
    await execFileAsync(cmd, argv, { cwd: ctl.rootDir, encoding: 'utf8' });
  } catch (e) {
    const err = /** @type {{ stdout?: string, stderr?: string, message: string }} */ (e);
    const output = [err.stderr, err.stdout].filter(Boolean).join('\n').trim() || err.message;
    throw new Error(
      `PostgreSQL test server: ${what} failed (${cmd} ${argv.join(' ')}):\n${output}\n${logTail(ctl)}`,
      { cause: e },
    );
  }
}

/**
 * Starts the server and waits until it accepts connections.
 * @param {PgCtl} ctl @returns {Promise<void>}
 */
export function startServer(ctl) {
  const args = ['-D', ctl.dataDir, '-l', ctl.logFile, '-w', '-t', START_TIMEOUT_S, 'start'];
  return runTool(ctl, 'pg_ctl', args, 'starting the server');
}

/**
 * Restarts the server: every open connection is cut, new ones succeed once this resolves.
 * @param {PgCtl} ctl @returns {Promise<void>}
 */
export function restartCluster(ctl) {
  const args = ['-D', ctl.dataDir, '-l', ctl.logFile, '-m', 'fast', '-w', '-t', START_TIMEOUT_S, 'restart'];
  return runTool(ctl, 'pg_ctl', args, 'restarting the server');
}

/**
 * Stops the server (fast: open connections are cut).
 * @param {PgCtl} ctl @returns {Promise<void>}
 */
export function stopServer(ctl) {
  return runTool(ctl, 'pg_ctl', ['-D', ctl.dataDir, '-m', 'fast', '-w', 'stop'], 'stopping the server');
}

/**
 * Synchronous last-resort stop for process exit, when no teardown ran. Errors are ignored.
 * @param {PgCtl} ctl
 */
export function stopClusterSync(ctl) {
  const [cmd, argv] = commandFor(ctl, 'pg_ctl', ['-D', ctl.dataDir, '-m', 'immediate', 'stop']);
  spawnSync(cmd, argv, { cwd: ctl.rootDir, stdio: 'ignore' });
  rmSync(ctl.rootDir, { recursive: true, force: true });
}

/**
 * Stops the server if it runs, then removes its directory.
 * @param {PgCtl} ctl @returns {Promise<void>}
 */
export async function destroyCluster(ctl) {
  const [cmd, argv] = commandFor(ctl, 'pg_ctl', ['-D', ctl.dataDir, 'status']);
  // pg_ctl status exits 3 when no server runs (a test may have stopped it).
  const running = spawnSync(cmd, argv, { cwd: ctl.rootDir, stdio: 'ignore' }).status === 0;
  try {
    if (running) await stopServer(ctl);
  } finally {
    rmSync(ctl.rootDir, { recursive: true, force: true });
  }
}

/**
 * The url of `database` on the cluster (trust auth over TCP on 127.0.0.1).
 * @param {Pick<PgCtl, 'port'>} ctl @param {string} database @returns {string}
 */
export function clusterUrl(ctl, database) {
  return `postgres://postgres@127.0.0.1:${ctl.port}/${database}`;
}

/** @param {PgCtl} ctl @param {string} name */
async function createDatabase(ctl, name) {
  const client = new pg.Client({ connectionString: clusterUrl(ctl, 'postgres') });
  try {
    await client.connect();
    await client.query(`CREATE DATABASE ${name}`);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new Error(`PostgreSQL test server: CREATE DATABASE ${name} failed: ${message}\n${logTail(ctl)}`, {
      cause: e,
    });
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Creates a cluster in a fresh temp directory, starts it on a free port of
 * 127.0.0.1 and creates `database` in it.
 * @param {string} database
 * @returns {Promise<{ ctl: PgCtl, url: string }>}
 * @throws {Error} naming the failed step, with tool output and the server log tail;
 *   the temp directory is removed first.
 */
export async function createCluster(database) {
  const bin = findPgBin();
  if (!bin) {
    throw new Error(
      'PostgreSQL test server: initdb, pg_ctl and postgres were not found (SEALOG_PG_BIN, /usr/lib/postgresql/*/bin, PATH); ' +
        'run `node scripts/ensure-postgres.mjs` (installs them as root), or set SEALOG_TEST_PG_URL to a server of your own',
    );
  }
  const rootDir = mkdtempSync(join(tmpdir(), 'sealog-pg-'));
  /** @type {PgCtl} */
  const ctl = {
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
