import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import {
  appendSealed,
  checkShredReason,
  type DirLock,
  isPostgresUrl,
  isSegmentDir,
  lockSegmentDir,
  SealogError,
  type SegmentsReport,
  verifySegments,
} from '@sealog/core';
import { type Command, EXIT_FAIL, EXIT_OK, type Io, UsageError } from '../command.js';
import { escapeTerminal } from '../format.js';
import { KEY_OPTIONS, readKeyArgs } from '../inputs.js';
import { parseTimeArg } from '../time-arg.js';
import { holdLine, listPg, placePg } from './hold-postgres.js';
import { openSigningKey, ownKeys } from './prune.js';

const usage = `usage: sealog hold add <dir> (--segment <k> | --from <time> --to <time>) --reason TEXT
                      (--key <keyfile> | --pkcs11 <token.json>) [--id ID]
       sealog hold add postgres://… --from <time> --to <time> --reason TEXT (--key … | --pkcs11 …) [--id ID]
       sealog hold release <dir | postgres://…> --id ID --reason TEXT (--key <keyfile> | --pkcs11 <token.json>)
       sealog hold list <dir | postgres://…> (--key <vkey> | --key-file <file>)... [--json]

A legal hold stops \`sealog prune\` from removing a segment: one segment
(--segment), or every segment holding a record in a time range (--from, --to).
Placing and releasing a hold are signed statements appended to the newest
segment and sealed with a checkpoint the command signs, so the ledger keeps,
for good, who held what, when and why; \`sealog verify <dir>\` fails when a
segment was pruned while a hold covered it. On a PostgreSQL ledger a hold
covers the records of a time range (--from, --to), the statement is appended
to the ledger and sealed, and \`sealog prune postgres://…\` refuses to remove
a record it covers.

  --segment <k>       hold segment k (it must be present)
  --from/--to <time>  hold every segment with a record in this range (UTC; see
                      sealog query --help for the forms)
  --reason TEXT       why: one line of up to 200 characters, e.g. a case number;
                      text that looks like personal data is refused
  --id ID             the hold's name (letters, digits, . _ -; default: a random one)
  --key <keyfile>     add/release: the ledger's checkpoint key (mode 0600)
  --pkcs11 <file>     add/release: or the key on a PKCS#11 token
  --verify-key-file <file>
                      add/release: verifier keys older segments were sealed with
                      (after a key rotation), to read the existing holds
  --key, --key-file   list: verifier keys, as for sealog verify
  --json              list: print the holds as JSON
`;

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function segmentDir(positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError('expected exactly one segment directory');
  const dir = positionals[0]!;
  if (!isSegmentDir(dir))
    throw new SealogError('E_IO', `${dir} is not a directory of segments (seg-000001.db, …)`);
  return dir;
}

function newestFile(report: SegmentsReport): string {
  const s = report.segments.at(-1);
  if (s === undefined)
    throw new SealogError('E_IO', `${report.dir} holds no segment file to record the hold in`);
  return s.file;
}

