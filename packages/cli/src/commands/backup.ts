import { parseArgs } from 'node:util';
import { backupLedger, DEFAULT_MAX_UNSEALED, isPostgresUrl, parsePgUrl } from '@sealog/core';
import { type Command, EXIT_FAIL, EXIT_OK, intOption, UsageError } from '../command.js';
import { escapeTerminal } from '../format.js';
import { KEY_OPTIONS, KEY_USAGE, readKeyArgs } from '../inputs.js';
import { progressReporter } from '../progress.js';
import { checkNotDirectory } from '../source.js';
import { formatReport } from './verify.js';

const usage = `usage: sealog backup <ledger> <dest.db> [(--key <vkey> | --key-file <file>)...]
                     [--max-unsealed <n>] [--progress]

Copies a ledger, while writers go on, into a new SQLite file: one consistent
snapshot, with every committed record (also those still in the -wal file,
which a copy of the ledger's files loses). <ledger> is a file or a
postgres://… URL (copied from one REPEATABLE READ snapshot). The copy is a
single file (no -wal or -shm beside it), written under a temporary name in
<dest.db>'s directory, synced, and put in place only if nothing is there:
backup never overwrites. Then it is checked: it must hold exactly what the
source held in the snapshot (records, last record, newest checkpoint), and it
is verified as \`sealog verify\` would, with the keys given (without keys, the
hash chain only). Restore by pointing writers and readers at the copy.

${KEY_USAGE}  --max-unsealed <n>   most records tolerated after the newest valid checkpoint
                       (default ${DEFAULT_MAX_UNSEALED}), as for \`sealog verify\`
  --progress           report progress on stderr (at most a line a second);
                       the default when stderr is a terminal

exit status: 0 copied and verified, 1 the copy does not verify (it is kept),
2 usage or I/O error (nothing is left at <dest.db>)
`;

export const backup: Command = {
  name: 'backup',
  summary: 'copy a live ledger safely (WAL included) into a new file, then verify the copy',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...KEY_OPTIONS,
        'max-unsealed': { type: 'string' },
        progress: { type: 'boolean' },
      },
    });
    if (positionals.length !== 2)
      throw new UsageError('expected <ledger> (a file or postgres:// URL) and <dest.db>');
    const [source, dest] = positionals as [string, string];
    checkNotDirectory(source); // a segmented ledger is backed up one segment file at a time
    if (isPostgresUrl(dest)) {
      throw new UsageError('a backup is a SQLite file; to copy into PostgreSQL use `sealog migrate`');
    }
    const keys = readKeyArgs(values, false);
    const verify = {
      keys,
      chainOnly: keys.length === 0,
      ...(values['max-unsealed'] !== undefined
        ? { maxUnsealed: intOption('max-unsealed', values['max-unsealed'], DEFAULT_MAX_UNSEALED) }
        : {}),
    };
    const onProgress = progressReporter((line) => io.err(line), 'copied', {
      forced: values.progress ?? false,
    });
    const name = isPostgresUrl(source) ? parsePgUrl(source).display : escapeTerminal(source);
    const t0 = performance.now();
    const r = await backupLedger(source, dest, {
      verify,
      signal: io.signal,
      ...(onProgress ? { onProgress } : {}),
    });
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    const c = r.copy.newestCheckpoint;
    const newest = c ? `newest at size ${typeof c.size === 'number' ? c.size : '?'}` : 'none';
    io.out(
      `backed up ${name} to ${escapeTerminal(dest)}: ${r.copy.records} record(s), ${r.copy.checkpoints} checkpoint(s) (${newest}), ${r.bytes} bytes, in ${secs} s\n`,
    );
    io.out(`\ncheck of the copy (as \`sealog verify\`):\n${formatReport(dest, r.report)}`);
    if (r.report.ok) return EXIT_OK;
    io.err(
      `sealog backup: the copy at ${escapeTerminal(dest)} does not verify; it holds what ${name} held, so check the source with \`sealog verify\`\n`,
    );
    return EXIT_FAIL;
  },
};
