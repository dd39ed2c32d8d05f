import { createHash, randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';
import { AlgorithmIdentifier, MessageImprint, TimeStampReq } from 'pkijs';
import { SealogError } from '../errors.js';
import { isOid, OID_SHA256 } from './oids.js';

/**
 * The imprint sealog timestamps: SHA-256 over the bytes of the signed
 * checkpoint note exactly as the log stored it — the UTF-8 text of the note
 * including its signature lines and final newline (see docs/timestamps.md).
 * @throws SealogError E_CONFIG when `imprintInput` is not bytes.
 */
export function timestampImprint(imprintInput: Uint8Array): Uint8Array {
  if (!(imprintInput instanceof Uint8Array)) {
    throw new SealogError(
      'E_CONFIG',
      'the bytes to timestamp must be a Uint8Array (the signed note as stored)',
    );
  }
  return new Uint8Array(createHash('sha256').update(imprintInput).digest());
}

/** A DER TimeStampReq and what its answer must echo. */
export interface TimestampRequest {
  der: Uint8Array;
  /** SHA-256 of the imprint input. */
  imprint: Uint8Array;
  /** The random 64-bit nonce (RFC 3161 §2.4.1), as a positive integer. */
  nonce: bigint;
  /** The requested policy OID, if one was asked for. */
  policy?: string;
}

/**
 * Builds an RFC 3161 §2.4.1 TimeStampReq: version 1, messageImprint =
 * SHA-256 (parameters absent, RFC 5754 §2) of `imprintInput`, reqPolicy when
 * `policy` is given, a random 64-bit nonce, certReq TRUE (the TSA puts its
 * certificate in the token, so the token verifies offline).
 * @throws SealogError E_CONFIG for a bad input or policy OID.
 */
export function createTimestampRequest(
  imprintInput: Uint8Array,
  options: { policy?: string } = {},
): TimestampRequest {
  const imprint = timestampImprint(imprintInput);
  const { policy } = options;
  if (policy !== undefined && !isOid(policy)) {
    throw new SealogError('E_CONFIG', `timestamp policy ${JSON.stringify(policy)} is not a dotted OID`);
  }
  // 64 random bits, read as a non-negative INTEGER (a leading 0x00 when the top bit is set).
  const nonce = BigInt(`0x${randomBytes(8).toString('hex')}`);
  const req = new TimeStampReq({
    version: 1,
    messageImprint: new MessageImprint({
      hashAlgorithm: new AlgorithmIdentifier({ algorithmId: OID_SHA256 }),
      hashedMessage: new asn1js.OctetString({ valueHex: imprint }),
    }),
    nonce: asn1js.Integer.fromBigInt(nonce),
    certReq: true,
    ...(policy === undefined ? {} : { reqPolicy: policy }),
  });
  const der = new Uint8Array(req.toSchema().toBER());
  return { der, imprint, nonce, ...(policy === undefined ? {} : { policy }) };
}
