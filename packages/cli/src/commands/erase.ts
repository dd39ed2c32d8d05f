// `sealog erase`: erases the bodies of sealed records for a subject's erasure
// request, keeping their leaf hashes under a signed erasure statement
// (docs/lifecycle.md "Erasure of a record's body").

import { basename, dirname } from 'node:path';
import { parseArgs } from 'node:util';
import {
  bindAnchor,
  type CheckpointKey,
  checkShredReason,
  createWriterTrust,
  type DirLock,
  type EraseResult,
  eraseBodies,
  eraseInClosedSegment,
  erasureEntry,
  erasureLeaves,
  fileCheckpointKey,
  isPostgresUrl,
  isSegmentDir,
  laterSegmentExists,
  ledgerIdentity,
  loadSignerKeyFile,
  lockSegmentDir,
  MAX_ERASED_ROWS,
  MAX_SHRED_REASON,
  openPkcs11Key,
  readPkcs11OptionsFile,
  refuseClosedSegment,
  SealogError,
  SqliteStore,
  sealHead,
  signErasure,
  verifyLedger,
} from '@sealog/core';
import { type Command, EXIT_OK, type Io, UsageError } from '../command.js';
import { readKeyList } from '../inputs.js';
import { LEDGER_ARG } from '../source.js';
import { originOf } from './checkpoint.js';

const usage = `usage: sealog erase <ledger> --seq N[,M…] --reason TEXT (--key <keyfile> | --pkcs11 <token.json>)
                   --yes [--anchor <file>] [--trust-file <vkeys>] [--no-vacuum] [--json]

Erases the bodies of sealed records (a subject's erasure request) and keeps
their proof: each row's entry is replaced by a marker, and its leaf hash is
kept in a signed erasure statement appended to the ledger. \`sealog verify\`
then passes and lists what was erased, when and why; a body removed without
such a statement is reported as tampering.

  1. verifies the ledger with the key (on any failure it changes nothing, exit 1);
  2. refuses rows not yet covered by a valid checkpoint, sealog's own entries
     and rows already erased;
  3. seals a checkpoint, signs a statement naming each row's leaf hash, the
     reason and the time, appends it and seals a checkpoint over it;
  4. replaces the bodies in one transaction, then rebuilds the file (VACUUM:
     SQLite leaves stale copies of rows in free page space) and empties the
     WAL, so the body bytes do not survive in the database files. Copies
     elsewhere (backups, exports, shipped logs, disk blocks the file system
     freed) are not reached: erase them too.

A closed segment of a segment directory (a higher-index segment exists) is
never written again: the statement, naming the segment and its sealed head, is
appended to the newest segment and sealed there, and \`sealog verify <dir>\`
checks it (the closed file verified alone reports its rows erased-elsewhere).

If it is interrupted, run it again: the ledger verifies at every step, and
\`sealog verify\` lists rows a statement names whose body is still there.

  --seq N[,M…]      the rows to erase (find them with \`sealog query\`); at most ${MAX_ERASED_ROWS}
  --reason TEXT     why, kept in the ledger for good: up to ${MAX_SHRED_REASON} characters of
                    one line, e.g. a ticket reference; text that looks like an
                    e-mail, IP address, card number or token is refused
  --key <keyfile>   the ledger's checkpoint key (mode 0600)
  --pkcs11 <file>   or: the key on a PKCS#11 token (docs/keys.md)
  --anchor <file>   also append both checkpoints to this anchor file
  --trust-file <f>  verifier keys to check the ledger with in step 1, one per line
                    (default: the key's own); after a key rotation, give the
                    first key's, as for \`sealog verify\`
  --no-vacuum       skip the rebuild (on a very large ledger it takes the write
                    lock for a while): stale copies of the bodies may then remain
                    in free page space until you run VACUUM
  --yes             required: the bodies cannot be brought back
  --json            print the result as JSON
`;

/** Parses `--seq 3,5,9` (repeatable): unique, ascending, bounded. */
function parseSeqs(values: string[] | undefined): number[] {
  if (values === undefined || values.length === 0) throw new UsageError('--seq N[,M…] is required');
  const seqs = new Set<number>();
  for (const v of values) {
    for (const part of v.split(',')) {
      if (!/^(0|[1-9][0-9]{0,14})$/.test(part))
        throw new UsageError(`--seq takes row numbers, got "${part.slice(0, 20)}"`);
      seqs.add(Number(part));
      if (seqs.size > MAX_ERASED_ROWS)
        throw new UsageError(`--seq names more than ${MAX_ERASED_ROWS} rows; erase in steps`);
    }
  }
  return [...seqs].sort((a, b) => a - b);
}

