import type pg from 'pg';
import { SealogError } from '../../errors.js';
import type { PgTarget } from './url.js';

export { isPostgresUrl, type PgTarget, parsePgUrl } from './url.js';

// Where a PostgreSQL ledger lives, how we connect to it, and how driver errors
// become SealogErrors. A ledger is named by a connection string; its tables sit
// in one schema (default "sealog", or ?schema=NAME), so several ledgers can
// share a database. Passwords never reach a message: errors name `display`.

/** How long a commit waits for another writer's lock before failing (and being retried). */
export const DEFAULT_PG_LOCK_TIMEOUT_MS = 5000;
const CONNECT_TIMEOUT_MS = 10_000;
/** TCP keepalive probes start after this much silence (the OS default is two hours). */
const KEEPALIVE_DELAY_MS = 10_000;
/** A session stuck inside a transaction (a frozen writer) releases its locks after this long. */
const IDLE_IN_TX_TIMEOUT_MS = 60_000;

// int8 columns (seq, ts, size) as numbers; a value beyond 2^53 (only a hand-edited
// table has one) stays exact as a bigint, so readers can report it instead of misreading it.
const int8 = (v: string): number | bigint => {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : BigInt(v);
};
function typeParsers(driver: typeof pg): { getTypeParser: typeof pg.types.getTypeParser } {
  return {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === driver.types.builtins.INT8
        ? int8
        : driver.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
  };
}

// `pg` is an optional peer dependency: only PostgreSQL ledgers need it, so it is imported on the
// first connection, never when @sealog/core loads.
let driver: Promise<typeof pg> | undefined;

/**
 * Imports the `pg` driver (`load` stands in for `import('pg')` in tests).
 * @throws SealogError E_CONFIG naming `pg` and how to install it when it is not installed.
 */
export async function loadPg(load: () => Promise<unknown> = () => import('pg')): Promise<typeof pg> {
  try {
    const mod = (await load()) as { default?: typeof pg } & typeof pg;
    return mod.default ?? mod;
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    const message = err instanceof Error ? err.message : '';
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && /['"]pg['"]/.test(message)) {
      throw new SealogError(
        'E_CONFIG',
        'PostgreSQL ledgers (postgres:// URLs) need the pg package, which is not installed: run npm install pg',
        { cause: err },
      );
    }
    throw err;
  }
}

export interface ConnectOptions {
  lockTimeoutMs?: number;
  /**
   * Give up on a statement whose answer has not arrived after this long (a lost
   * reply on a dead link would otherwise wait for TCP keepalive, hours): the
   * session is dropped and, after a COMMIT, the batch is resolved as in doubt.
   * Default: none (readers copying a whole ledger may run long).
   */
  queryTimeoutMs?: number;
  /** Open the session read-only (readers): even a superuser's connection cannot write through it. */
  readOnly?: boolean;
}

/**
 * Opens one session. A dropped connection later emits 'error' on the client; the
 * listener here keeps that from crashing the process and marks the client broken.
 * @throws SealogError E_IO saying which server could not be reached; E_CONFIG when `pg` is not installed.
 */
export async function connectPg(target: PgTarget, options: ConnectOptions = {}): Promise<PgSession> {
  driver ??= loadPg();
  const pg = await driver;
  const client = new pg.Client({
    connectionString: target.connectionString,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
    ...(options.queryTimeoutMs !== undefined ? { query_timeout: options.queryTimeoutMs } : {}),
    types: typeParsers(pg),
    application_name: 'sealog',
  });
  const session = new PgSession(client, target);
  try {
    await client.connect();
    const lock = options.lockTimeoutMs ?? DEFAULT_PG_LOCK_TIMEOUT_MS;
    await client.query(
      `SET lock_timeout = ${Math.trunc(lock)}; SET idle_in_transaction_session_timeout = ${IDLE_IN_TX_TIMEOUT_MS}` +
        (options.readOnly ? '; SET default_transaction_read_only = on' : ''),
    );
  } catch (err) {
    await session.end();
    throw pgError(target, 'connect to', err);
  }
  return session;
}

/** One connection and whether it still works. */
export class PgSession {
  readonly client: pg.Client;
  readonly target: PgTarget;
  #broken = false;

  constructor(client: pg.Client, target: PgTarget) {
    this.client = client;
    this.target = target;
    client.on('error', () => {
      this.#broken = true;
    });
    client.on('end', () => {
      this.#broken = true;
    });
  }

  get broken(): boolean {
    return this.#broken;
  }

  query<R extends pg.QueryResultRow = Record<string, unknown>>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    return this.client.query<R>(text, values);
  }

  /** Closes the connection; never rejects (a broken socket is already closed). */
  end(): Promise<void> {
    this.#broken = true;
    return this.client.end().catch(() => {});
  }
}

/**
 * One session, opened on first use and reopened after the link fails, whose users
 * take turns: a caller's transaction is never interleaved with another caller's
 * statements on the same connection (which would commit or roll back the wrong work).
 */
export class SessionSlot {
  readonly #target: PgTarget;
  readonly #options: ConnectOptions;
  #session: PgSession | undefined;
  #turn: Promise<unknown> = Promise.resolve();

  constructor(target: PgTarget, options: ConnectOptions = {}) {
    this.#target = target;
    this.#options = options;
  }

  /** Runs `fn` with the session once every earlier caller has finished. */
  use<T>(fn: (s: PgSession) => Promise<T>): Promise<T> {
    const run = this.#turn.then(async () => fn(await this.#open()));
    this.#turn = run.catch(() => {});
    return run;
  }

  async #open(): Promise<PgSession> {
    if (this.#session && !this.#session.broken) return this.#session;
    void this.#session?.end();
    this.#session = undefined;
    this.#session = await connectPg(this.#target, this.#options);
    return this.#session;
  }

  /** Waits for the current user, then closes the connection. */
  async close(): Promise<void> {
    await this.#turn;
    const s = this.#session;
    this.#session = undefined;
    await s?.end();
  }
}

/** A quoted `schema.table` name (the schema was validated as an identifier). */
export function qualify(target: PgTarget, table: string): string {
  return `"${target.schema}"."${table}"`;
}

/** A server error has a five-character SQLSTATE; anything else (socket, timeout) means the link failed. */
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return !(typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code));
}

/** Maps a driver failure to a SealogError that says what to do; never includes row data. */
export function pgError(target: PgTarget, action: string, err: unknown): SealogError {
  if (err instanceof SealogError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === '55P03' || code === '40P01') {
    return new SealogError(
      'E_IO',
      `${target.display} stayed locked by another writer while trying to ${action} it; records are kept and retried`,
      { cause: err },
    );
  }
  if (code === '42501') {
    return new SealogError(
      'E_IO',
      `permission denied while trying to ${action} ${target.display}: ${message}; grant the role the privileges in docs/postgres.md`,
      { cause: err },
    );
  }
  if (code === '3D000' || code === '28P01' || code === '28000') {
    return new SealogError('E_IO', `could not ${action} ${target.display}: ${message}`, { cause: err });
  }
  const detail = isConnectionError(err)
    ? `the connection failed (${message}); sealog reconnects and retries`
    : message;
  return new SealogError('E_IO', `could not ${action} ${target.display}: ${detail}`, { cause: err });
}
