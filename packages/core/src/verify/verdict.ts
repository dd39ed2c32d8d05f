import type { Finding, WitnessSummary } from './types.js';

// Issue 14, finding 4: "OK: intact" must mean what it says. A chain anyone
// can recompute proves nothing against someone who can write the file; only
// a checkpoint signed by a key the verifier trusts does, and only for the
// records it covers. So the verdict names what is not covered, and the
// verifier (never the file) states how much unsealed tail it tolerates.

/** A finding and whether it fails the verification. */
export interface Judged {
  finding: Finding;
  fails: boolean;
}

export interface SealingInput {
  /** Record rows read. */
  rows: number;
  /** Records covered by the newest valid checkpoint signed by a trusted key (and witnessed, under a witness policy). */
  sealed: number;
  trust: 'keys' | 'chain-only';
  /** The caller asked for a chain-only check on purpose. */
  chainOnly: boolean;
  maxUnsealed: number;
  /** The witness policy's outcome, when witnesses were given. */
  witness?: Pick<WitnessSummary, 'quorum' | 'witnesses' | 'logSealed'>;
  /** Under `tsa: 'required'`: what the checkpoints would seal without the TSA requirement. */
  tsaRequired?: { logSealed: number };
}

const TSA_TEXT =
  'carries a valid RFC 3161 timestamp token from a TSA under the given anchors (--tsa required)';

function policyText(w: NonNullable<SealingInput['witness']>): string {
  return `${w.quorum} of the ${w.witnesses.length} given witness${w.witnesses.length === 1 ? '' : 'es'}`;
}

/** What the signed checkpoints do not cover, judged against the policy. */
export function sealingFindings(s: SealingInput): Judged[] {
  if (s.trust === 'chain-only') {
    return [
      {
        finding: {
          kind: 'no-trusted-key',
          message:
            'no trusted verifier key was given: only the hash chain and ledger_state were checked, which anyone who can write the file can recompute; give --key or --key-file to check the signed checkpoints',
        },
        fails: !s.chainOnly,
      },
    ];
  }
  const w = s.witness;
  // Records that the log key's checkpoints cover but no witnessed one does.
  const awaiting = w ? Math.max(0, Math.min(w.logSealed, s.rows) - s.sealed) : 0;
  const t = s.tsaRequired;
  // Records that the other policies seal but no timestamped checkpoint does.
  const awaitingTsa = t ? Math.max(0, Math.min(t.logSealed, s.rows) - s.sealed) : 0;
  if (t && s.rows > 0 && s.sealed === 0) {
    const which = w ? `signed by a trusted key and cosigned by ${policyText(w)}` : 'signed by a trusted key';
    const message =
      awaitingTsa > 0
        ? `no checkpoint ${which} that also ${TSA_TEXT} covers any of the ${s.rows} record(s): checkpoints cover ${awaitingTsa} of them but await a trusted timestamp`
        : `no checkpoint ${which} that also ${TSA_TEXT} covers any of the ${s.rows} record(s): nothing proves they are what was written`;
    return [{ finding: { kind: 'no-checkpoint', seq: 0, message }, fails: true }];
  }
  if (s.rows > 0 && s.sealed === 0) {
    const message =
      w && awaiting > 0
        ? `no checkpoint cosigned by ${policyText(w)} (--witness, --quorum) covers any of the ${s.rows} record(s): checkpoints signed by the log key cover ${awaiting} of them but await witness cosignatures, and the log key alone proves nothing against whoever holds it`
        : `no checkpoint signed by a trusted key${w ? ` and cosigned by ${policyText(w)} (--witness, --quorum)` : ''} covers any of the ${s.rows} record(s): nothing proves they are what was written`;
    return [{ finding: { kind: 'no-checkpoint', seq: 0, message }, fails: true }];
  }
  const unsealed = Math.max(0, s.rows - s.sealed);
  if (unsealed === 0) return [];
  const over = unsealed > s.maxUnsealed;
  const tail = `the last ${unsealed} record(s) (from row ${s.sealed} on)`;
  const what =
    t && awaitingTsa > 0
      ? `${tail} are not covered by a timestamped checkpoint: ${awaitingTsa === unsealed ? 'they' : `${awaitingTsa} of them`} await a trusted timestamp (--tsa required)`
      : w && awaiting > 0
        ? `${tail} are not covered by a witnessed checkpoint: ${awaiting === unsealed ? 'they are' : `${awaiting} of them are`} covered only by checkpoints awaiting witness cosignatures (quorum: ${policyText(w)})`
        : over
          ? `${tail} are not covered by any valid checkpoint`
          : `${tail} are chained but not yet covered by a checkpoint`;
  const message = over
    ? `${what}; the policy allows ${s.maxUnsealed} (--max-unsealed)`
    : `${what}; within the policy of ${s.maxUnsealed} (--max-unsealed)`;
  return [{ finding: { kind: 'unsealed', seq: s.sealed, message }, fails: over }];
}
