import * as asn1js from 'asn1js';
import type { Certificate, RelativeDistinguishedNames } from 'pkijs';
import { decodeDer, rawOf, sameBytes } from './der.js';

// The browser verifier reads certificates with pkijs (web-cert.ts); the Node
// path reads them with pkijs and OpenSSL (node:crypto X509Certificate), which
// refuses some encodings pkijs lets through. Both paths must refuse the same
// certificates, or the page would accept a token `sealog verify-bundle`
// refuses: these are the checks that close the gap, each found by flipping
// every byte of real tokens from the OpenSSL TSA and comparing both paths.

/** Universal string tags in Names, and what OpenSSL's name canonicalisation requires of them. */
const UTF8_STRING = 12;
const BMP_STRING = 30;
const UNIVERSAL_STRING = 28;

/**
 * What OpenSSL (which reads every certificate on the Node path) refuses and
 * pkijs lets through, found by flipping every byte of real tokens
 * (test/timestamp/verify-web.test.ts): lengths that disagree with their
 * contents, a serial number with padding, elements a structure does not have or of the wrong type (an extra
 * one in an Extension, the extensions SEQUENCE retagged), and Name values
 * OpenSSL cannot canonicalise — a tagged value (ILLEGAL_TAGGED_ANY), or a
 * string it cannot convert to UTF-8 (UTF8String not valid UTF-8, BMPString
 * of odd length, UniversalString not a multiple of 4). OpenSSL's leniencies
 * (a BOOLEAN other than 0xFF, an explicit v1 version) are kept, so the two
 * paths agree. A well-formed certificate re-encodes byte for byte through
 * asn1js: every CA in Debian's bundle does.
 */
export function opensslWouldRead(der: Uint8Array, root: asn1js.AsnType, pki: Certificate): boolean {
  try {
    if (!sameBytes(new Uint8Array(root.toBER(false)), der)) return false;
    return certificateShape(root) && namesCanonical(pki.issuer) && namesCanonical(pki.subject);
  } catch {
    return false;
  }
}

/** A DER INTEGER: content minimal (OpenSSL refuses padding: ASN1_R_ILLEGAL_PADDING). */
function minimalInteger(b: asn1js.AsnType | undefined): boolean {
  if (!(b instanceof asn1js.Integer)) return false;
  const v = b.valueBlock.valueHexView;
  if (v.length === 0) return false;
  if (v.length === 1) return true;
  return !((v[0] === 0x00 && (v[1]! & 0x80) === 0) || (v[0] === 0xff && (v[1]! & 0x80) !== 0));
}

const isSeq = (b: asn1js.AsnType | undefined, min: number, max: number): b is asn1js.Sequence =>
  b instanceof asn1js.Sequence && b.valueBlock.value.length >= min && b.valueBlock.value.length <= max;
const isCtx = (b: asn1js.AsnType | undefined, n: number): boolean =>
  b !== undefined && b.idBlock.tagClass === 3 && b.idBlock.tagNumber === n;

/** AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL } (RFC 5280 §4.1.1.2). */
function algorithmShape(b: asn1js.AsnType | undefined): boolean {
  return isSeq(b, 1, 2) && b.valueBlock.value[0] instanceof asn1js.ObjectIdentifier;
}

/**
 * Certificate and TBSCertificate (RFC 5280 §4.1) field by field: each
 * present field of its type, in order, and nothing after the last; each
 * Extension { OID, BOOLEAN OPTIONAL, OCTET STRING } and nothing else.
 */
function certificateShape(root: asn1js.AsnType): boolean {
  if (!isSeq(root, 3, 3)) return false;
  const [tbs, alg, sig] = root.valueBlock.value;
  if (!isSeq(tbs, 6, 10) || !algorithmShape(alg) || !(sig instanceof asn1js.BitString)) return false;
  const f = [...tbs.valueBlock.value];
  if (isCtx(f[0], 0)) {
    const v = (f.shift() as asn1js.Constructed).valueBlock.value;
    if (v.length !== 1 || !minimalInteger(v[0])) return false;
  }
  const [serial, sigAlg, issuer, validity, subject, spki, ...rest] = f;
  if (!minimalInteger(serial) || !algorithmShape(sigAlg)) return false;
  if (!(issuer instanceof asn1js.Sequence) || !(subject instanceof asn1js.Sequence)) return false;
  const isTime = (t: asn1js.AsnType | undefined) =>
    t instanceof asn1js.UTCTime || t instanceof asn1js.GeneralizedTime;
  if (!isSeq(validity, 2, 2) || !validity.valueBlock.value.every(isTime)) return false;
  if (!isSeq(spki, 2, 2) || !algorithmShape(spki.valueBlock.value[0])) return false;
  if (!(spki.valueBlock.value[1] instanceof asn1js.BitString)) return false;
  // issuerUniqueID [1], subjectUniqueID [2], extensions [3], each at most once, in order.
  let next = 1;
  for (const r of rest) {
    const n = r.idBlock.tagClass === 3 ? r.idBlock.tagNumber : -1;
    if (n < next || n > 3) return false;
    next = n + 1;
    if (n !== 3) continue;
    const inner = (r as asn1js.Constructed).valueBlock.value;
    if (inner.length !== 1 || !isSeq(inner[0], 1, 1000)) return false;
    for (const ext of (inner[0] as asn1js.Sequence).valueBlock.value) {
      if (!isSeq(ext, 2, 3)) return false;
      const [id, ...more] = ext.valueBlock.value;
      if (!(id instanceof asn1js.ObjectIdentifier)) return false;
      if (more.length === 2) {
        // X.690 §8.2.1: a BOOLEAN is one content octet; OpenSSL refuses 0x00 0xFF.
        const critical = more.shift();
        if (!(critical instanceof asn1js.Boolean) || critical.valueBlock.valueHexView.length !== 1)
          return false;
      }
      if (!(more[0] instanceof asn1js.OctetString) || more[0].idBlock.isConstructed) return false;
    }
  }
  return true;
}

/** Name ::= SEQUENCE OF SET OF SEQUENCE { type OID, value ANY } with values OpenSSL canonicalises. */
function namesCanonical(name: RelativeDistinguishedNames): boolean {
  const seq = decodeDer(new Uint8Array(name.valueBeforeDecode), 'Name');
  if (!(seq instanceof asn1js.Sequence)) return false;
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  for (const set of seq.valueBlock.value) {
    if (!(set instanceof asn1js.Set)) return false;
    for (const atv of set.valueBlock.value) {
      if (!(atv instanceof asn1js.Sequence) || atv.valueBlock.value.length !== 2) return false;
      const [type, value] = atv.valueBlock.value;
      if (!(type instanceof asn1js.ObjectIdentifier) || !value || value.idBlock.tagClass !== 1) return false;
      if (value.idBlock.isConstructed) continue; // not a string: copied as it is
      const raw = rawOf(value);
      const content = raw.subarray(raw.length - Math.min(raw.length, value.lenBlock.length));
      const tag = value.idBlock.tagNumber;
      if (tag === UTF8_STRING) {
        try {
          utf8.decode(content);
        } catch {
          return false;
        }
      }
      if (tag === BMP_STRING && content.length % 2 !== 0) return false;
      if (tag === UNIVERSAL_STRING && content.length % 4 !== 0) return false;
    }
  }
  return true;
}
