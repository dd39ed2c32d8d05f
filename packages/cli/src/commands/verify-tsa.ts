import { existsSync } from 'node:fs';
import {
  anchorTimestampsPath,
  type CheckpointResult,
  splitAnchorTimestamps,
  type VerifyOptions,
  type VerifyReport,
} from '@sealog/core';
import { type Io, UsageError } from '../command.js';
import { escapeTerminal } from '../format.js';
import { readInputFile } from '../inputs.js';

// `sealog verify`'s RFC 3161 flags (docs/verify.md §1.5): the TSA roots the
// verifier trusts, the mode, a policy OID, and token files; and the lines of
// the human report that show each checkpoint's TSA time beside the log's.

export const TSA_OPTIONS = {
  'tsa-anchor': { type: 'string', multiple: true },
  'tsa-signer': { type: 'string', multiple: true },
  tsa: { type: 'string' },
  'tsa-policy': { type: 'string' },
  timestamps: { type: 'string', multiple: true },
} as const;

export const TSA_USAGE = `  --tsa-anchor <pem>   a PEM file of TSA root certificate(s) you trust. Repeatable.
                       Checks every RFC 3161 token (the ledger's, the --checkpoint
                       file's <file>.timestamps, --timestamps) against its note
  --tsa-signer <pem>   a PEM file of the TSA's own signing certificate(s): pins the
                       TSA, so a token counts only if signed by one of these (any
                       other TSA under the same root is refused). Repeatable.
                       Needs --tsa-anchor
  --tsa <mode>         best-effort (default): tokens checked and shown, a checkpoint
                       without one is reported; required: only a checkpoint with a
                       valid, timely token seals records
  --tsa-policy <oid>   the TSA policy OID every token must carry
  --timestamps <file>  a token file (sealog-timestamp/v1 lines). Repeatable
`;

type TsaValues = {
  'tsa-anchor'?: readonly string[] | undefined;
  'tsa-signer'?: readonly string[] | undefined;
  tsa?: string | undefined;
  'tsa-policy'?: string | undefined;
  timestamps?: readonly string[] | undefined;
};

/**
 * The TSA options for verifyLedger from the flags: anchors read from their
 * files, tokens from each `<checkpoint file>.timestamps` that exists and from
 * every --timestamps file (unparseable lines are counted on stderr).
 * @throws UsageError (a flag without --tsa-anchor, a bad mode, an anchor or
 *   signer file with no PEM certificate); SealogError E_IO (a file cannot be
 *   read). A signer that is not a timestamping certificate is E_CONFIG from verifyLedger.
 */
export function readTsaArgs(
  values: TsaValues,
  checkpointFiles: readonly string[],
  io: Io,
): Partial<VerifyOptions> {
  const files = values['tsa-anchor'] ?? [];
  if (files.length === 0) {
    const flag =
      values.tsa !== undefined
        ? '--tsa'
        : values['tsa-policy'] !== undefined
          ? '--tsa-policy'
          : values.timestamps
            ? '--timestamps'
            : values['tsa-signer']
              ? '--tsa-signer'
              : undefined;
    if (flag)
      throw new UsageError(
        `${flag} needs --tsa-anchor <pem file>: tokens are checked only under TSA roots you trust`,
      );
    return {};
  }
  const mode = values.tsa;
  if (mode !== undefined && mode !== 'best-effort' && mode !== 'required')
    throw new UsageError(`--tsa must be best-effort or required, got ${JSON.stringify(mode)}`);
  const anchors = readAnchorFiles(files);
  const tokens: NonNullable<VerifyOptions['trustedTimestamps']>[number][] = [];
  const read = (path: string) => {
    const { timestamps, malformed } = splitAnchorTimestamps(readInputFile(path, 'timestamp token file'));
    if (malformed > 0)
      io.err(`warning: ${path}: ${malformed} line(s) are not sealog-timestamp/v1 tokens; skipped\n`);
    tokens.push(...timestamps);
  };
  for (const cp of checkpointFiles) if (existsSync(anchorTimestampsPath(cp))) read(anchorTimestampsPath(cp));
  for (const path of values.timestamps ?? []) read(path);
  const out: Partial<VerifyOptions> = { tsaAnchors: anchors, trustedTimestamps: tokens };
  if (values['tsa-signer']) out.tsaSigners = readSignerFiles(values['tsa-signer']);
  if (mode !== undefined) out.tsa = mode;
  if (values['tsa-policy'] !== undefined) out.tsaPolicy = values['tsa-policy'];
  return out;
}

/**
 * The PEM text of each --tsa-anchor file.
 * @throws UsageError (a file with no PEM certificate); SealogError E_IO (unreadable).
 */
export function readAnchorFiles(files: readonly string[]): string[] {
  return readPemFiles(files, 'TSA anchor file');
}

/**
 * The PEM text of each --tsa-signer file: the TSA signing certificates to pin.
 * Whether each is a timestamping certificate is checked by core (E_CONFIG,
 * naming the certificate by its number in the order given and its subject).
 * @throws UsageError (a file with no PEM certificate); SealogError E_IO (unreadable).
 */
export function readSignerFiles(files: readonly string[]): string[] {
  return readPemFiles(files, 'TSA signer file');
}

function readPemFiles(files: readonly string[], what: string): string[] {
  return files.map((p) => {
    const pem = readInputFile(p, what);
    if (!pem.includes('-----BEGIN CERTIFICATE-----'))
      throw new UsageError(`${what} ${p} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    return pem;
  });
}

/** Most checkpoints listed one per line in the human report (newest first); --json lists more. */
const SHOWN = 10;

const iso = (ms: number) => new Date(ms).toISOString();

function checkpointLine(c: CheckpointResult): string {
  const name = c.id !== undefined ? `checkpoint ${c.id}` : 'given checkpoint';
  const log = c.time !== undefined ? `the log says ${iso(c.time * 1000)}` : 'the log time unchecked';
  const stamp =
    c.tsaTime !== undefined
      ? `${c.timestamped ? 'timestamped' : 'token, times disagree:'} by ${escapeTerminal(c.tsa ?? '?')} at ${iso(c.tsaTime)}, ${log}`
      : `untimestamped, ${log}`;
  return `  ${name} (size ${c.size}): ${stamp}\n`;
}

/** The TSA lines of the human report (empty without TSA anchors). */
export function formatTsa(r: VerifyReport): string {
  const t = r.tsa;
  if (!t) return '';
  const pinned = t.signers ? `, pinned to ${t.signers.map(escapeTerminal).join('; ')}` : '';
  let out = `timestamps (${t.mode}${t.policy ? `, policy ${t.policy}` : ''}${pinned}): ${t.timestamped} of ${t.checkpoints} valid checkpoint(s) timestamped; ${t.verified} of ${t.tokens} token(s) verified${t.unmatched > 0 ? `, ${t.unmatched} match no note` : ''}\n`;
  const valid = r.checkpoints.filter((c) => c.valid).sort((a, b) => (b.size ?? 0) - (a.size ?? 0));
  for (const c of valid.slice(0, SHOWN)) out += checkpointLine(c);
  // Counted over every checkpoint read: the report lists at most the last 10,000.
  const more =
    r.checkpointTotals.storedValid + r.checkpointTotals.trustedValid - Math.min(valid.length, SHOWN);
  if (more > 0) out += `  … and ${more} older (--json lists them)\n`;
  if (t.stampedAt !== undefined) {
    out += `  the first ${t.stampedSize} record(s) existed by ${iso(t.stampedAt)} (timestamped by ${escapeTerminal(t.stampedBy ?? '?')})\n`;
  }
  return out;
}
