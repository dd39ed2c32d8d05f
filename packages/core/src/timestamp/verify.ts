import { readCert, readTrustAnchors } from './certs.js';
import { chainToAnchor, checkPinned, checkTsaCertificate, readTsaSigners } from './chain.js';
import { checkContentBinding, checkSignature, soleSigner } from './cms.js';
import { guard } from './der.js';
import { identifySigner } from './ess.js';
import {
  checkImprint,
  finishVerdict,
  readTimestampPolicy,
  type TimestampPolicy,
  type VerifiedTimestamp,
  type VerifyTimestampOptions,
} from './judge.js';
import { timestampImprint } from './request.js';
import { openToken } from './token.js';

export { MAX_FUTURE_SKEW_MS, type VerifiedTimestamp, type VerifyTimestampOptions } from './judge.js';

function checkOptions(options: VerifyTimestampOptions): TimestampPolicy {
  return readTimestampPolicy(options, readTrustAnchors, readTsaSigners);
}

/**
 * Verifies an RFC 3161 timestamp token offline for `imprintInput` (the signed
 * note as stored; see {@link timestampImprint}). In order:
 * 1. the token parses (≤ 64 KiB): SignedData with one signer, eContentType id-ct-TSTInfo;
 * 2. TSTInfo messageImprint is SHA-256 (by OID) of `imprintInput` — "imprint mismatch";
 * 3. content-type and messageDigest signed attributes match the TSTInfo (RFC 5652 §11);
 * 4. the signer certificate is the one named by ESSCertIDv2/ESSCertID (RFC 5816 §2.2.1,
 *    RFC 3161 §2.4.2) and by the SignerInfo sid — "signing certificate mismatch";
 * 5. the CMS signature verifies under that certificate (node:crypto) — "bad signature";
 * 6. the certificate carries exactly id-kp-timeStamping in a critical EKU (RFC 3161 §2.3) — "bad EKU";
 * 7. it chains to one of `trustAnchors`, every certificate valid at genTime — "untrusted chain";
 * 8. with `signers`, that certificate is one of them, byte for byte — "not pinned";
 * 9. genTime is not in the future of `now`; the policy matches when one is required.
 * Revocation is not checked (offline).
 * @throws SealogError E_CONFIG (options), E_FORMAT (malformed token),
 *   E_TAMPER (a check failed; the message names which).
 */
export function verifyTimestampToken(
  tokenDer: Uint8Array,
  imprintInput: Uint8Array,
  options: VerifyTimestampOptions,
): VerifiedTimestamp {
  const checked = checkOptions(options); // E_CONFIG before the input is hashed
  return verifyChecked(tokenDer, timestampImprint(imprintInput), checked);
}

/**
 * {@link verifyTimestampToken} for a note known only by its imprint
 * (SHA-256 of its bytes), so a verifier matching many notes need not keep
 * their bytes (red-team review F5). Same checks, same errors.
 */
export function verifyTimestampImprint(
  tokenDer: Uint8Array,
  expected: Uint8Array,
  options: VerifyTimestampOptions,
): VerifiedTimestamp {
  return verifyChecked(tokenDer, expected, checkOptions(options));
}

function verifyChecked(
  tokenDer: Uint8Array,
  expected: Uint8Array,
  options: TimestampPolicy,
): VerifiedTimestamp {
  // Tokens are attacker input: whatever a hole in the checks below lets through becomes E_FORMAT.
  return guard('timestamp token', () => verifyUnguarded(tokenDer, expected, options));
}

// The steps in the order of the list above; verify-web.ts walks the same
// order with WebCrypto for steps 5 and 7 (judge.ts holds what both share).
function verifyUnguarded(
  tokenDer: Uint8Array,
  expected: Uint8Array,
  options: TimestampPolicy,
): VerifiedTimestamp {
  const { anchors, pinned } = options;
  const token = openToken(tokenDer);
  checkImprint(token.info, expected);
  const signer = soleSigner(token.signedData);
  checkContentBinding(signer, token.content);
  const pool = token.certificates.map((der, i) => readCert(der, `token certificate ${i + 1}`));
  // A pinned certificate may be the one the ESSCertID names when the token carries none.
  const tsaCert = identifySigner(signer, [...pool, ...anchors, ...(pinned ?? [])]);
  checkSignature(signer, tsaCert);
  checkTsaCertificate(tsaCert);
  chainToAnchor(tsaCert, pool, anchors, token.info.genTime);
  if (pinned) checkPinned(tsaCert, pinned);
  return finishVerdict(token.info, tsaCert, options);
}
