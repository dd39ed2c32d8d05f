// Typed view of scripts/pg-cluster.mjs, the one implementation of a throwaway
// PostgreSQL cluster (plain JavaScript, so the benchmarks use it too). Used by
// the vitest global setup (the shared server) and by tests that need a server
// of their own.
// @ts-expect-error -- plain .mjs script without type declarations (it is @ts-check'ed JSDoc)
import * as cluster from '../../scripts/pg-cluster.mjs';

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

/** A port that was free a moment ago on 127.0.0.1 (the kernel picks it for port 0). */
export const freePort: () => Promise<number> = cluster.freePort;
/** The last lines of the server log, for error messages. */
export const logTail: (ctl: Pick<PgCtl, 'logFile'>, lines?: number) => string = cluster.logTail;
/** Starts the server and waits until it accepts connections. */
export const startServer: (ctl: PgCtl) => Promise<void> = cluster.startServer;
/** Restarts the server: every open connection is cut, new ones succeed once this resolves. */
export const restartCluster: (ctl: PgCtl) => Promise<void> = cluster.restartCluster;
/** Stops the server (fast: open connections are cut). */
export const stopServer: (ctl: PgCtl) => Promise<void> = cluster.stopServer;
/** Synchronous last-resort stop for process exit, when no teardown ran. Errors are ignored. */
export const stopClusterSync: (ctl: PgCtl) => void = cluster.stopClusterSync;
/** Stops the server if it runs, then removes its directory. */
export const destroyCluster: (ctl: PgCtl) => Promise<void> = cluster.destroyCluster;
/** The url of `database` on the cluster (trust auth over TCP on 127.0.0.1). */
export const clusterUrl: (ctl: Pick<PgCtl, 'port'>, database: string) => string = cluster.clusterUrl;
/**
 * Creates a cluster in a fresh temp directory, starts it on a free port of
 * 127.0.0.1 and creates `database` in it.
 * @throws Error naming the failed step, with tool output and the server log tail.
 */
export const createCluster: (database: string) => Promise<{ ctl: PgCtl; url: string }> =
  cluster.createCluster;
