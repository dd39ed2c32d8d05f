import {
  readWebTsaSigners,
  verifyTimestampImprintWeb,
  type WebTimestampPolicy,
} from '../timestamp/verify-web.js';
import { readWebTrustAnchors } from '../timestamp/web-cert.js';
import type { BundleShape } from './parse.js';
import type { BundleReport } from './verify.js';
import {
  BundleTimestampCheck,
  type BundleTsaOptions,
  checkTsaModeAndPolicy,
} from './verify-timestamps-core.js';

/**
 * Checks the TSA options as checkBundleTsaOptions does (same messages), and
 * reads the anchors and pinned signers once.
 * @throws SealogError E_CONFIG.
 */
export function webBundleTsaPolicy(o: BundleTsaOptions): WebTimestampPolicy {
  const policy: WebTimestampPolicy = {
    anchors: readWebTrustAnchors(typeof o.tsaAnchors === 'string' ? [o.tsaAnchors] : [...o.tsaAnchors]),
    now: new Date(),
  };
  if (o.tsaSigners !== undefined) policy.pinned = readWebTsaSigners(o.tsaSigners);
  checkTsaModeAndPolicy(o);
  if (o.tsaPolicy !== undefined) policy.policy = o.tsaPolicy;
  return policy;
}

/**
 * Verifies every token of `shape.timestamps` against the note its imprint
 * names (the checkpoint or an anchor note) and adds `timestamps` to the
 * report, exactly as checkBundleTimestamps does on Node (the same
 * BundleTimestampCheck). Never throws on bundle contents.
 * @throws SealogError E_CONFIG for bad options (before any token is read).
 */
export async function checkBundleTimestampsWeb(
  shape: BundleShape,
  report: BundleReport,
  o: BundleTsaOptions,
): Promise<void> {
  const policy = webBundleTsaPolicy(o);
  const check = new BundleTimestampCheck(shape, report, o);
  for (const s of check.stamped()) {
    try {
      check.verified(s, await verifyTimestampImprintWeb(s.token, s.noteSha256, policy));
    } catch (err) {
      check.failed(s, err);
    }
  }
  check.finish();
}
