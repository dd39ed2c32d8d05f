import { SealogError } from '../errors.js';
import type { Cert } from './certs.js';
import { hex, sameBytes, tamperError } from './der.js';
import { isOid, OID_SHA256 } from './oids.js';
import type { TimestampInfo } from './token.js';

// The parts of the nine-step RFC 3161 check that need no key, shared by the
// node:crypto path (verify.ts) and the browser's WebCrypto path
// (verify-web.ts), so both make one judgement with one set of messages. Only
// certificate reading, the chain walk and the signature check differ.

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

/** Checked options: anchors (and pinned signers) read once for many tokens. */
export interface TimestampPolicy {
  anchors: Cert[];
  pinned?: Cert[];
  policy?: string;
  now: Date;
}

/**
 * Checks the options and reads the certificates they name with the given
 * readers (node:crypto or pkijs).
 * @throws SealogError E_CONFIG.
 */
export function readTimestampPolicy(
  options: VerifyTimestampOptions,
  readAnchors: (pems: string | readonly string[]) => Cert[],
  readSigners: (pems: string | readonly string[]) => Cert[],
): TimestampPolicy {
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
  const checked: TimestampPolicy = { anchors: readAnchors(options.trustAnchors), now };
  if (options.signers !== undefined) checked.pinned = readSigners(options.signers);
  if (options.policy !== undefined) checked.policy = options.policy;
  return checked;
}

/**
 * Steps 1–2: the token imprints with SHA-256 (by OID) and its imprint is `expected`.
 * @throws SealogError E_TAMPER "imprint mismatch: …".
 */
export function checkImprint(info: TimestampInfo, expected: Uint8Array): void {
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
}

/**
 * Step 9 and the verdict: genTime not in the future of the verifier's clock,
 * the policy as required; what the token then proves.
 * @throws SealogError E_TAMPER.
 */
export function finishVerdict(
  info: TimestampInfo,
  tsaCert: Cert,
  options: TimestampPolicy,
): VerifiedTimestamp {
  if (info.genTime.getTime() > options.now.getTime() + MAX_FUTURE_SKEW_MS) {
    throw tamperError(
      `genTime ${info.genTime.toISOString()} is in the future of ${options.now.toISOString()}`,
    );
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
