/**
 * Object identifiers used by the RFC 3161 code, by the section that defines them.
 * Dotted strings, as pkijs/asn1js report them.
 */

/** RFC 5652 §5.1 id-signedData. */
export const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
/** RFC 3161 §2.4.2 id-ct-TSTInfo. */
export const OID_CT_TSTINFO = '1.2.840.113549.1.9.16.1.4';
/** RFC 5652 §11.1 id-contentType. */
export const OID_ATTR_CONTENT_TYPE = '1.2.840.113549.1.9.3';
/** RFC 5652 §11.2 id-messageDigest. */
export const OID_ATTR_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
/** RFC 2634 §5.4 id-aa-signingCertificate (ESSCertID, SHA-1); required by RFC 3161 §2.4.2. */
export const OID_ATTR_SIGNING_CERT = '1.2.840.113549.1.9.16.2.12';
/** RFC 5035 §3 id-aa-signingCertificateV2 (ESSCertIDv2); allowed for TSAs by RFC 5816 §2.2.1. */
export const OID_ATTR_SIGNING_CERT_V2 = '1.2.840.113549.1.9.16.2.47';
/** RFC 3161 §2.3 / RFC 5280 §4.2.1.12 id-kp-timeStamping. */
export const OID_KP_TIME_STAMPING = '1.3.6.1.5.5.7.3.8';

/** RFC 5280 §4.2.1 certificate extensions this code understands (critical ones are processed). */
export const OID_EXT_KEY_USAGE = '2.5.29.15';
export const OID_EXT_EXT_KEY_USAGE = '2.5.29.37';
export const OID_EXT_BASIC_CONSTRAINTS = '2.5.29.19';
export const OID_EXT_SUBJECT_ALT_NAME = '2.5.29.17';
export const OID_EXT_SUBJECT_KEY_ID = '2.5.29.14';

/** RFC 5754 §2 / RFC 3370 hash OIDs → node:crypto names. SHA-1 only for ESSCertID (RFC 2634). */
export const OID_SHA1 = '1.3.14.3.2.26';
export const OID_SHA256 = '2.16.840.1.101.3.4.2.1';
export const HASHES: Readonly<Record<string, 'sha256' | 'sha384' | 'sha512'>> = {
  [OID_SHA256]: 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/**
 * Signature algorithms accepted in a SignerInfo (RFC 5754 §3, RFC 8419 §2.3):
 * key family, and the hash the OID itself fixes (undefined: the SignerInfo's digestAlgorithm).
 */
export const SIGNATURE_ALGORITHMS: Readonly<
  Record<string, { family: 'rsa' | 'ec' | 'ed25519'; hash?: 'sha256' | 'sha384' | 'sha512' }>
> = {
  '1.2.840.113549.1.1.1': { family: 'rsa' }, // rsaEncryption (RFC 3370 §3.2: hash from digestAlgorithm)
  '1.2.840.113549.1.1.11': { family: 'rsa', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { family: 'rsa', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { family: 'rsa', hash: 'sha512' },
  '1.2.840.10045.2.1': { family: 'ec' }, // id-ecPublicKey, as some signers write it
  '1.2.840.10045.4.3.2': { family: 'ec', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { family: 'ec', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { family: 'ec', hash: 'sha512' },
  '1.3.101.112': { family: 'ed25519' }, // RFC 8419: signs the signed attributes themselves
};

/** True for a dotted OID string (at most 64 arcs, each at most 20 digits). */
export function isOid(value: unknown): value is string {
  return (
    typeof value === 'string' && value.length <= 200 && /^[0-2](\.(0|[1-9][0-9]{0,19})){1,63}$/.test(value)
  );
}
