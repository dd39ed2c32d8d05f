import { readTrustAnchors } from '../timestamp/certs.js';
import { readTsaSigners } from '../timestamp/chain.js';
import { verifyTimestampToken } from '../timestamp/verify.js';
import type { BundleShape } from './parse.js';
import type { BundleReport } from './verify.js';
import {
  BundleTimestampCheck,
  type BundleTsaOptions,
  checkTsaModeAndPolicy,
} from './verify-timestamps-core.js';

// The RFC 3161 tokens a bundle carries (docs/evidence.md, docs/verify.md §1.5),
// checked on Node only: X.509 chain validation needs node:crypto, which the
// browser verifier has no equivalent of, so verifyBundle (shared with the web
// page) stays as it is and this runs after it in verifyBundlePath. What a token
// adds to the report is shared with the page (verify-timestamps-core.ts).

export type { BundleTsaOptions };

/**
 * Checks the TSA options before anything is read.
 * @throws SealogError E_CONFIG (no PEM certificate, a pinned signer that is
 *   not a timestamping certificate, a bad mode or policy).
 */
export function checkBundleTsaOptions(o: BundleTsaOptions): void {
  readTrustAnchors(typeof o.tsaAnchors === 'string' ? [o.tsaAnchors] : [...o.tsaAnchors]);
  if (o.tsaSigners !== undefined) readTsaSigners(o.tsaSigners);
  checkTsaModeAndPolicy(o);
}

/**
 * Verifies every token of `shape.timestamps` against the note its imprint
 * names (the checkpoint or an anchor note) under the given anchors, and adds
 * `timestamps` to the report. A token that does not verify is a problem; under
 * `required`, so is a bundle checkpoint without a valid, timely token. Never
 * throws on bundle contents.
 */
export function checkBundleTimestamps(shape: BundleShape, report: BundleReport, o: BundleTsaOptions): void {
  const check = new BundleTimestampCheck(shape, report, o);
  for (const s of check.stamped()) {
    try {
      const v = verifyTimestampToken(s.token, new TextEncoder().encode(s.note), {
        trustAnchors: o.tsaAnchors,
        ...(o.tsaSigners !== undefined ? { signers: o.tsaSigners } : {}),
        ...(o.tsaPolicy !== undefined ? { policy: o.tsaPolicy } : {}),
      });
      check.verified(s, v);
    } catch (err) {
      check.failed(s, err);
    }
  }
  check.finish();
}
