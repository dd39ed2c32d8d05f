import { parseVerifierKey, SIG_TYPE_COSIGNATURE } from '@sealog/core';
import { intOption, UsageError } from './command.js';
import { readKeyList } from './inputs.js';

// --witness / --witness-file / --quorum for `sealog verify-bundle`, with the
// rules and messages of `sealog verify` (commands/verify.ts), so one witness
// policy reads the same on a ledger and on a bundle. The key-level checks
// (the log's own time key, one key under two names) are core's
// parseWitnessPolicy, which both commands reach.

export const WITNESS_OPTIONS = {
  witness: { type: 'string', multiple: true },
  'witness-file': { type: 'string', multiple: true },
  quorum: { type: 'string' },
} as const;

export const WITNESS_USAGE = `  --witness <vkey>     a trusted witness's verifier key (type 0x04, as printed by
                       \`sealog witness keygen\`). Repeatable
  --witness-file <path>
                       a file of witness verifier keys, one per line (# comments).
                       Repeatable; combines with --witness
  --quorum <n>         distinct witnesses that must have cosigned (default: all given)
`;

/**
 * The witness keys and quorum given, checked as `sealog verify` checks them.
 * @throws UsageError (not a witness key, --quorum without witnesses or out of
 *   1..n, witnesses without a log key); SealogError E_IO / E_KEY (a key file).
 */
export function readWitnessArgs(
  values: {
    witness?: readonly string[] | undefined;
    'witness-file'?: readonly string[] | undefined;
    quorum?: string | undefined;
  },
  logKeys: readonly string[],
): { witnesses: string[]; quorum?: number } {
  const witnesses = readKeyList(
    values.witness ?? [],
    values['witness-file'] ?? [],
    { flag: 'witness', fileFlag: 'witness-file', file: 'witness key file' },
    (k) =>
      k.type === SIG_TYPE_COSIGNATURE
        ? undefined
        : `${k.name} is a log signing key (type 0x01), not a witness key (type 0x04): give the key \`sealog witness keygen\` printed`,
  );
  if (witnesses.length > 0 && logKeys.length === 0) {
    throw new UsageError(
      "--witness counts cosignatures only on checkpoints signed by the log's key: give --key or --key-file too",
    );
  }
  if (values.quorum === undefined) return { witnesses };
  if (witnesses.length === 0) throw new UsageError('--quorum needs --witness or --witness-file');
  const quorum = intOption('quorum', values.quorum, 0);
  // The same key twice is one witness.
  const n = new Set(witnesses.map((k) => parseVerifierKey(k).vkey)).size;
  if (quorum < 1 || quorum > n)
    throw new UsageError(`--quorum must be from 1 to ${n} (the distinct witnesses given), got ${quorum}`);
  return { witnesses, quorum };
}