async function place(argv: string[], io: Io, release: boolean): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      segment: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      reason: { type: 'string' },
      id: { type: 'string' },
      key: { type: 'string' },
      pkcs11: { type: 'string' },
      'verify-key-file': { type: 'string', multiple: true },
    },
  });
  const pg = positionals.length === 1 && isPostgresUrl(positionals[0]!) ? positionals[0]! : undefined;
  const dir = pg ?? segmentDir(positionals);
  if (values.reason === undefined)
    throw new UsageError('--reason TEXT is required (a case or ticket reference)');
  const reason = checkShredReason(values.reason);
  if (values.id !== undefined && !ID.test(values.id))
    throw new UsageError(
      '--id must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit',
    );
  const now = Date.now();
  let scope: { segment: number } | { from: number; to: number } | undefined;
  if (!release) {
    if (values.segment !== undefined && (values.from !== undefined || values.to !== undefined))
      throw new UsageError('give --segment <k> or --from/--to, not both');
    if (values.segment !== undefined && pg !== undefined) {
      throw new UsageError('a PostgreSQL ledger has no segments: give --from <time> and --to <time>');
    } else if (values.segment !== undefined) {
      if (!/^[1-9]\d{0,14}$/.test(values.segment))
        throw new UsageError(
          `--segment must be a segment index (1, 2, …), got ${JSON.stringify(values.segment)}`,
        );
      scope = { segment: Number(values.segment) };
    } else if (values.from !== undefined && values.to !== undefined) {
      const from = Math.max(0, parseTimeArg('from', values.from, now));
      const to = parseTimeArg('to', values.to, now);
      if (to < from) throw new UsageError('--to is before --from');
      scope = { from, to };
    } else {
      throw new UsageError('give --segment <k>, or both --from <time> and --to <time>');
    }
  } else if (values.id === undefined) {
    throw new UsageError('--id ID is required: the hold to release (sealog hold list shows them)');
  }
  const signer = await openSigningKey(values);
  let lock: DirLock | undefined;
  try {
    if (pg !== undefined) {
      const keys = ownKeys(signer, values['verify-key-file'] ?? []);
      const pgScope = scope && 'from' in scope ? { scope } : {};
      const id = values.id !== undefined ? { id: values.id } : {};
      return await placePg(pg, signer, { keys, now, reason, ...id, ...pgScope }, io);
    }
    // A hold decided on a state a running prune is changing could land on a segment it removes.
    lock = lockSegmentDir(dir, `sealog hold ${release ? 'release' : 'add'}`);
    const report = verifySegments(dir, { keys: ownKeys(signer, values['verify-key-file'] ?? []) });
    const origin = report.origin ?? signer.name;
    const id = values.id ?? `hold-${randomBytes(4).toString('hex')}`;
    const existing = report.holds.filter((h) => h.id === id);
    // A release names the hold it ends by its note's SHA-256, never by id alone.
    const target = existing.filter((h) => h.active).at(-1);
    if (release) {
      if (target === undefined)
        throw new SealogError(
          'E_CONFIG',
          `no active legal hold ${JSON.stringify(id)} in ${dir}; sealog hold list shows them`,
        );
    } else {
      if (existing.length > 0)
        throw new SealogError(
          'E_CONFIG',
          `a legal hold ${JSON.stringify(id)} already exists; choose another --id`,
        );
      // A segment a sealed prune statement names is being removed (an interrupted
      // prune): a hold on it would be reported active while the rerun deletes it.
      const named = new Set(
        report.prunes.filter((p) => p.sealed).flatMap((p) => p.segments.map((g) => g.index)),
      );
      const doomed = report.segments.find(
        (s) =>
          named.has(s.index) &&
          (scope && 'segment' in scope
            ? scope.segment === s.index
            : scope !== undefined &&
              (s.oldest === undefined ||
                s.newest === undefined ||
                (s.oldest <= scope.to && scope.from <= s.newest))),
      );
      if (doomed !== undefined)
        throw new SealogError(
          'E_CONFIG',
          `segment ${doomed.index} is named by a sealed prune statement that has not finished (an interrupted prune): it is being removed and a hold cannot keep it; nothing was written. Run sealog prune again to finish it (copy the segment elsewhere first if it must be kept), then place the hold on what remains`,
        );
      if (scope && 'segment' in scope && !report.segments.some((s) => s.index === scope.segment))
        throw new SealogError(
          'E_CONFIG',
          `segment ${scope.segment} is not in ${dir} (pruned, or not created yet)`,
        );
    }
    const statement = release
      ? {
          type: 'release' as const,
          origin,
          id,
          time: now,
          reason,
          hold: Buffer.from(target!.hash, 'base64'),
        }
      : { type: 'hold' as const, origin, id, time: now, reason, scope: scope! };
    const file = newestFile(report);
    const r = await appendSealed(file, signer, statement, now);
    io.out(r.statement);
    io.err(
      `${release ? 'released' : 'placed'} legal hold ${id}; recorded in ${file} at row ${r.seq} and sealed at size ${r.size}` +
        `${report.ok ? '' : `; note: ${dir} does not verify (run sealog verify)`}\n`,
    );
    return EXIT_OK;
  } finally {
    lock?.release();
    await signer.close();
  }
}

async function list(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...KEY_OPTIONS, json: { type: 'boolean' } },
  });
  const keys = readKeyArgs(values, true);
  if (positionals.length === 1 && isPostgresUrl(positionals[0]!))
    return listPg(positionals[0]!, keys, values.json === true, io);
  const dir = segmentDir(positionals);
  const report = verifySegments(dir, { keys });
  const bad = report.findings.filter((f) => f.kind === 'bad-statement');
  if (values.json) io.out(`${JSON.stringify({ holds: report.holds, problems: bad }, null, 2)}\n`);
  else {
    for (const h of report.holds) io.out(holdLine(h));
    if (report.holds.length === 0) io.out('no legal hold\n');
  }
  for (const f of bad) io.err(`${f.kind}: ${escapeTerminal(f.message)}\n`);
  if (!report.ok) io.err(`${dir} does not verify: run sealog verify ${dir}\n`);
  return bad.length > 0 ? EXIT_FAIL : EXIT_OK;
}

export const hold: Command = {
  name: 'hold',
  summary: 'place, release or list legal holds on a segmented or PostgreSQL ledger (they stop prune)',
  usage,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === 'add') return place(rest, io, false);
    if (sub === 'release') return place(rest, io, true);
    if (sub === 'list') return list(rest, io);
    throw new UsageError(
      sub === undefined ? 'a subcommand is required: add, release or list' : `unknown subcommand "${sub}"`,
    );
  },
};
