import { isSealogError, SealogError } from '../errors.js';
import { sha256 } from '../hash.js';
import {
  type Cert,
  extendedKeyUsage,
  KU_DIGITAL_SIGNATURE,
  KU_KEY_CERT_SIGN,
  KU_NON_REPUDIATION,
  keyUsage,
  readCert,
  unknownCriticalExtension,
  validAt,
} from './certs.js';
import { hex, sameBytes, tamperError } from './der.js';
import { OID_KP_TIME_STAMPING } from './oids.js';

/** Longest chain walked from the TSA certificate to an anchor (TSA, intermediates, root). */
export const MAX_CHAIN_DEPTH = 6;

/**
 * RFC 3161 §2.3: the TSA certificate "MUST contain only one instance of the
 * extended key usage field extension … with KeyPurposeID having value:
 * id-kp-timeStamping. This extension MUST be critical." keyUsage, when present,
 * must allow digitalSignature or nonRepudiation (RFC 5280 §4.2.1.3).
 * @throws SealogError E_TAMPER "bad EKU" / "bad key usage".
 */
export function checkTsaCertificate(cert: Cert): void {
  const eku = extendedKeyUsage(cert);
  if (!eku)
    throw tamperError(`bad EKU: TSA certificate ${cert.subject} has no extendedKeyUsage (RFC 3161 §2.3)`);
  if (!eku.critical)
    throw tamperError(`bad EKU: the extendedKeyUsage of ${cert.subject} is not critical (RFC 3161 §2.3)`);
  if (eku.purposes.length !== 1 || eku.purposes[0] !== OID_KP_TIME_STAMPING) {
    throw tamperError(
      `bad EKU: ${cert.subject} has extendedKeyUsage ${eku.purposes.join(', ') || '(empty)'}, expected id-kp-timeStamping alone (RFC 3161 §2.3)`,
    );
  }
  const ku = keyUsage(cert);
  if (ku !== undefined && (ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) === 0) {
    throw tamperError(
      `bad key usage: ${cert.subject} may not sign (keyUsage lacks digitalSignature/nonRepudiation)`,
    );
  }
}

function checkUsable(cert: Cert, at: Date, role: string): void {
  if (!validAt(cert, at)) {
    throw tamperError(
      `untrusted chain: ${role} ${cert.subject} was not valid at genTime ${at.toISOString()} (valid ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()})`,
    );
  }
  const unknown = unknownCriticalExtension(cert);
  if (unknown)
    throw tamperError(
      `untrusted chain: ${role} ${cert.subject} has critical extension ${unknown}, which is not processed (RFC 5280 §4.2)`,
    );
}

/** True when `issuer` issued `child`: names and key identifiers match, and its key verifies the child's signature. */
function issued(issuer: Cert, child: Cert): boolean {
  try {
    return child.x509.checkIssued(issuer.x509) && child.x509.verify(issuer.x509.publicKey);
  } catch {
    return false;
  }
}

/**
 * Builds a path from the TSA certificate to one of `anchors`, with the
 * token's other certificates as possible intermediates, every certificate
 * valid at `genTime` (the token is judged at the time it claims; revocation
 * is not checked offline). A trust anchor may be the TSA certificate itself.
 * Intermediates must be CAs (basicConstraints cA, keyCertSign when keyUsage
 * is present). Attacker's options: the token's certificate set — a swapped,
 * self-signed or look-alike certificate never reaches an anchor.
 * @throws SealogError E_TAMPER "untrusted chain: …".
 */
export function chainToAnchor(
  tsa: Cert,
  pool: readonly Cert[],
  anchors: readonly Cert[],
  genTime: Date,
): Cert[] {
  const path = [tsa];
  checkUsable(tsa, genTime, 'TSA certificate');
  let cur = tsa;
  for (let depth = 0; depth < MAX_CHAIN_DEPTH; depth++) {
    if (anchors.some((a) => sameBytes(a.der, cur.der))) return path;
    const anchor = anchors.find((a) => issued(a, cur));
    if (anchor) {
      checkUsable(anchor, genTime, 'trust anchor');
      path.push(anchor);
      return path;
    }
    const next = pool.find(
      (c) =>
        !path.includes(c) &&
        c.x509.ca &&
        ((keyUsage(c) ?? KU_KEY_CERT_SIGN) & KU_KEY_CERT_SIGN) !== 0 &&
        issued(c, cur),
    );
    if (!next) {
      throw tamperError(
        `untrusted chain: ${cur.subject} (issuer ${(cur.x509.issuer ?? '').replaceAll('\n', ', ').slice(0, 200)}) does not chain to a given trust anchor`,
      );
    }
    checkUsable(next, genTime, 'intermediate CA');
    path.push(next);
    cur = next;
  }
  throw tamperError(
    `untrusted chain: no trust anchor within ${MAX_CHAIN_DEPTH} certificates of ${tsa.subject}`,
  );
}

/** Most pinned TSA signer certificates accepted in one call (configuration, but still bounded). */
export const MAX_TSA_SIGNERS = 64;

/**
 * The pinned TSA signing certificates, each a timestamping certificate (RFC 3161 §2.3),
 * read by `read` (node:crypto here, pkijs in the browser: web-cert.ts). Same messages on both.
 * @throws SealogError E_CONFIG.
 */
export function readTsaSignersWith(
  pems: string | readonly string[],
  read: (der: Uint8Array, label: string) => Cert,
): Cert[] {
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
      cert = read(new Uint8Array(Buffer.from(body, 'base64')), `TSA signer certificate ${i + 1}`);
    } catch (err) {
      throw new SealogError(
        'E_CONFIG',
        `TSA signer certificate ${i + 1} is not a readable X.509 certificate`,
        { cause: err },
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

/**
 * Parses the TSA signing certificates a verifier pins: PEM text (one or more
 * CERTIFICATE blocks per string). Each must be a TSA certificate by RFC 3161
 * §2.3 (critical EKU of id-kp-timeStamping alone), so a CA or a TLS
 * certificate given by mistake is refused rather than silently matching nothing.
 * @throws SealogError E_CONFIG naming the certificate (its number in the
 *   order given and, once it parses, its subject).
 */
export function readTsaSigners(pems: string | readonly string[]): Cert[] {
  return readTsaSignersWith(pems, readCert);
}

/**
 * Pinning (docs/timestamps.md §4): the certificate that signed the token (the
 * one its ESSCertID(v2) names and the chain was built from) must be
 * byte-equal to one of `pinned`. A chain to a public root alone would accept
 * every TSA that root certified.
 * @throws SealogError E_TAMPER "not pinned: …" naming the TSA that signed.
 */
export function checkPinned(tsa: Cert, pinned: readonly Cert[]): void {
  if (pinned.some((p) => sameBytes(p.der, tsa.der))) return;
  throw tamperError(
    `not pinned: the token is signed by ${tsa.subject} (serial number 0x${hex(tsa.serial)}, SHA-256 fingerprint ${fingerprint256(tsa.der)}), which is not one of the ${pinned.length} pinned TSA signer certificate(s)`,
  );
}

/** "AB:CD:…": a certificate's SHA-256 fingerprint as node:crypto's X509Certificate.fingerprint256 writes it. */
function fingerprint256(der: Uint8Array): string {
  return (hex(sha256(der)).toUpperCase().match(/../g) ?? []).join(':');
}
