import type { Finding } from './types.js';

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
  /** Records covered by the newest valid checkpoint signed by a trusted key. */
  sealed: number;
  trust: 'keys' | 'chain-only';
  /** The caller asked for a chain-only check on purpose. */
  chainOnly: boolean;
  maxUnsealed: number;
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
  if (s.rows > 0 && s.sealed === 0) {
    return [
      {
        finding: {
          kind: 'no-checkpoint',
          seq: 0,
          message: `no checkpoint signed by a trusted key covers any of the ${s.rows} record(s): nothing proves they are what was written`,
        },
        fails: true,
      },
    ];
  }
  const unsealed = Math.max(0, s.rows - s.sealed);
  if (unsealed === 0) return [];
  const over = unsealed > s.maxUnsealed;
  const message = over
    ? `the last ${unsealed} record(s) (from row ${s.sealed} on) are not covered by any valid checkpoint; the policy allows ${s.maxUnsealed} (--max-unsealed)`
    : `the last ${unsealed} record(s) (from row ${s.sealed} on) are chained but not yet covered by a checkpoint; within the policy of ${s.maxUnsealed} (--max-unsealed)`;
  return [{ finding: { kind: 'unsealed', seq: s.sealed, message }, fails: over }];
}
