import { SealogError } from '../../errors.js';

// Naming a PostgreSQL ledger. Kept apart from the driver so that SQLite-only
// users, who pass file paths, never load `pg`.

/** Default schema holding the ledger's tables. */
export const DEFAULT_PG_SCHEMA = 'sealog';

/** True for `postgres://…` and `postgresql://…`: such a "path" names a PostgreSQL ledger. */
export function isPostgresUrl(path: unknown): path is string {
  return typeof path === 'string' && /^postgres(?:ql)?:\/\//i.test(path);
}

export interface PgTarget {
  /** What the driver gets (the `schema` parameter removed). */
  connectionString: string;
  schema: string;
  /** The URL without its password, for messages. */
  display: string;
}

/** Parses a ledger URL. @throws SealogError E_CONFIG for a malformed URL or schema name. */
export function parsePgUrl(url: string): PgTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SealogError(
      'E_CONFIG',
      'a PostgreSQL ledger URL must look like postgres://user@host:5432/dbname[?schema=sealog]',
    );
  }
  const schema = u.searchParams.get('schema') ?? DEFAULT_PG_SCHEMA;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new SealogError(
      'E_CONFIG',
      `schema ${JSON.stringify(schema)} in the ledger URL must be a lower-case SQL identifier (a-z, 0-9, _)`,
    );
  }
  u.searchParams.delete('schema');
  const connectionString = u.toString();
  // Secrets the driver also reads from the query string (pg-connection-string).
  if (u.password) u.password = '***';
  for (const secret of ['password', 'sslpassword']) {
    if (u.searchParams.has(secret)) u.searchParams.set(secret, '***');
  }
  u.searchParams.set('schema', schema);
  return { connectionString, schema, display: u.toString() };
}
