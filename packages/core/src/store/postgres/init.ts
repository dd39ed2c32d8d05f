import { connectPg, parsePgUrl, pgError } from './connect.js';
import { assertPgLedger, ensurePgSchema, grantsSql } from './schema.js';

/**
 * Creates the ledger schema (if absent) and, with roles, grants writers only
 * SELECT/INSERT (plus moving the head forward) and readers only SELECT; PUBLIC
 * gets nothing. Run once as the schema owner (`sealog init`). Returns the SQL of the grants.
 * @throws SealogError E_CONFIG (role names), E_IO, E_NOT_LEDGER.
 */
export async function initPgLedger(
  url: string,
  roles: { writer?: string; reader?: string } = {},
): Promise<string> {
  const target = parsePgUrl(url);
  const sql = grantsSql(target, roles);
  const s = await connectPg(target);
  try {
    await ensurePgSchema(s, Date.now());
    await assertPgLedger(s);
    try {
      await s.query(sql);
    } catch (err) {
      throw pgError(target, 'grant privileges on', err);
    }
    return sql;
  } finally {
    await s.end();
  }
}
