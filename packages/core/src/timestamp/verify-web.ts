import { isSealogError, SealogError } from '../errors.js';
import { sha256 } from '../hash.js';
import type { Cert } from './certs.js';
import { checkTsaCertificate, MAX_TSA_SIGNERS } from './chain.js';
import { checkContentBinding, soleSigner } from './cms.js';
import { hex, sameBytes, tamperError } from './der.js';
import { identifySigner } from './ess.js';
import { isOid, OID_SHA256 } from './oids.js';
import { openToken } from './token.js';
import { MAX_FUTURE_SKEW_MS, type VerifiedTimestamp, type VerifyTimestampOptions } from './verify.js';
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
export interface WebTimestampPolicy {
  anchors: Cert[];
  pinned?: Cert[];
  policy?: string;
  now: Date;
}

/**
 * Checks the options as verifyTimestampToken does (same E_CONFIG messages).
 * @throws SealogError E_CONFIG.
 */
export function webTimestampPolicy(options: VerifyTimestampOptions): WebTimestampPolicy {
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
  const checked: WebTimestampPolicy = { anchors: readWebTrustAnchors(options.trustAnchors), now };
  if (options.signers !== undefined) checked.pinned = readWebTsaSigners(options.signers);
  if (options.policy !== undefined) checked.policy = options.policy;
  return checked;
}

/**
 * readTsaSigners (chain.ts) without node:crypto: the pinned TSA signing
 * certificates, each a timestamping certificate (RFC 3161 §2.3). Same messages.
 * @throws SealogError E_CONFIG.
 */
export function readWebTsaSigners(pems: string | readonly string[]): Cert[] {
  const list = typeof pems === 'string' ? [pems] : pems;
  if (!Array.isArray(list) || list.some((p) => typeof p !== 'string')) {
    throw new SealogError(
      'E_CONFIG',
      'TSA signers must be PEM certificate text (a string or an array of strings)',
    );
  }
  const blocks = list.flatMap(
    (p) => p.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [],
  );
  if (blocks.length === 0) {
    throw new SealogError(
      'E_CONFIG',
      "no TSA signer certificate given: pass the TSA's own signing certificate(s) as PEM (-----BEGIN CERTIFICATE-----)",
    );
  }
  if (blocks.length > MAX_TSA_SIGNERS)
    throw new SealogError('E_CONFIG', `more than ${MAX_TSA_SIGNERS} TSA signer certificates`);
  return blocks.map((pem, i) => {
    let cert: Cert;
    try {
      const body = pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');
      cert = readWebCert(new Uint8Array(Buffer.from(body, 'base64')), `TSA signer certificate ${i + 1}`);
    } catch (err) {
      throw new SealogError(
        'E_CONFIG',
        `TSA signer certificate ${i + 1} is not a readable X.509 certificate`,
        {
          cause: err,
        },
      );
    }
    try {
      checkTsaCertificate(cert);
    } catch (err) {
      if (!isSealogError(err)) throw err;
      throw new SealogError(
        'E_CONFIG',
        `TSA signer certificate ${i + 1} (${cert.subject}) is not a timestamping certificate, so no token can be signed by it: ${err.message}`,
        { cause: err },
      );
    }
    return cert;
  });
}

/** "AB:CD:…": a certificate's SHA-256 fingerprint as node:crypto's X509Certificate.fingerprint256 writes it. */
function fingerprint256(der: Uint8Array): string {
  return (hex(sha256(der)).toUpperCase().match(/../g) ?? []).join(':');
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
  const pool = token.certificates.map((der, i) => readWebCert(der, `token certificate ${i + 1}`));
  const tsaCert = identifySigner(signer, [...pool, ...anchors, ...(pinned ?? [])]);
  await webCheckSignature(signer, tsaCert);
  checkTsaCertificate(tsaCert);
  await webChainToAnchor(tsaCert, pool, anchors, info.genTime);
  if (pinned && !pinned.some((p) => sameBytes(p.der, tsaCert.der))) {
    throw tamperError(
      `not pinned: the token is signed by ${tsaCert.subject} (serial number 0x${hex(tsaCert.serial)}, SHA-256 fingerprint ${fingerprint256(tsaCert.der)}), which is not one of the ${pinned.length} pinned TSA signer certificate(s)`,
    );
  }
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
