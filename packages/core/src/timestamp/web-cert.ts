import * as asn1js from 'asn1js';
import { AuthorityKeyIdentifier, Certificate, type RelativeDistinguishedNames, type SignerInfo } from 'pkijs';
import { SealogError } from '../errors.js';
import {
  type Cert,
  KU_KEY_CERT_SIGN,
  keyUsage,
  subjectKeyId,
  unknownCriticalExtension,
  validAt,
} from './certs.js';
import { MAX_CHAIN_DEPTH } from './chain.js';
import { signerHash } from './cms.js';
import { clean, decodeDer, formatError, guard, readPemCertificates, sameBytes, tamperError } from './der.js';
import { OID_EXT_BASIC_CONSTRAINTS, SIGNATURE_ALGORITHMS } from './oids.js';
import { formatName } from './token.js';
import { opensslWouldRead } from './web-cert-shape.js';
import { keyType, webCanVerify, webVerify } from './web-crypto.js';

// The X.509 half of the browser's RFC 3161 check (verify-web.ts): certificates
// read with pkijs alone, the chain walked and the CMS signature checked with
// WebCrypto. Rules and messages are those of chain.ts and cms.ts, which do the
// same on Node with OpenSSL (node:crypto X509Certificate); test/timestamp/
// verify-web.test.ts runs both on the same tokens. Where OpenSSL is looser
// (names compared after case folding, RSA-PSS, SHA-1 or other curves in
// certificate signatures), this refuses: a token the page accepts, Node accepts.

const OID_EXT_AUTHORITY_KEY_ID = '2.5.29.35';

/** `Cert.x509` does not exist here: every caller in this file and the shared helpers it uses reads `pki` only. */
const NO_X509 = new Proxy(
  {},
  {
    get(_, prop) {
      if (prop === 'then' || typeof prop === 'symbol') return undefined; // not a thenable, printable
      throw new SealogError(
        'E_CONFIG',
        'node:crypto X509Certificate is not available in the browser verifier',
      );
    },
  },
) as Cert['x509'];

/**
 * Reads one DER certificate without node:crypto: the fields the checks use,
 * the subject as "CN=…, O=…". Attacker's options (token certificates): any
 * bytes, bounded and strictly decoded by decodeDer; pkijs errors become E_FORMAT.
 * @throws SealogError E_FORMAT naming `what`.
 */
export function readWebCert(der: Uint8Array, what: string): Cert {
  const root = decodeDer(der, what);
  const pki = guard(what, () => new Certificate({ schema: root }));
  if (!opensslWouldRead(der, root, pki)) throw formatError(`${what} is malformed`);
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
    x509: NO_X509,
    pki,
    issuerDer: new Uint8Array(pki.issuer.valueBeforeDecode),
    serial: new Uint8Array(pki.serialNumber.valueBlock.valueHexView),
    notBefore,
    notAfter,
    subject: clean(formatName(pki.subject)),
  };
}

/** Trust anchors from PEM text (see readPemCertificates). @throws SealogError E_CONFIG. */
export function readWebTrustAnchors(pems: string | readonly string[]): Cert[] {
  return readPemCertificates(pems, readWebCert);
}

/** OpenSSL's X509_check_ca() == 1: basicConstraints cA, and keyUsage (when present) allows keyCertSign. */
function isCa(cert: Cert): boolean {
  try {
    if (((keyUsage(cert) ?? KU_KEY_CERT_SIGN) & KU_KEY_CERT_SIGN) === 0) return false;
    const found = (cert.pki.extensions ?? []).filter((e) => e.extnID === OID_EXT_BASIC_CONSTRAINTS);
    if (found.length !== 1) return false;
    const v = decodeDer(new Uint8Array(found[0]!.extnValue.valueBlock.valueHexView), 'basicConstraints');
    if (!(v instanceof asn1js.Sequence)) return false;
    const first = v.valueBlock.value[0];
    return first instanceof asn1js.Boolean && first.valueBlock.value === true;
  } catch {
    return false; // a malformed extension: OpenSSL marks the certificate invalid
  }
}

/** OpenSSL's X509_check_akid(): the child's authorityKeyIdentifier, when present, names the issuer. */
function akidMatches(issuer: Cert, child: Cert): boolean {
  const found = (child.pki.extensions ?? []).filter((e) => e.extnID === OID_EXT_AUTHORITY_KEY_ID);
  if (found.length === 0) return true;
  if (found.length > 1) return false;
  const aki = new AuthorityKeyIdentifier({
    schema: decodeDer(new Uint8Array(found[0]!.extnValue.valueBlock.valueHexView), 'authorityKeyIdentifier'),
  });
  const ski = subjectKeyId(issuer);
  if (aki.keyIdentifier && ski && !sameBytes(new Uint8Array(aki.keyIdentifier.valueBlock.valueHexView), ski))
    return false;
  const serial = aki.authorityCertSerialNumber;
  if (serial && !sameBytes(new Uint8Array(serial.valueBlock.valueHexView), issuer.serial)) return false;
  if (aki.authorityCertIssuer) {
    const names = aki.authorityCertIssuer.filter((n) => n.type === 4);
    const issuerOfIssuer = new Uint8Array(issuer.pki.issuer.valueBeforeDecode);
    const named = names.some((n) =>
      sameBytes(new Uint8Array((n.value as RelativeDistinguishedNames).valueBeforeDecode), issuerOfIssuer),
    );
    if (names.length > 0 && !named) return false;
  }
  return true;
}