async function openKey(file: string | undefined, pkcs11: string | undefined): Promise<CheckpointKey> {
  if ((file === undefined) === (pkcs11 === undefined))
    throw new UsageError('give exactly one of --key <keyfile> or --pkcs11 <token.json>');
  if (file !== undefined) return fileCheckpointKey(loadSignerKeyFile(file), file);
  return openPkcs11Key(readPkcs11OptionsFile(pkcs11!));
}

export const erase: Command = {
  name: 'erase',
  summary: "erase records' bodies under a signed erasure statement, keeping their proof",
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        seq: { type: 'string', multiple: true },
        reason: { type: 'string' },
        key: { type: 'string' },
        pkcs11: { type: 'string' },
        anchor: { type: 'string' },
        'trust-file': { type: 'string', multiple: true },
        yes: { type: 'boolean' },
        'no-vacuum': { type: 'boolean' },
        json: { type: 'boolean' },
      },
    });
    if (positionals.length !== 1) throw new UsageError(LEDGER_ARG);
    const path = positionals[0]!;
    const seqs = parseSeqs(values.seq);
    if (values.reason === undefined) throw new UsageError('--reason TEXT is required (a ticket reference)');
    const reason = checkShredReason(values.reason.trim());
    if (isPostgresUrl(path)) {
      throw new SealogError(
        'E_CONFIG',
        // Not built (docs/lifecycle.md "PostgreSQL ledgers"): the writers re-derive by
        // hashing rows and cannot yet read an erasure statement, and PostgreSQL keeps the
        // old row version (dead tuples, WAL, replicas, base backups) beyond sealog's reach.
        'sealog erase refuses a PostgreSQL ledger, and nothing was changed: its writers re-derive their state by hashing the stored rows and cannot yet take an erased row\'s leaf from an erasure statement (they would stop signing), and PostgreSQL keeps the old body in dead row versions, its WAL, replicas and base backups, which sealog cannot reach. Shred the pseudonym key instead (sealog pseudonym shred); see docs/lifecycle.md "PostgreSQL ledgers"',
      );
    }
    if (values.yes !== true)
      throw new UsageError(`this erases ${seqs.length} record body(ies) for good; add --yes to go ahead`);
    const key = await openKey(values.key, values.pkcs11);
    let lock: DirLock | undefined;
    try {
      // A segment of a directory: one prune, hold or erase at a time there.
      if (/^seg-\d{6,15}\.db$/.test(basename(path)) && isSegmentDir(dirname(path)))
        lock = lockSegmentDir(dirname(path), 'sealog erase');
      const trust = values['trust-file'] ?? [];
      const how = {
        json: values.json === true,
        vacuum: values['no-vacuum'] !== true,
        trust:
          trust.length > 0
            ? readKeyList([], trust, { flag: 'trust', fileFlag: 'trust-file', file: 'trust file' })
            : undefined,
      };
      return await eraseWith(path, seqs, reason, key, values.anchor, how, io);
    } finally {
      lock?.release();
      await key.close();
    }
  },
};

