// Finding, checking and generating the Ed25519 key pairs on a token
// (PKCS#11 v3.0 §2.3.5-2.3.6: CKK_EC_EDWARDS keys, CKM_EC_EDWARDS_KEY_PAIR_GEN).
// Attribute values come from the module: lengths are checked before use.
import { randomBytes } from 'node:crypto';
import { endianness } from 'node:os';
import { SealogError } from '../errors.js';
import { isUsableEd25519PublicKey } from '../note/ed25519.js';
import { CK, ckrName, type Handle, type Pkcs11Module } from './pkcs11-module.js';

/** RFC 8410 id-Ed25519 (1.3.101.112) as DER, the form SoftHSM and most HSMs take. */
const ED25519_OID = Buffer.from('06032b6570', 'hex');
/** PKCS#11 v3.0 §2.3.5 also allows the curve name as a PrintableString. */
const ED25519_NAME = Buffer.concat([Buffer.from([0x13, 12]), Buffer.from('edwards25519', 'latin1')]);
/** A pair label is looked up at most this many times over: more means a mess to clean up first. */
const MAX_OBJECTS = 16;

/** The key objects labelled `label`, by class. */
export interface FoundPair {
  label: string;
  privs: Handle[];
  pubs: Handle[];
}

/** A checked pair: one private key that signs, and its public key's 32 bytes. */
export interface TokenPair {
  label: string;
  priv: Handle;
  publicKey: Uint8Array;
}

function find(m: Pkcs11Module, session: Handle, cls: number, label: string): Handle[] {
  m.p11.C_FindObjectsInit(session, [
    { type: CK.CKA_CLASS, value: cls },
    { type: CK.CKA_LABEL, value: label },
  ]);
  try {
    return m.p11.C_FindObjects(session, MAX_OBJECTS);
  } finally {
    m.p11.C_FindObjectsFinal(session);
  }
}

/** The private and public key objects labelled `label`. @throws SealogError E_IO. */
export function lookupPair(m: Pkcs11Module, session: Handle, label: string, where: string): FoundPair {
  try {
    return {
      label,
      privs: find(m, session, CK.CKO_PRIVATE_KEY, label),
      pubs: find(m, session, CK.CKO_PUBLIC_KEY, label),
    };
  } catch (err) {
    throw new SealogError(
      'E_IO',
      `cannot search ${where} for keys labelled ${JSON.stringify(label)} (${ckrName(err) ?? 'error'})`,
    );
  }
}

function attributes(
  m: Pkcs11Module,
  session: Handle,
  obj: Handle,
  types: number[],
  what: string,
): Map<number, Buffer> {
  try {
    const got = m.p11.C_GetAttributeValue(
      session,
      obj,
      types.map((type) => ({ type })),
    );
    return new Map(got.map((a) => [a.type, a.value]));
  } catch (err) {
    throw new SealogError('E_KEY', `cannot read the attributes of ${what} (${ckrName(err) ?? 'error'})`);
  }
}

function ulong(b: Buffer | undefined): number | undefined {
  if (!b) return undefined;
  if (b.length === 8) return Number(endianness() === 'LE' ? b.readBigUInt64LE(0) : b.readBigUInt64BE(0));
  if (b.length === 4) return endianness() === 'LE' ? b.readUInt32LE(0) : b.readUInt32BE(0);
  return undefined;
}

function bool(b: Buffer | undefined): boolean | undefined {
  return b?.length === 1 ? b[0] !== 0 : undefined;
}

function isEd25519Params(b: Buffer | undefined): boolean {
  return b !== undefined && (b.equals(ED25519_OID) || b.equals(ED25519_NAME));
}

/**
 * The 32-byte key in CKA_EC_POINT: a DER OCTET STRING (04 20 ‖ key, what
 * PKCS#11 v3.0 §2.3.5 asks for) or the raw 32 bytes some modules return.
 */
export function ecPointKey(b: Buffer | undefined): Uint8Array | undefined {
  if (b?.length === 32) return new Uint8Array(b);
  if (b?.length === 34 && b[0] === 0x04 && b[1] === 32) return new Uint8Array(b.subarray(2));
  return undefined;
}

/**
 * Checks the objects found under one label: exactly one private and one
 * public Ed25519 key; the private key signs, is sensitive and not
 * extractable (else it could be copied, which is what a token is for
 * preventing); the public key is a valid Ed25519 point.
 * @throws SealogError E_KEY saying which label and what is wrong.
 */
