import { parseArgs } from 'node:util';
import { isPostgresUrl, parsePgUrl } from '@sealog/core';
import { type Command, EXIT_OK, UsageError } from '../command.js';
import { progressReporter } from '../progress.js';

const usage = `usage: sealog migrate <from> <to> [--progress]

Copies a ledger between SQLite and PostgreSQL, one way or the other:

  sealog migrate audit.db postgres://user@host/db[?schema=sealog]
  sealog migrate postgres://user@host/db audit-copy.db

Records, chain values and signed checkpoints are copied byte for byte, so the
copy verifies with the same keys (\`sealog verify\`) and later writers extend
the same chain. The source's chain is recomputed on the way: a source whose
chain is broken is refused (signatures are not checked here: run \`sealog
verify\` before and after). The target must be new (a file that does not
exist) or empty (a PostgreSQL schema without records); PostgreSQL is written in
one transaction, so a failed migration leaves it as it was. Stop writers of the
source first: records appended during the copy are not carried over.

  --progress   report progress on stderr (at most a line a second); on by
               default when stderr is a terminal
`;

export const migrate: Command = {
  name: 'migrate',
  summary: 'copy a ledger from SQLite to PostgreSQL or back, chain and checkpoints intact',
  usage,
  async run(argv, io) {
    const { positionals, values } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { progress: { type: 'boolean' } },
    });
    if (positionals.length !== 2) throw new UsageError('expected <from> and <to>');
    const [from, to] = positionals as [string, string];
    if (isPostgresUrl(from) === isPostgresUrl(to)) {
      throw new UsageError(
        'one side must be a SQLite file and the other a postgres:// URL (copy files with cp, databases with pg_dump)',
      );
    }
    const pg = await import('@sealog/core/postgres');
    const report = progressReporter((line) => io.err(line), 'copied', { forced: values.progress ?? false });
    const progress = (rows: number) => report?.({ done: rows, unit: 'records' });
    const t0 = performance.now();
    const r = isPostgresUrl(to)
      ? await pg.copySqliteToPg(from, to, { onProgress: progress })
      : await pg.copyPgToSqlite(from, to, { mode: 'migrate', onProgress: progress });
    const name = (s: string) => (isPostgresUrl(s) ? parsePgUrl(s).display : s);
    const secs = (performance.now() - t0) / 1000;
    io.out(
      `migrated ${r.records} record(s) and ${r.checkpoints} checkpoint(s) from ${name(from)} to ${name(to)} in ${secs.toFixed(1)} s\n`,
    );
    return EXIT_OK;
  },
};
