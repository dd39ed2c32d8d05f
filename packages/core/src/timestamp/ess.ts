import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import { IssuerAndSerialNumber, type SignerInfo } from 'pkijs';
import { type Cert, subjectKeyId } from './certs.js';
import { formatError, hex, rawOf, sameBytes, tamperError } from './der.js';
import { HASHES, OID_ATTR_SIGNING_CERT, OID_ATTR_SIGNING_CERT_V2, OID_SHA256 } from './oids.js';

/** One ESSCertID / ESSCertIDv2: how to hash the certificate, the hash, and the optional issuerSerial. */
interface EssCertId {
  hash: 'sha1' | 'sha256' | 'sha384' | 'sha512';
  certHash: Uint8Array;
  issuerSerial?: { names: asn1js.AsnType[]; serial: Uint8Array };
}

function items(block: asn1js.AsnType | undefined, what: string): asn1js.AsnType[] {
  if (!(block instanceof asn1js.Sequence)) throw formatError(`${what} is not a SEQUENCE`);
  return block.valueBlock.value;
}

/** IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber INTEGER } (RFC 5035 §4). */
function issuerSerial(block: asn1js.AsnType): EssCertId['issuerSerial'] {
  const [names, serial, ...rest] = items(block, 'IssuerSerial');
  if (rest.length || !(serial instanceof asn1js.Integer)) throw formatError('IssuerSerial is malformed');
  return {
    names: items(names, 'IssuerSerial issuer'),
    serial: new Uint8Array(serial.valueBlock.valueHexView),
  };
}

/**
 * The first certificate identifier of a signingCertificate (v1: ESSCertID,
 * RFC 2634 §5.4) or signingCertificateV2 (ESSCertIDv2, RFC 5035 §4) value.
 * RFC 3161 §2.4.2 / RFC 5816 §2.2.1: the first one identifies the TSA's own certificate.
 */
function firstCertId(value: asn1js.AsnType, v2: boolean): EssCertId {
  const [certs] = items(value, 'SigningCertificate');
  const [first] = items(certs, 'SigningCertificate certs');
  if (!first) throw formatError('SigningCertificate names no certificate');
  const fields = [...items(first, 'ESSCertID')];
  let hash: EssCertId['hash'] = v2 ? 'sha256' : 'sha1';
  if (v2 && fields[0] instanceof asn1js.Sequence) {
    // hashAlgorithm AlgorithmIdentifier DEFAULT {algorithm id-sha256}
    const [oid] = items(fields.shift(), 'ESSCertIDv2 hashAlgorithm');
    const id = oid instanceof asn1js.ObjectIdentifier ? oid.valueBlock.toString() : '';
    const name = id === OID_SHA256 ? 'sha256' : HASHES[id];
    if (!name) throw formatError(`ESSCertIDv2 hash algorithm ${id || '?'} is not SHA-256/384/512`);
    hash = name;
  }
  const [certHash, serial, ...rest] = fields;
  if (!(certHash instanceof asn1js.OctetString) || rest.length) throw formatError('ESSCertID is malformed');
  const id: EssCertId = { hash, certHash: new Uint8Array(certHash.valueBlock.valueHexView) };
  if (serial) id.issuerSerial = issuerSerial(serial);
  return id;
}

/** True when `name` is a directoryName ([4] EXPLICIT Name) equal to `issuerDer`. */
function isDirectoryName(name: asn1js.AsnType, issuerDer: Uint8Array): boolean {
  if (name.idBlock.tagClass !== 3 || name.idBlock.tagNumber !== 4) return false;
  const inner = (name as asn1js.Constructed).valueBlock.value?.[0];
  return inner !== undefined && sameBytes(rawOf(inner), issuerDer);
}

/** True when the SignerInfo sid (RFC 5652 §5.3) names `cert`. */
function sidMatches(signerInfo: SignerInfo, cert: Cert): boolean {
  const sid = signerInfo.sid as unknown;
  if (sid instanceof IssuerAndSerialNumber) {
    return (
      sameBytes(new Uint8Array(sid.issuer.valueBeforeDecode), cert.issuerDer) &&
      sameBytes(new Uint8Array(sid.serialNumber.valueBlock.valueHexView), cert.serial)
    );
  }
  // [0] SubjectKeyIdentifier
  const ski = subjectKeyId(cert);
  const view = (sid as { valueBlock?: { valueHexView?: Uint8Array } }).valueBlock?.valueHexView;
  return ski !== undefined && view instanceof Uint8Array && sameBytes(new Uint8Array(view), ski);
}

/**
 * Finds the certificate that signed the token: the one named by the first
 * ESSCertID(v2) of each signingCertificate(V2) signed attribute present (at
 * least one is required: RFC 3161 §2.4.2, RFC 5816 §2.2.1), whose issuerSerial
 * (when present) and the SignerInfo sid must also name it.
 * Attacker's options: attributes missing, repeated, malformed, naming another
 * certificate, or a certificate swapped in the token's set — each refused.
 * @throws SealogError E_FORMAT (malformed/missing attribute), E_TAMPER (no
 *   candidate matches, or the identifiers disagree).
 */
export function identifySigner(signerInfo: SignerInfo, candidates: readonly Cert[]): Cert {
  const attrs = signerInfo.signedAttrs?.attributes ?? [];
  const ids: EssCertId[] = [];
  for (const [oid, v2] of [
    [OID_ATTR_SIGNING_CERT, false],
    [OID_ATTR_SIGNING_CERT_V2, true],
  ] as const) {
    const found = attrs.filter((a) => a.type === oid);
    if (found.length > 1) throw formatError(`signed attribute ${oid} appears more than once`);
    const attr = found[0];
    if (!attr) continue;
    if (attr.values.length !== 1) throw formatError(`signed attribute ${oid} must have exactly one value`);
    ids.push(firstCertId(attr.values[0], v2));
  }
  if (ids.length === 0) {
    throw formatError(
      'token has no signingCertificate / signingCertificateV2 signed attribute (RFC 3161 §2.4.2, RFC 5816)',
    );
  }
  let signer: Cert | undefined;
  for (const id of ids) {
    const match = candidates.find((c) =>
      sameBytes(new Uint8Array(createHash(id.hash).update(c.der).digest()), id.certHash),
    );
    if (!match) {
      throw tamperError(
        `signing certificate mismatch: no certificate in the token or the trust anchors has ${id.hash} ${hex(id.certHash)}`,
      );
    }
    if (signer && signer !== match)
      throw tamperError(
        'signing certificate mismatch: signingCertificate and signingCertificateV2 name different certificates',
      );
    signer = match;
    if (id.issuerSerial) {
      const { names, serial } = id.issuerSerial;
      if (!sameBytes(serial, match.serial) || !names.some((n) => isDirectoryName(n, match.issuerDer))) {
        throw tamperError(`signing certificate mismatch: issuerSerial does not name ${match.subject}`);
      }
    }
  }
  if (!signer || !sidMatches(signerInfo, signer)) {
    throw tamperError(
      'signing certificate mismatch: the SignerInfo identifies another certificate than signingCertificate',
    );
  }
  return signer;
}
