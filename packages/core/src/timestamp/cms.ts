import { createHash, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import type { SignedData, SignerInfo } from 'pkijs';
import type { Cert } from './certs.js';
import { formatError, sameBytes, tamperError } from './der.js';
import {
  HASHES,
  OID_ATTR_CONTENT_TYPE,
  OID_ATTR_MESSAGE_DIGEST,
  OID_CT_TSTINFO,
  SIGNATURE_ALGORITHMS,
} from './oids.js';

/**
 * The one SignerInfo of a token. RFC 3161 §2.4.2: "The time-stamp token MUST
 * NOT contain any signatures other than the signature of the TSA."
 * RFC 5652 §5.1: SignedData version 3 (eContentType is not id-data);
 * §5.3: SignerInfo version 1 (issuerAndSerialNumber) or 3 (subjectKeyIdentifier).
 * @throws SealogError E_FORMAT.
 */
export function soleSigner(signedData: SignedData): SignerInfo {
  if (signedData.version !== 3)
    throw formatError(`SignedData version is ${signedData.version}, expected 3 (RFC 5652 §5.1)`);
  if (signedData.signerInfos.length !== 1) {
    throw formatError(
      `token has ${signedData.signerInfos.length} signers, expected exactly one: the TSA (RFC 3161 §2.4.2)`,
    );
  }
  const signer = signedData.signerInfos[0]!;
  if (signer.version !== 1 && signer.version !== 3)
    throw formatError(`SignerInfo version ${signer.version} (RFC 5652 §5.3)`);
  if (!signer.signedAttrs)
    throw formatError(
      'token SignerInfo has no signed attributes (RFC 3161 §2.4.2 requires signingCertificate)',
    );
  return signer;
}

/** The digest algorithm of the SignerInfo, as a node:crypto name. SHA-1 and MD5 are refused. */
export function signerHash(signer: SignerInfo): 'sha256' | 'sha384' | 'sha512' {
  const oid = signer.digestAlgorithm.algorithmId;
  const hash = HASHES[oid];
  if (!hash)
    throw formatError(`token digest algorithm ${oid} is not accepted (SHA-256, SHA-384 or SHA-512 only)`);
  return hash;
}

/** The single value of a signed attribute that must appear exactly once (RFC 5652 §11.1, §11.2). */
function single(signer: SignerInfo, oid: string, name: string): asn1js.AsnType {
  const found = (signer.signedAttrs?.attributes ?? []).filter((a) => a.type === oid);
  if (found.length !== 1)
    throw formatError(`token needs exactly one ${name} signed attribute, found ${found.length}`);
  const values = found[0]!.values;
  if (values.length !== 1) throw formatError(`token ${name} attribute must have exactly one value`);
  return values[0];
}

/**
 * Binds the signed attributes to the content (RFC 5652 §5.4, §11.1, §11.2):
 * content-type equals id-ct-TSTInfo, and message-digest equals the hash of
 * the eContent octets (the TSTInfo) under the SignerInfo's digest algorithm.
 * @throws SealogError E_FORMAT (attribute missing/malformed), E_TAMPER (digest mismatch).
 */
export function checkContentBinding(signer: SignerInfo, content: Uint8Array): void {
  const type = single(signer, OID_ATTR_CONTENT_TYPE, 'content-type');
  if (!(type instanceof asn1js.ObjectIdentifier) || type.valueBlock.toString() !== OID_CT_TSTINFO) {
    throw tamperError('content-type attribute is not id-ct-TSTInfo (RFC 5652 §11.1)');
  }
  const digest = single(signer, OID_ATTR_MESSAGE_DIGEST, 'message-digest');
  if (!(digest instanceof asn1js.OctetString))
    throw formatError('message-digest attribute is not an OCTET STRING');
  const actual = new Uint8Array(createHash(signerHash(signer)).update(content).digest());
  if (!sameBytes(new Uint8Array(digest.valueBlock.valueHexView), actual)) {
    throw tamperError(
      'messageDigest mismatch: the TSTInfo is not the content the TSA signed (RFC 5652 §11.2)',
    );
  }
}

/**
 * Verifies the SignerInfo signature over the DER of the signed attributes
 * (re-tagged as SET OF, RFC 5652 §5.4) with the signer certificate's key,
 * using node:crypto. Accepts RSA PKCS#1 v1.5, ECDSA and Ed25519 (RFC 8419).
 * @throws SealogError E_FORMAT (unsupported algorithm), E_TAMPER (bad signature).
 */
export function checkSignature(signer: SignerInfo, cert: Cert): void {
  const oid = signer.signatureAlgorithm.algorithmId;
  const alg = SIGNATURE_ALGORITHMS[oid];
  if (!alg)
    throw formatError(`token signature algorithm ${oid} is not supported (RSA PKCS#1 v1.5, ECDSA, Ed25519)`);
  const hash = signerHash(signer);
  if (alg.hash && alg.hash !== hash)
    throw formatError(`signature algorithm ${oid} disagrees with digest algorithm ${hash}`);
  const key: KeyObject = cert.x509.publicKey;
  if (key.asymmetricKeyType !== alg.family) {
    throw tamperError(`bad signature: a ${key.asymmetricKeyType} key cannot make a ${alg.family} signature`);
  }
  // pkijs keeps the attributes' original bytes with the [0] tag replaced by SET (0x31).
  const signed = new Uint8Array(signer.signedAttrs!.encodedValue);
  const signature = new Uint8Array(signer.signature.valueBlock.valueHexView);
  let ok = false;
  try {
    ok = cryptoVerify(alg.family === 'ed25519' ? null : hash, signed, key, signature);
  } catch {
    ok = false; // a malformed signature value is a bad signature
  }
  if (!ok) throw tamperError(`bad signature: the signed attributes do not verify under ${cert.subject}`);
}
