import type * as asn1js from 'asn1js';
import { ContentInfo, type RelativeDistinguishedNames, SignedData, TSTInfo } from 'pkijs';
import { decodeDer, formatError, guard, hex, rawOf } from './der.js';
import { OID_CT_TSTINFO, OID_SIGNED_DATA } from './oids.js';

/** What a timestamp token says, read without checking anything it claims. */
export interface TimestampInfo {
  /** TSTInfo genTime: when the TSA says it saw the imprint. */
  genTime: Date;
  /** TSTInfo accuracy in milliseconds, when the TSA stated one (RFC 3161 §2.4.2). */
  accuracyMs?: number;
  /** TSA policy OID under which the token was issued. */
  policy: string;
  /** TSTInfo serialNumber, lower-case hex (up to 160 bits, RFC 3161 §2.4.2). */
  serialNumber: string;
  /** Hash algorithm OID of the message imprint. */
  hashAlgorithm: string;
  /** The hashed message of the imprint. */
  imprint: Uint8Array;
  /** The nonce, when the token has one. */
  nonce?: bigint;
  /** The TSTInfo `tsa` name, when present (a claim: not the verified signer). */
  tsaName?: string;
}

/** A parsed token: the pkijs objects plus the exact bytes that the signature covers. */
export interface OpenedToken {
  info: TimestampInfo;
  signedData: SignedData;
  tstInfo: TSTInfo;
  /** The eContent octets: the DER TSTInfo that messageDigest covers. */
  content: Uint8Array;
  /** DER of each certificate in SignedData.certificates, as stored. */
  certificates: Uint8Array[];
}

/** Most certificates read from a token: a TSA sends its own and a few CA certificates. */
export const MAX_TOKEN_CERTIFICATES = 16;

const NAME_KEYS: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
};

/** A distinguished name as "CN=x, O=y" (display only; values are cleaned by the caller). */
export function formatName(rdn: RelativeDistinguishedNames): string {
  return rdn.typesAndValues
    .map((tv) => {
      const v = (tv.value as { valueBlock?: { value?: unknown } }).valueBlock?.value;
      return `${NAME_KEYS[tv.type] ?? tv.type}=${typeof v === 'string' ? v : '#'}`;
    })
    .join(', ')
    .replace(/[^\x20-\x7e\u00a0-\uffff]/g, '?')
    .slice(0, 300);
}

function accuracyMs(tst: TSTInfo): number | undefined {
  const a = tst.accuracy;
  if (!a) return undefined;
  const ms = (a.seconds ?? 0) * 1000 + (a.millis ?? 0) + (a.micros ?? 0) / 1000;
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/** The TSTInfo fields as plain values. @throws SealogError E_FORMAT. */
function infoOf(tst: TSTInfo): TimestampInfo {
  if (tst.version !== 1) throw formatError(`TSTInfo version is ${tst.version}, expected 1 (RFC 3161 §2.4.2)`);
  const genTime = tst.genTime;
  if (!(genTime instanceof Date) || Number.isNaN(genTime.getTime()))
    throw formatError('TSTInfo genTime is not a valid time');
  const serial = tst.serialNumber.valueBlock.valueHexView;
  // RFC 3161 §2.4.2: serial numbers up to 160 bits (21 bytes with a sign byte); refuse absurd ones.
  if (serial.length === 0 || serial.length > 32)
    throw formatError('TSTInfo serialNumber has an impossible size');
  const info: TimestampInfo = {
    genTime,
    policy: tst.policy,
    serialNumber: hex(serial),
    hashAlgorithm: tst.messageImprint.hashAlgorithm.algorithmId,
    imprint: new Uint8Array(tst.messageImprint.hashedMessage.valueBlock.valueHexView),
  };
  const acc = accuracyMs(tst);
  if (acc !== undefined) info.accuracyMs = acc;
  if (tst.nonce) {
    const n = tst.nonce.valueBlock.valueHexView;
    if (n.length > 32) throw formatError('TSTInfo nonce is too large');
    info.nonce = tst.nonce.toBigInt();
  }
  if (tst.tsa && tst.tsa.type === 4) info.tsaName = formatName(tst.tsa.value as RelativeDistinguishedNames);
  return info;
}

/** The raw DER of each certificate choice in SignedData.certificates ([0] IMPLICIT SET). */
function certificateBytes(signedDataBlock: asn1js.AsnType): Uint8Array[] {
  const items = (signedDataBlock as asn1js.Sequence).valueBlock?.value ?? [];
  const set = items.find((b) => b.idBlock.tagClass === 3 && b.idBlock.tagNumber === 0);
  if (!set) return [];
  const certs = (set as asn1js.Constructed).valueBlock.value ?? [];
  if (certs.length > MAX_TOKEN_CERTIFICATES)
    throw formatError(`token holds more than ${MAX_TOKEN_CERTIFICATES} certificates`);
  // Only plain certificates (a universal SEQUENCE); attribute/other certificates are skipped.
  return certs.filter((c) => c.idBlock.tagClass === 1 && c.idBlock.tagNumber === 16).map((c) => rawOf(c));
}

/**
 * Parses a DER TimeStampToken (RFC 3161 §2.4.2: a ContentInfo holding a
 * SignedData whose eContent is a DER TSTInfo). Checks structure only.
 * Attacker's options: any bytes. Bounded by MAX_TIMESTAMP_TOKEN_BYTES, trailing bytes
 * refused, every library error turned into E_FORMAT.
 * @throws SealogError E_FORMAT saying which part is malformed.
 */
export function openToken(tokenDer: Uint8Array): OpenedToken {
  const root = decodeDer(tokenDer, 'token');
  const contentInfo = guard('token ContentInfo', () => new ContentInfo({ schema: root }));
  if (contentInfo.contentType !== OID_SIGNED_DATA) {
    throw formatError(
      `token content type is ${contentInfo.contentType}, expected SignedData (RFC 3161 §2.4.2)`,
    );
  }
  const sdBlock = contentInfo.content as asn1js.AsnType;
  const signedData = guard('token SignedData', () => new SignedData({ schema: sdBlock }));
  const encap = signedData.encapContentInfo;
  if (encap.eContentType !== OID_CT_TSTINFO) {
    throw formatError(
      `token eContentType is ${encap.eContentType}, expected id-ct-TSTInfo (RFC 3161 §2.4.2)`,
    );
  }
  if (!encap.eContent)
    throw formatError('token has no eContent (a detached TSTInfo is not a timestamp token)');
  const eContent = encap.eContent;
  const content = guard('token eContent', () => new Uint8Array(eContent.getValue()));
  const tstInfo = guard('token TSTInfo', () => new TSTInfo({ schema: decodeDer(content, 'TSTInfo') }));
  const info = guard('token TSTInfo', () => infoOf(tstInfo));
  const certificates = guard('token certificates', () => certificateBytes(sdBlock));
  return { info, signedData, tstInfo, content, certificates };
}

/**
 * Reads a token's TSTInfo for display — genTime, policy, serial, imprint —
 * WITHOUT checking its signature, chain or imprint: nothing returned is
 * trusted. Use {@link verifyTimestampToken} before relying on any of it.
 * @throws SealogError E_FORMAT for anything that is not a well-formed token.
 */
export function parseTimestampToken(tokenDer: Uint8Array): TimestampInfo {
  return openToken(tokenDer).info;
}
