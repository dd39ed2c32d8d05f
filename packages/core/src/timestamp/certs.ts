import { X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import { Certificate } from 'pkijs';
import { clean, decodeDer, formatError, guard, readPemCertificates } from './der.js';
import {
  OID_EXT_BASIC_CONSTRAINTS,
  OID_EXT_EXT_KEY_USAGE,
  OID_EXT_KEY_USAGE,
  OID_EXT_SUBJECT_ALT_NAME,
  OID_EXT_SUBJECT_KEY_ID,
} from './oids.js';

/** A certificate read two ways: node:crypto for keys/signatures, pkijs for fields and extensions. */
export interface Cert {
  der: Uint8Array;
  x509: X509Certificate;
  pki: Certificate;
  /** DER of the issuer Name, as encoded in the certificate. */
  issuerDer: Uint8Array;
  /** Content bytes of the serialNumber INTEGER. */
  serial: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** Subject as "CN=…, O=…" (display). */
  subject: string;
}

export { MAX_TRUST_ANCHORS } from './der.js';

/**
 * Reads one DER certificate. Attacker's options (certificates come from the
 * token): any bytes; node:crypto and pkijs errors become E_FORMAT.
 * @throws SealogError E_FORMAT naming `what`.
 */
export function readCert(der: Uint8Array, what: string): Cert {
  const root = decodeDer(der, what);
  const pki = guard(what, () => new Certificate({ schema: root }));
  const x509 = guard(what, () => new X509Certificate(der));
  const notBefore = pki.notBefore.value;
  const notAfter = pki.notAfter.value;
  if (
    !(notBefore instanceof Date) ||
    !(notAfter instanceof Date) ||
    Number.isNaN(notBefore.getTime()) ||
    Number.isNaN(notAfter.getTime())
  )
    throw formatError(`${what} has an unreadable validity`);
  // RFC 5280 §4.1.2.4: the issuer MUST be non-empty; a TSA or CA with no subject names nobody.
  // Both verifiers refuse the same certificates (node:crypto reports an empty name as undefined).
  if (pki.issuer.typesAndValues.length === 0 || pki.subject.typesAndValues.length === 0)
    throw formatError(`${what} has an empty subject or issuer name`);
  return {
    der,
    x509,
    pki,
    issuerDer: new Uint8Array(pki.issuer.valueBeforeDecode),
    serial: new Uint8Array(pki.serialNumber.valueBlock.valueHexView),
    notBefore,
    notAfter,
    subject: clean((x509.subject ?? '').replaceAll('\n', ', ')),
  };
}

/** Trust anchors from PEM text (see readPemCertificates). @throws SealogError E_CONFIG. */
export function readTrustAnchors(pems: string | readonly string[]): Cert[] {
  return readPemCertificates(pems, readCert);
}

/** The extensions of a certificate with one OID, at most one allowed (RFC 5280 §4.2). */
function extension(cert: Cert, oid: string) {
  const found = (cert.pki.extensions ?? []).filter((e) => e.extnID === oid);
  if (found.length > 1)
    throw formatError(`certificate ${cert.subject} repeats extension ${oid} (RFC 5280 §4.2)`);
  return found[0];
}

/** The extension's value decoded strictly (no trailing bytes). */
function extensionValue(cert: Cert, oid: string): asn1js.AsnType | undefined {
  const ext = extension(cert, oid);
  return ext
    ? decodeDer(new Uint8Array(ext.extnValue.valueBlock.valueHexView), `extension ${oid}`)
    : undefined;
}

/** The subjectKeyIdentifier (RFC 5280 §4.2.1.2), if present. */
export function subjectKeyId(cert: Cert): Uint8Array | undefined {
  const v = extensionValue(cert, OID_EXT_SUBJECT_KEY_ID);
  if (!v) return undefined;
  if (!(v instanceof asn1js.OctetString)) throw formatError('subjectKeyIdentifier is not an OCTET STRING');
  return new Uint8Array(v.valueBlock.valueHexView);
}

/** keyUsage bits (RFC 5280 §4.2.1.3) as a number (bit 0 = digitalSignature = 1 << 0), or undefined. */
export function keyUsage(cert: Cert): number | undefined {
  const v = extensionValue(cert, OID_EXT_KEY_USAGE);
  if (!v) return undefined;
  if (!(v instanceof asn1js.BitString)) throw formatError('keyUsage is not a BIT STRING');
  const bytes = v.valueBlock.valueHexView;
  let bits = 0;
  for (let i = 0; i < Math.min(bytes.length * 8, 16); i++)
    if (((bytes[i >> 3] ?? 0) >> (7 - (i & 7))) & 1) bits |= 1 << i;
  return bits;
}
export const KU_DIGITAL_SIGNATURE = 1 << 0;
export const KU_NON_REPUDIATION = 1 << 1;
export const KU_KEY_CERT_SIGN = 1 << 5;

/** The extendedKeyUsage (RFC 5280 §4.2.1.12): its criticality and purposes, or undefined. */
export function extendedKeyUsage(cert: Cert): { critical: boolean; purposes: string[] } | undefined {
  const ext = extension(cert, OID_EXT_EXT_KEY_USAGE);
  if (!ext) return undefined;
  const v = decodeDer(new Uint8Array(ext.extnValue.valueBlock.valueHexView), 'extendedKeyUsage');
  if (!(v instanceof asn1js.Sequence)) throw formatError('extendedKeyUsage is not a SEQUENCE');
  const purposes = v.valueBlock.value.map((p) => {
    if (!(p instanceof asn1js.ObjectIdentifier)) throw formatError('extendedKeyUsage holds a non-OID');
    return p.valueBlock.toString();
  });
  return { critical: ext.critical === true, purposes };
}

// RFC 5280 §4.2: a critical extension the verifier does not process makes the certificate unusable.
const UNDERSTOOD = new Set([
  OID_EXT_BASIC_CONSTRAINTS,
  OID_EXT_KEY_USAGE,
  OID_EXT_EXT_KEY_USAGE,
  OID_EXT_SUBJECT_ALT_NAME,
]);

/** The OID of a critical extension this code does not process, if any. */
export function unknownCriticalExtension(cert: Cert): string | undefined {
  return (cert.pki.extensions ?? []).find((e) => e.critical && !UNDERSTOOD.has(e.extnID))?.extnID;
}

/** True when `cert` was valid at `when` (RFC 5280 §4.1.2.5, both ends inclusive). */
export function validAt(cert: Cert, when: Date): boolean {
  return cert.notBefore.getTime() <= when.getTime() && when.getTime() <= cert.notAfter.getTime();
}