export function checkPair(m: Pkcs11Module, session: Handle, found: FoundPair, where: string): TokenPair {
  const lbl = JSON.stringify(found.label);
  if (found.privs.length !== 1 || found.pubs.length !== 1)
    throw new SealogError(
      'E_KEY',
      found.privs.length === 0 && found.pubs.length === 0
        ? `${where} has no key pair labelled ${lbl}; create it with \`sealog keygen --pkcs11 <options.json>\``
        : `${where} holds ${found.privs.length} private and ${found.pubs.length} public keys labelled ${lbl}; exactly one of each is needed`,
    );
  const [priv] = found.privs as [Handle];
  const [pub] = found.pubs as [Handle];
  const pa = attributes(
    m,
    session,
    priv,
    [CK.CKA_KEY_TYPE, CK.CKA_SIGN, CK.CKA_SENSITIVE, CK.CKA_EXTRACTABLE],
    `the private key ${lbl} on ${where}`,
  );
  if (ulong(pa.get(CK.CKA_KEY_TYPE)) !== CK.CKK_EC_EDWARDS)
    throw new SealogError('E_KEY', `the private key ${lbl} on ${where} is not an EC_EDWARDS (Ed25519) key`);
  if (bool(pa.get(CK.CKA_SIGN)) !== true)
    throw new SealogError('E_KEY', `the private key ${lbl} on ${where} is not allowed to sign (CKA_SIGN)`);
  if (bool(pa.get(CK.CKA_SENSITIVE)) !== true || bool(pa.get(CK.CKA_EXTRACTABLE)) !== false)
    throw new SealogError(
      'E_KEY',
      `the private key ${lbl} on ${where} can be read out (CKA_SENSITIVE false or CKA_EXTRACTABLE true); refusing a key that can be copied`,
    );
  const ua = attributes(
    m,
    session,
    pub,
    [CK.CKA_KEY_TYPE, CK.CKA_EC_PARAMS, CK.CKA_EC_POINT],
    `the public key ${lbl} on ${where}`,
  );
  if (ulong(ua.get(CK.CKA_KEY_TYPE)) !== CK.CKK_EC_EDWARDS || !isEd25519Params(ua.get(CK.CKA_EC_PARAMS)))
    throw new SealogError('E_KEY', `the public key ${lbl} on ${where} is not an Ed25519 key (CKA_EC_PARAMS)`);
  const publicKey = ecPointKey(ua.get(CK.CKA_EC_POINT));
  if (!publicKey || !isUsableEd25519PublicKey(publicKey))
    throw new SealogError(
      'E_KEY',
      `the public key ${lbl} on ${where} does not hold a valid Ed25519 point (CKA_EC_POINT)`,
    );
  return { label: found.label, priv, publicKey };
}

/**
 * Generates an Ed25519 pair labelled `label` on the token: the private key
 * token-resident, private, sensitive, never extractable, for signing only.
 * @throws SealogError E_IO when the token refuses.
 */
export function generatePair(
  m: Pkcs11Module,
  session: Handle,
  label: string,
  where: string,
): { priv: Handle; pub: Handle } {
  const id = randomBytes(16); // CKA_ID ties the halves together for other tools (pkcs11-tool)
  try {
    const kp = m.p11.C_GenerateKeyPair(
      session,
      { mechanism: CK.CKM_EC_EDWARDS_KEY_PAIR_GEN },
      [
        { type: CK.CKA_CLASS, value: CK.CKO_PUBLIC_KEY },
        { type: CK.CKA_KEY_TYPE, value: CK.CKK_EC_EDWARDS },
        { type: CK.CKA_TOKEN, value: true },
        { type: CK.CKA_VERIFY, value: true },
        { type: CK.CKA_LABEL, value: label },
        { type: CK.CKA_ID, value: id },
        { type: CK.CKA_EC_PARAMS, value: ED25519_OID },
      ],
      [
        { type: CK.CKA_CLASS, value: CK.CKO_PRIVATE_KEY },
        { type: CK.CKA_KEY_TYPE, value: CK.CKK_EC_EDWARDS },
        { type: CK.CKA_TOKEN, value: true },
        { type: CK.CKA_PRIVATE, value: true },
        { type: CK.CKA_SENSITIVE, value: true },
        { type: CK.CKA_EXTRACTABLE, value: false },
        { type: CK.CKA_SIGN, value: true },
        { type: CK.CKA_LABEL, value: label },
        { type: CK.CKA_ID, value: id },
      ],
    );
    return { priv: kp.privateKey, pub: kp.publicKey };
  } catch (err) {
    throw new SealogError(
      'E_IO',
      `${where} could not generate an Ed25519 key pair labelled ${JSON.stringify(label)} (${ckrName(err) ?? 'error'}; the token must support CKM_EC_EDWARDS_KEY_PAIR_GEN)`,
    );
  }
}
