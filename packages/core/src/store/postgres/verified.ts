import { SealogError } from '../../errors.js';
import type { VerifyReport } from '../../verify/types.js';
import { verifyLedger } from '../../verify/verify.js';

/**
 * Verifies a snapshot copy (snapshot.ts) with `keys`, as `sealog verify` would,
 * before a command that signs on a PostgreSQL ledger (prune, hold) changes it.
 * @param what what is not done when it fails, e.g. "prune removes nothing".
 * @throws SealogError E_TAMPER naming the first findings.
 */
export function requireVerified(
  snapPath: string,
  keys: readonly string[],
  display: string,
  what: string,
): VerifyReport {
  const report = verifyLedger(snapPath, { keys });
  if (report.ok) return report;
  const first = report.findings
    .filter((f) => f.kind !== 'unsealed' && f.kind !== 'expired')
    .slice(0, 3)
    .map((f) => `${f.kind}: ${f.message}`);
  throw new SealogError(
    'E_TAMPER',
    `${display} does not verify, so ${what} (${first.join('; ')}); run sealog verify ${display} --key-file <vkeys>`,
  );
}
