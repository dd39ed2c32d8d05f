import { SealogError } from '../errors.js';
import { type Cert, readCert, readTrustAnchors } from './certs.js';
import { chainToAnchor, checkPinned, checkTsaCertificate, readTsaSigners } from './chain.js';
import { checkContentBinding, checkSignature, soleSigner } from './cms.js';
import { guard, hex, sameBytes, tamperError } from './der.js';
import { identifySigner } from './ess.js';
import { isOid, OID_SHA256 } from './oids.js';
import { timestampImprint } from './request.js';
import { openToken } from './token.js';

/** How far genTime may lie ahead of the verifier's clock (clock skew between TSA and verifier). */
export const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000;

export interface VerifyTimestampOptions {
  /** PEM text of the TSA root CA(s) — or of the TSA certificate itself — the verifier trusts. */
  trustAnchors: string | readonly string[];
  /**
   * PEM text of the TSA signing certificate(s) the verifier pins. When given,
   * a token counts only if the certificate that signed it (named by its
   * ESSCertID/ESSCertIDv2, and the one the chain was built from) is
   * byte-equal to one of them; each must be a timestamping certificate.
   * The chain to `trustAnchors` is still required. Default: any TSA under the anchors.
   */
  signers?: string | readonly string[];
  /** When set, the token's TSA policy OID must equal it. */
  policy?: string;
  /** The verifier's clock (default: now); a genTime more than 5 minutes after it is refused. */
  now?: Date;
}

/** What a verified token proves: the TSA `tsa` saw the imprint at `genTime` (± accuracy). */
export interface VerifiedTimestamp {
  genTime: Date;
  /** TSTInfo accuracy in ms, when stated. */
  accuracyMs?: number;
  policy: string;
  /** TSTInfo serialNumber, lower-case hex. */
  serialNumber: string;
  /** Subject of the TSA certificate that signed, e.g. "CN=…, O=…". */
  tsa: string;
}

interface Checked {
  anchors: Cert[];
  pinned?: Cert[];
  now: Date;
  policy?: string;
}

function checkOptions(options: VerifyTimestampOptions): Checked {
  if (!options || typeof options !== 'object')
    throw new SealogError('E_CONFIG', 'verifyTimestampToken needs { trustAnchors }');
  if (options.policy !== undefined && !isOid(options.policy)) {
    throw new SealogError(
      'E_CONFIG',
      `timestamp policy ${JSON.stringify(options.policy)} is not a dotted OID`,
    );
  }
  const now = options.now ?? new Date();
  if (!(now instanceof Date) || Number.isNaN(now.getTime()))
    throw new SealogError('E_CONFIG', 'now must be a valid Date');
  const checked: Checked = { anchors: readTrustAnchors(options.trustAnchors), now };
  if (options.signers !== undefined) checked.pinned = readTsaSigners(options.signers);
  if (options.policy !== undefined) checked.policy = options.policy;
  return checked;
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

function verifyChecked(tokenDer: Uint8Array, expected: Uint8Array, options: Checked): VerifiedTimestamp {
  // Tokens are attacker input: whatever a hole in the checks below lets through becomes E_FORMAT.
  return guard('timestamp token', () => verifyUnguarded(tokenDer, expected, options));
}

function verifyUnguarded(tokenDer: Uint8Array, expected: Uint8Array, options: Checked): VerifiedTimestamp {
  const { anchors, pinned, now } = options;
  const token = openToken(tokenDer);
  const { info } = token;

  if (info.hashAlgorithm !== OID_SHA256) {
    throw tamperError(
      `imprint mismatch: the token hashes with ${info.hashAlgorithm}, sealog imprints are SHA-256`,
    );
  }
  if (!sameBytes(info.imprint, expected)) {
    throw tamperError(
      `imprint mismatch: the token is for other bytes than this note (token ${hex(info.imprint).slice(0, 16)}…, note ${hex(expected).slice(0, 16)}…)`,
    );
  }

  const signer = soleSigner(token.signedData);
  checkContentBinding(signer, token.content);
  const pool = token.certificates.map((der, i) => readCert(der, `token certificate ${i + 1}`));
  // A pinned certificate may be the one the ESSCertID names when the token carries none.
  const tsaCert = identifySigner(signer, [...pool, ...anchors, ...(pinned ?? [])]);
  checkSignature(signer, tsaCert);
  checkTsaCertificate(tsaCert);
  chainToAnchor(tsaCert, pool, anchors, info.genTime);
  if (pinned) checkPinned(tsaCert, pinned);

  if (info.genTime.getTime() > now.getTime() + MAX_FUTURE_SKEW_MS) {
    throw tamperError(`genTime ${info.genTime.toISOString()} is in the future of ${now.toISOString()}`);
  }
  if (options.policy !== undefined && info.policy !== options.policy) {
    throw tamperError(`policy mismatch: the token is under ${info.policy}, required ${options.policy}`);
  }
  const result: VerifiedTimestamp = {
    genTime: info.genTime,
    policy: info.policy,
    serialNumber: info.serialNumber,
    tsa: tsaCert.subject,
  };
  if (info.accuracyMs !== undefined) result.accuracyMs = info.accuracyMs;
  return result;
}
