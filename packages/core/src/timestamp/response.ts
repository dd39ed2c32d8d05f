import type * as asn1js from 'asn1js';
import { TimeStampResp } from 'pkijs';
import { SealogError } from '../errors.js';
import { clean, decodeDer, formatError, guard, rawOf } from './der.js';

/** RFC 3161 §2.4.2 PKIStatus names, by value. */
const STATUS = [
  'granted',
  'grantedWithMods',
  'rejection',
  'waiting',
  'revocationWarning',
  'revocationNotification',
];

/** RFC 3161 §2.4.2 PKIFailureInfo bit names, by bit number. */
const FAILURE: Readonly<Record<number, string>> = {
  0: 'badAlg',
  2: 'badRequest',
  5: 'badDataFormat',
  14: 'timeNotAvailable',
  15: 'unacceptedPolicy',
  16: 'unacceptedExtension',
  17: 'addInfoNotAvailable',
  25: 'systemFailure',
};

/** A TSA's answer that granted a token. */
export interface GrantedResponse {
  status: 'granted' | 'grantedWithMods';
  /** The DER TimeStampToken (a ContentInfo), exactly as the TSA sent it. */
  token: Uint8Array;
}

function failureNames(bits: asn1js.BitString | undefined): string[] {
  if (!bits) return [];
  const view = bits.valueBlock.valueHexView;
  const names: string[] = [];
  for (let i = 0; i < Math.min(view.length * 8, 32); i++) {
    // BIT STRING bit 0 is the most significant bit of the first byte.
    if (((view[i >> 3] ?? 0) >> (7 - (i & 7))) & 1) names.push(FAILURE[i] ?? `bit${i}`);
  }
  return names;
}

/**
 * Parses a DER TimeStampResp (RFC 3161 §2.4.2) and returns its token when the
 * status is granted or grantedWithMods.
 * Attacker's options (the network): any bytes — bounded, trailing bytes refused;
 * status text is cleaned before it reaches a message.
 * @throws SealogError E_FORMAT (not a TimeStampResp, or granted without a token),
 *   E_IO (the TSA refused: rejection/waiting/revocation…, with its reason).
 */
export function parseTimestampResponse(der: Uint8Array): GrantedResponse {
  const root = decodeDer(der, 'TSA response');
  const resp = guard('TSA response', () => new TimeStampResp({ schema: root }));
  const code = resp.status.status;
  const name = STATUS[code] ?? `status ${Number(code)}`;
  if (code !== 0 && code !== 1) {
    const text = (resp.status.statusStrings ?? [])
      .slice(0, 4)
      .map((s) => clean(String(s.valueBlock.value)))
      .join('; ');
    const fail = failureNames(resp.status.failInfo);
    throw new SealogError(
      'E_IO',
      `the TSA did not grant a timestamp: ${name}${fail.length ? ` (${fail.join(', ')})` : ''}${text ? `: ${text}` : ''}`,
    );
  }
  // The token's own bytes, as sent: the second element of the TimeStampResp SEQUENCE.
  const token = (root as asn1js.Sequence).valueBlock.value[1];
  if (!resp.timeStampToken || !token) throw formatError(`TSA response says ${name} but holds no token`);
  return { status: code === 0 ? 'granted' : 'grantedWithMods', token: rawOf(token) };
}