async function eraseWith(
  path: string,
  seqs: number[],
  reason: string,
  key: CheckpointKey,
  anchor: string | undefined,
  how: { json: boolean; vacuum: boolean; trust: string[] | undefined },
  io: Io,
): Promise<number> {
  // A closed segment is never written again: its statement goes to the newest segment.
  if (laterSegmentExists(path)) {
    if (anchor !== undefined)
      throw new UsageError(
        '--anchor is not used for a closed segment: its statement is sealed in the newest segment, whose writer keeps that anchor',
      );
    return eraseClosed(path, seqs, reason, key, how, io);
  }
  // 1. Only a ledger that verifies under this key is erased in: its leaves are then proved.
  const report = verifyLedger(path, { keys: how.trust ?? [key.log.verifierKey] });
  if (!report.ok) {
    const first = report.findings.find((f) => f.kind !== 'unsealed') ?? report.findings[0];
    throw new SealogError(
      'E_TAMPER',
      `${path} does not verify under ${key.display} (${first ? `${first.kind}: ${first.message}` : 'failed'}); nothing was erased: run \`sealog verify\``,
    );
  }
  // 2. Only sealed rows: a checkpoint already binds their leaves.
  const unsealed = seqs.filter((s) => s >= report.sealed);
  if (unsealed.length > 0) {
    throw new SealogError(
      'E_CONFIG',
      `row(s) ${unsealed.slice(0, 10).join(', ')} ${report.size > unsealed[0]! ? 'are not yet covered by a valid checkpoint: run `sealog checkpoint` first' : `do not exist (the ledger has ${report.size} records)`}`,
    );
  }
  const leaves = erasureLeaves(path, seqs);
  if (anchor !== undefined) bindAnchor(anchor, ledgerIdentity(path));
  const anchorOpt = anchor !== undefined ? { anchorFile: anchor } : {};
  // A closed segment's final head is bound into the next segment: refused before
  // any write, and again inside the append's transaction (a writer may close it meanwhile).
  const closed = refuseClosedSegment(path);
  const store = new SqliteStore(path, {
    durability: 'power',
    trust: createWriterTrust(anchorOpt, key, () => {}),
    beforeAppend: closed,
  });
  const display = path;
  let by: number;
  let sealedAt: number;
  let rows: { seq: number; leaf: Buffer }[];
  try {
    // 3. A statement names a sealed root (this key derived it) and each row's leaf under it.
    if (store.divergence) throw store.divergence;
    closed(store.db);
    const previous = originOf(await store.lastCheckpointNote());
    if (previous !== undefined && previous !== key.name) {
      throw new SealogError(
        'E_KEY',
        `this ledger's checkpoints have origin ${JSON.stringify(previous)} but the key is named ${JSON.stringify(key.name)}; use the ledger's key`,
      );
    }
    const head = await sealHead(store, key, anchorOpt);
    if (!head) throw new SealogError('E_IO', `${display}: another writer held the checkpoint lock`);
    rows = seqs.map((seq, i) => ({ seq, leaf: leaves[i]! }));
    const now = Date.now();
    const note = await signErasure(
      { origin: key.name, size: head.size, root: head.head.root, reason, time: now, rows },
      key,
    );
    by = (await store.append([erasureEntry(note, { rows, reason }, now)])).firstSeq;
    const over = await sealHead(store, key, anchorOpt);
    if (!over) throw new SealogError('E_IO', `${display}: another writer held the checkpoint lock`);
    sealedAt = over.size;
  } finally {
    await store.close();
  }
  // 4. The bodies, in one transaction; each must still hash to the leaf the statement names.
  const done = eraseBodies(path, by, rows, { vacuum: how.vacuum });
  if (how.json) {
    const { erased, already, walTruncated, vacuumed } = done;
    io.out(
      `${JSON.stringify({ statement: by, sealed: sealedAt, erased, already, reason, vacuumed, walTruncated }, null, 2)}\n`,
    );
  } else {
    io.out(
      `erased ${done.erased.length} record(s) in ${display} under the erasure statement at entry ${by} (sealed at size ${sealedAt})\n`,
    );
  }
  reportLeftovers(path, done, io);
  return EXIT_OK;
}

async function eraseClosed(
  path: string,
  seqs: number[],
  reason: string,
  key: CheckpointKey,
  how: { json: boolean; vacuum: boolean; trust: string[] | undefined },
  io: Io,
): Promise<number> {
  const r = await eraseInClosedSegment(path, seqs, reason, key, {
    ...(how.trust ? { trust: how.trust } : {}),
    vacuum: how.vacuum,
  });
  const { erased, already, walTruncated, vacuumed } = r.done;
  if (how.json) {
    const statement = { segment: r.statementSegment, seq: r.statementSeq };
    io.out(
      `${JSON.stringify({ segment: r.segment, statement, sealed: r.sealedAt, erased, already, reason, vacuumed, walTruncated }, null, 2)}\n`,
    );
  } else {
    const under = `under the erasure statement at segment ${r.statementSegment} row ${r.statementSeq}`;
    io.out(
      r.sealedAt === undefined
        ? `${already.length} record(s) of closed segment ${r.segment} (${path}) were already erased ${under} (an interrupted run); the file was rebuilt\n`
        : `erased ${erased.length} record(s) in closed segment ${r.segment} (${path}) ${under} (sealed there at size ${r.sealedAt})\n`,
    );
  }
  reportLeftovers(path, r.done, io);
  return EXIT_OK;
}

function reportLeftovers(path: string, done: EraseResult, io: Io): void {
  if (!done.walTruncated) {
    io.err(
      `sealog erase: a reader kept the WAL from being emptied; earlier copies of the erased pages stay in ${path}-wal until it is: once readers are closed, run sqlite3 ${path} 'PRAGMA wal_checkpoint(TRUNCATE)'\n`,
    );
  }
  if (!done.vacuumed) {
    io.err(
      `sealog erase: --no-vacuum: stale copies of the bodies may remain in free page space until you run sqlite3 ${path} VACUUM\n`,
    );
  }
}
