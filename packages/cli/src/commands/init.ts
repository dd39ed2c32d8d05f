import { parseArgs } from 'node:util';
import { isPostgresUrl, parsePgUrl } from '@sealog/core';
import { type Command, EXIT_OK, UsageError } from '../command.js';

const usage = `usage: sealog init <postgres://…> [--writer ROLE] [--reader ROLE]

Creates a PostgreSQL ledger (schema, tables, append-only triggers) and locks
down who may do what. Run it once, connected as the role that will own the
ledger; writers then connect as --writer, auditors as --reader.

  --writer ROLE   may read, INSERT records and checkpoints, and move the head forward;
                  never UPDATE, DELETE or TRUNCATE records or checkpoints
  --reader ROLE   may only SELECT

PUBLIC loses every privilege on the ledger tables. Triggers refuse changes to
records and checkpoints even for the owner; a superuser can still get past
both, which is what \`sealog verify\` and signed checkpoints catch.
`;

export const init: Command = {
  name: 'init',
  summary: 'create a PostgreSQL ledger and grant writer/reader roles',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { writer: { type: 'string' }, reader: { type: 'string' } },
    });
    if (positionals.length !== 1 || !isPostgresUrl(positionals[0])) {
      throw new UsageError('expected one postgres:// URL (a SQLite ledger is created by its first writer)');
    }
    const url = positionals[0];
    const { initPgLedger } = await import('@sealog/core/postgres');
    const roles: { writer?: string; reader?: string } = {};
    if (values.writer !== undefined) roles.writer = values.writer;
    if (values.reader !== undefined) roles.reader = values.reader;
    const sql = await initPgLedger(url, roles);
    io.out(`initialised ${parsePgUrl(url).display}\n${sql}\n`);
    return EXIT_OK;
  },
};
