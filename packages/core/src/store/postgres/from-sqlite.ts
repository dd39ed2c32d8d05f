import { SealogError } from '../../errors.js';
import { ioError } from '../open.js';
import { LedgerReader } from '../reader.js';
import { ChainCheck } from './chain-check.js';
import { connectPg, type PgSession, parsePgUrl, pgError, qualify } from './connect.js';
import { assertPgLedger, ensurePgSchema } from './schema.js';
import type { CopyResult } from './to-sqlite.js';

// SQLite → PostgreSQL (`sealog migrate`). Records, chain values and checkpoints
// are copied byte for byte, so every checkpoint signed over the file verifies
// against the new store; the chain is recomputed on the way and a source that
// does not verify is refused. One PostgreSQL transaction: a failed migration
// leaves the target as it was.

const INSERT_ROWS = 2000;

/**
 * Copies the SQLite ledger `src` into the (new or empty) PostgreSQL ledger at `url`.
 * @throws SealogError E_IO, E_NOT_LEDGER, E_CONFIG (target not empty), E_TAMPER (source does not verify).
 */
export async function copySqliteToPg(
  src: string,
  url: string,
  options: { onProgress?: (rows: number) => void } = {},
): Promise<CopyResult> {
  const reader = new LedgerReader(src);
  let s: PgSession | undefined;
  try {
    s = await connectPg(parsePgUrl(url));
    // Schema, records and head in one transaction: a refused or failed migration leaves nothing.
    await s.query('BEGIN');
    await ensurePgSchema(s, Date.now(), { inTransaction: true });
    await assertPgLedger(s);
    const db = reader.db;
    // One read transaction: every page, the head and the checkpoints come from one snapshot.
    db.prepare('BEGIN').run();
    try {
      return await copyInto(s, reader, options.onProgress);
    } finally {
      db.prepare('COMMIT').run();
    }
  } catch (err) {
    if (s && !s.broken) await s.query('ROLLBACK').catch(() => {});
    if (err instanceof SealogError) throw err;
    const code = (err as { code?: unknown } | null)?.code;
    throw typeof code === 'string' && code.startsWith('SQLITE')
      ? ioError(src, 'read', err)
      : pgError(parsePgUrl(url), 'migrate into', err);
  } finally {
    reader.close();
    await s?.end();
  }
}

async function copyInto(
  s: PgSession,
  reader: LedgerReader,
  onProgress?: (rows: number) => void,
): Promise<CopyResult> {
  const q = (table: string) => qualify(s.target, table);
  const size = (await s.query(`SELECT size FROM ${q('ledger_state')} WHERE id = 0 FOR UPDATE`)).rows[0]?.size;
  const any = (await s.query(`SELECT 1 FROM ${q('records')} LIMIT 1`)).rows.length;
  if (size !== 0 || any > 0) {
    throw new SealogError(
      'E_CONFIG',
      `${s.target.display} already holds a ledger with records; migrate into an empty database or another ?schema=`,
    );
  }
  const check = new ChainCheck(reader.path);
  const batch = { seq: [] as number[], ts: [] as number[], entry: [] as Buffer[], chain: [] as Buffer[] };
  const flush = async () => {
    if (batch.seq.length === 0) return;
    await s.query(
      `INSERT INTO ${q('records')} (seq, ts, entry, chain)
       SELECT * FROM unnest($1::int8[], $2::int8[], $3::bytea[], $4::bytea[])`,
      [batch.seq, batch.ts, batch.entry, batch.chain],
    );
    for (const a of Object.values(batch)) a.length = 0;
    onProgress?.(check.state.size);
  };
  for (const r of reader.records()) {
    check.row(r.seq, r.entry, r.chain);
    batch.seq.push(r.seq);
    batch.ts.push(r.ts);
    batch.entry.push(r.entry);
    batch.chain.push(r.chain);
    if (batch.seq.length >= INSERT_ROWS) await flush();
  }
  await flush();
  const state = reader.db.prepare('SELECT size, chain_head FROM ledger_state WHERE id = 0').get() as
    | { size?: unknown; chain_head?: unknown }
    | undefined;
  check.end(state ?? { size: undefined });
  const cps = reader.checkpoints();
  for (const c of cps) {
    await s.query(`INSERT INTO ${q('checkpoints')} (size, note, created_at) VALUES ($1, $2, $3)`, [
      c.size,
      c.note,
      c.createdAt,
    ]);
  }
  await copyTimestamps(s, reader);
  const meta = reader.db.prepare("SELECT key, value FROM sealog_meta WHERE key <> 'format'").all() as {
    key: unknown;
    value: unknown;
  }[];
  for (const m of meta) {
    await s.query(`INSERT INTO ${q('sealog_meta')} (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
      String(m.key),
      String(m.value),
    ]);
  }
  await s.query(`UPDATE ${q('ledger_state')} SET size = $1, chain_head = $2, compact = $3 WHERE id = 0`, [
    check.state.size,
    check.state.chainHead,
    check.state.encodeCompact(),
  ]);
  await s.query('COMMIT');
  return { records: check.state.size, checkpoints: cps.length };
}

/**
 * The RFC 3161 token rows, byte for byte (rows the reader reports as unusable are
 * left behind: they stamp nothing). @throws SealogError E_CONFIG when there are
 * tokens and the target (an existing ledger of an older sealog) has no table for them.
 */
async function copyTimestamps(s: PgSession, reader: LedgerReader): Promise<void> {
  const table = qualify(s.target, 'checkpoint_timestamps');
  let present: boolean | undefined;
  for (const t of reader.timestamps()) {
    if (t.problem !== undefined) continue;
    present ??=
      (await s.query<{ t: unknown }>('SELECT to_regclass($1)::text AS t', [table])).rows[0]?.t != null;
    if (!present) {
      throw new SealogError(
        'E_CONFIG',
        `${s.target.display} has no checkpoint_timestamps table for the source's timestamp tokens: run \`sealog init\` on it first`,
      );
    }
    await s.query(
      `INSERT INTO ${table} (size, note_sha256, token, tsa_time, created_at) VALUES ($1, $2, $3, $4, $5)`,
      [t.size, t.noteSha256, t.token, Math.trunc(t.tsaTime), Math.trunc(t.createdAt)],
    );
  }
}
