import {
  type Cert,
  extendedKeyUsage,
  KU_DIGITAL_SIGNATURE,
  KU_KEY_CERT_SIGN,
  KU_NON_REPUDIATION,
  keyUsage,
  unknownCriticalExtension,
  validAt,
} from './certs.js';
import { sameBytes, tamperError } from './der.js';
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
        `untrusted chain: ${cur.subject} (issuer ${cur.x509.issuer.replaceAll('\n', ', ').slice(0, 200)}) does not chain to a given trust anchor`,
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
