import { SealogError } from '../errors.js';
import { sha256 } from '../hash.js';
import type { Cert } from './certs.js';
import { checkPinned, checkTsaCertificate, readTsaSignersWith } from './chain.js';
import { checkContentBinding, soleSigner } from './cms.js';
import { identifySigner } from './ess.js';
import {
  checkImprint,
  finishVerdict,
  readTimestampPolicy,
  type TimestampPolicy,
  type VerifiedTimestamp,
  type VerifyTimestampOptions,
} from './judge.js';
import { openToken } from './token.js';
import { readWebCert, readWebTrustAnchors, webChainToAnchor, webCheckSignature } from './web-cert.js';

// RFC 3161 verification for the browser verifier (packages/web-verifier),
// where node:crypto does not exist: pkijs reads the token and certificates,
// WebCrypto checks signatures. It makes the same judgement, in the same order
// and with the same messages, as verifyTimestampToken (verify.ts), reusing its
// parsers and the checks that need no key (token.ts, cms.ts content binding,
// ess.ts ESSCertID/ESSCertIDv2, chain.ts EKU); only certificate reading, the
// chain walk and signature checks are redone here (web-cert.ts). Nothing here
// imports node:* itself; the shared modules' node:crypto imports resolve to
// the page's shim (SHA-1/256/384/512 from @noble/hashes), and run natively
// under Node, where test/timestamp/verify-web.test.ts compares both paths.

/** Checked options: anchors (and pinned signers) read once for many tokens. */
export type WebTimestampPolicy = TimestampPolicy;

/**
 * Checks the options as verifyTimestampToken does (same E_CONFIG messages).
 * @throws SealogError E_CONFIG.
 */
export function webTimestampPolicy(options: VerifyTimestampOptions): WebTimestampPolicy {
  return readTimestampPolicy(options, readWebTrustAnchors, readWebTsaSigners);
}

/**
 * readTsaSigners (chain.ts) without node:crypto: the pinned TSA signing
 * certificates, each a timestamping certificate (RFC 3161 §2.3). Same messages.
 * @throws SealogError E_CONFIG.
 */
export function readWebTsaSigners(pems: string | readonly string[]): Cert[] {
  return readTsaSignersWith(pems, readWebCert);
}

/**
 * verifyTimestampToken (verify.ts) for the browser: the same nine checks in
 * the same order, with the same errors, for the note whose SHA-256 is
 * `expected` (the imprint: see timestampImprint).
 * @throws SealogError E_FORMAT (malformed token, or a key this browser cannot
 *   use), E_TAMPER (a check failed; the message names which).
 */
export async function verifyTimestampImprintWeb(
  tokenDer: Uint8Array,
  expected: Uint8Array,
  options: WebTimestampPolicy,
): Promise<VerifiedTimestamp> {
  // Tokens are attacker input: whatever a hole in the checks lets through becomes E_FORMAT, as in verify.ts.
  try {
    return await verifyWebUnguarded(tokenDer, expected, options);
  } catch (err) {
    if (err instanceof SealogError) throw err;
    throw new SealogError('E_FORMAT', 'timestamp token is malformed', { cause: err });
  }
}

async function verifyWebUnguarded(
  tokenDer: Uint8Array,
  expected: Uint8Array,
  options: WebTimestampPolicy,
): Promise<VerifiedTimestamp> {
  const { anchors, pinned } = options;
  const token = openToken(tokenDer);
  checkImprint(token.info, expected);
  const signer = soleSigner(token.signedData);
  checkContentBinding(signer, token.content);
  const pool = token.certificates.map((der, i) => readWebCert(der, `token certificate ${i + 1}`));
  const tsaCert = identifySigner(signer, [...pool, ...anchors, ...(pinned ?? [])]);
  await webCheckSignature(signer, tsaCert);
  checkTsaCertificate(tsaCert);
  await webChainToAnchor(tsaCert, pool, anchors, token.info.genTime);
  if (pinned) checkPinned(tsaCert, pinned);
  return finishVerdict(token.info, tsaCert, options);
}

/**
 * verifyTimestampToken (verify.ts) in the browser: the token over the exact
 * bytes of a note, under the given TSA anchors.
 * @throws SealogError E_CONFIG (options), E_FORMAT, E_TAMPER.
 */
export async function verifyTimestampTokenWeb(
  tokenDer: Uint8Array,
  imprintInput: Uint8Array,
  options: VerifyTimestampOptions,
): Promise<VerifiedTimestamp> {
  const checked = webTimestampPolicy(options);
  if (!(imprintInput instanceof Uint8Array))
    throw new SealogError(
      'E_CONFIG',
      'the bytes to timestamp must be a Uint8Array (the signed note as stored)',
    );
  return verifyTimestampImprintWeb(tokenDer, sha256(imprintInput), checked);
}