/**
 * True when `issuer` issued `child` (node:crypto's checkIssued && verify):
 * names equal, authorityKeyIdentifier consistent, the issuer's keyUsage
 * allows keyCertSign, and its key verifies the child's signature under an
 * algorithm of SIGNATURE_ALGORITHMS that fixes its hash, the same in the
 * TBSCertificate and outside it.
 */
async function issued(issuer: Cert, child: Cert): Promise<boolean> {
  try {
    if (!sameBytes(new Uint8Array(issuer.pki.subject.valueBeforeDecode), child.issuerDer)) return false;
    if (!akidMatches(issuer, child)) return false;
    if (((keyUsage(issuer) ?? KU_KEY_CERT_SIGN) & KU_KEY_CERT_SIGN) === 0) return false;
    const outer = child.pki.signatureAlgorithm;
    const inner = child.pki.signature;
    if (
      !sameBytes(new Uint8Array(outer.toSchema().toBER(false)), new Uint8Array(inner.toSchema().toBER(false)))
    )
      return false;
    const alg = SIGNATURE_ALGORITHMS[outer.algorithmId];
    if (!alg || keyType(issuer.pki) !== alg.family) return false;
    if (alg.family !== 'ed25519' && !alg.hash) return false; // rsaEncryption names no hash
    const sig = child.pki.signatureValue.valueBlock;
    if (sig.unusedBits !== 0) return false;
    return await webVerify(issuer.pki, alg.hash ?? null, child.pki.tbsView, new Uint8Array(sig.valueHexView));
  } catch {
    return false;
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

/**
 * chainToAnchor (chain.ts) with WebCrypto: a path from the TSA certificate to
 * one of `anchors` through the token's CA certificates, every certificate
 * valid at `genTime`. Same walk, same messages.
 * @throws SealogError E_TAMPER "untrusted chain: …".
 */
export async function webChainToAnchor(
  tsa: Cert,
  pool: readonly Cert[],
  anchors: readonly Cert[],
  genTime: Date,
): Promise<Cert[]> {
  const path = [tsa];
  checkUsable(tsa, genTime, 'TSA certificate');
  let cur = tsa;
  for (let depth = 0; depth < MAX_CHAIN_DEPTH; depth++) {
    if (anchors.some((a) => sameBytes(a.der, cur.der))) return path;
    let anchor: Cert | undefined;
    for (const a of anchors) if (!anchor && (await issued(a, cur))) anchor = a;
    if (anchor) {
      checkUsable(anchor, genTime, 'trust anchor');
      path.push(anchor);
      return path;
    }
    let next: Cert | undefined;
    for (const c of pool) if (!next && !path.includes(c) && isCa(c) && (await issued(c, cur))) next = c;
    if (!next) {
      throw tamperError(
        `untrusted chain: ${cur.subject} (issuer ${clean(formatName(cur.pki.issuer)).slice(0, 200)}) does not chain to a given trust anchor`,
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

/**
 * checkSignature (cms.ts) with WebCrypto: the SignerInfo signature over the
 * DER of the signed attributes, under the signer certificate's key.
 * @throws SealogError E_FORMAT (an algorithm not accepted, or one this browser
 *   cannot check), E_TAMPER (bad signature).
 */
export async function webCheckSignature(signer: SignerInfo, cert: Cert): Promise<void> {
  const oid = signer.signatureAlgorithm.algorithmId;
  const alg = SIGNATURE_ALGORITHMS[oid];
  if (!alg)
    throw formatError(`token signature algorithm ${oid} is not supported (RSA PKCS#1 v1.5, ECDSA, Ed25519)`);
  const hash = signerHash(signer);
  if (alg.hash && alg.hash !== hash)
    throw formatError(`signature algorithm ${oid} disagrees with digest algorithm ${hash}`);
  const type = keyType(cert.pki);
  if (type !== alg.family) {
    throw tamperError(`bad signature: a ${type} key cannot make a ${alg.family} signature`);
  }
  if (!webCanVerify(cert.pki))
    throw formatError(
      `the signer's ${type} key is not one the browser verifier can check (RSA, ECDSA P-256/384/521, Ed25519); use sealog verify-bundle`,
    );
  const signed = new Uint8Array(signer.signedAttrs!.encodedValue);
  const signature = new Uint8Array(signer.signature.valueBlock.valueHexView);
  if (!(await webVerify(cert.pki, alg.family === 'ed25519' ? null : hash, signed, signature)))
    throw tamperError(`bad signature: the signed attributes do not verify under ${cert.subject}`);
}
