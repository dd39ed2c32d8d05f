import { SealogError } from '../errors.js';
import { MAX_TIMESTAMP_TOKEN_BYTES, sameBytes, tamperError } from './der.js';
import { OID_SHA256 } from './oids.js';
import { createTimestampRequest } from './request.js';
import { parseTimestampResponse } from './response.js';
import { parseTimestampToken, type TimestampInfo } from './token.js';

/** Longest timeout accepted: a TSA that needs more than a minute is down. */
export const MAX_TIMESTAMP_TIMEOUT_MS = 60_000;

export interface RequestTimestampOptions {
  /** Whole-exchange deadline (connect, send, answer, body), ms; 1..60000. */
  timeoutMs: number;
  /** TSA policy OID to ask for (reqPolicy); the answer must carry it. */
  policy?: string;
}

/** A token the TSA granted for this request. Its signature is NOT verified yet. */
export interface TimestampResult extends TimestampInfo {
  /** DER TimeStampToken (the ContentInfo): store it beside the note. */
  token: Uint8Array;
  status: 'granted' | 'grantedWithMods';
}

// RFC 3161 §3.4: "application/timestamp-query" out, "application/timestamp-reply" back.
// "application/timestamp-response" is the name some older TSAs still send.
const REPLY_TYPES = new Set(['application/timestamp-reply', 'application/timestamp-response']);

function configError(what: string): SealogError {
  return new SealogError('E_CONFIG', `requestTimestamp: ${what}`);
}

function checkOptions(url: string | URL, options: RequestTimestampOptions): URL {
  let target: URL;
  try {
    target = new URL(String(url));
  } catch {
    throw configError(`TSA URL ${JSON.stringify(String(url))} is not a URL`);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw configError(`TSA URL must be http: or https:, got ${target.protocol}`);
  }
  const t = options?.timeoutMs;
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 1 || t > MAX_TIMESTAMP_TIMEOUT_MS) {
    throw configError(`timeoutMs must be 1..${MAX_TIMESTAMP_TIMEOUT_MS} ms, got ${String(t)}`);
  }
  return target;
}

/** Reads at most MAX_TIMESTAMP_TOKEN_BYTES of the body; more is refused without reading it all. */
async function readBounded(res: Response): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (declared > MAX_TIMESTAMP_TOKEN_BYTES)
    throw new SealogError('E_FORMAT', `TSA response is ${declared} bytes, over ${MAX_TIMESTAMP_TOKEN_BYTES}`);
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_TIMESTAMP_TOKEN_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw new SealogError('E_FORMAT', `TSA response is larger than ${MAX_TIMESTAMP_TOKEN_BYTES} bytes`);
    }
    parts.push(value);
  }
  return new Uint8Array(Buffer.concat(parts));
}

async function exchange(target: URL, query: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
  const res = await fetch(target, {
    method: 'POST',
    headers: { 'content-type': 'application/timestamp-query', accept: 'application/timestamp-reply' },
    body: query,
    // A redirect would send the request to a host the operator did not name.
    redirect: 'error',
    signal,
  });
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => undefined);
    throw new SealogError('E_IO', `TSA ${target.origin} answered HTTP ${res.status}`);
  }
  const type = (res.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (!REPLY_TYPES.has(type)) {
    await res.body?.cancel().catch(() => undefined);
    throw new SealogError(
      'E_FORMAT',
      `TSA ${target.origin} answered content type ${JSON.stringify(type.slice(0, 80))}, expected application/timestamp-reply`,
    );
  }
  return readBounded(res);
}

/**
 * Asks an RFC 3161 TSA over HTTP (RFC 3161 §3.4) for a token over SHA-256 of
 * `imprintInput` (the signed note as stored, see {@link timestampImprint}):
 * POSTs a TimeStampReq with a fresh nonce and certReq, reads at most 64 KiB,
 * requires status granted/grantedWithMods, and checks the token echoes the
 * imprint (SHA-256), the nonce and the policy asked for.
 *
 * It does not check the token's signature or certificate: call
 * {@link verifyTimestampToken} with your trust anchors before relying on it.
 * Never waits past `timeoutMs`; never throws anything but SealogError.
 * @throws SealogError E_CONFIG (bad URL/options), E_IO (unreachable, timed out,
 *   HTTP error, TSA refused), E_FORMAT (wrong content type, oversized or
 *   malformed answer), E_TAMPER (the token is for another imprint/nonce/policy).
 */
export async function requestTimestamp(
  url: string | URL,
  imprintInput: Uint8Array,
  options: RequestTimestampOptions,
): Promise<TimestampResult> {
  const target = checkOptions(url, options);
  const request = createTimestampRequest(
    imprintInput,
    options.policy === undefined ? {} : { policy: options.policy },
  );
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs);
  let body: Uint8Array;
  try {
    body = await exchange(target, request.der, controller.signal);
  } catch (err) {
    if (err instanceof SealogError) throw err;
    if (controller.signal.aborted) {
      throw new SealogError('E_IO', `TSA ${target.origin} did not answer within ${options.timeoutMs} ms`, {
        cause: err,
      });
    }
    const why = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new SealogError(
      'E_IO',
      `cannot reach TSA ${target.origin}: ${why?.code ?? why?.message ?? String(err)}`,
      { cause: err },
    );
  } finally {
    clearTimeout(timer);
  }
  const granted = parseTimestampResponse(body);
  const info = parseTimestampToken(granted.token);
  // RFC 3161 §2.4.2: messageImprint and nonce MUST equal the request's.
  if (info.hashAlgorithm !== OID_SHA256 || !sameBytes(info.imprint, request.imprint)) {
    throw tamperError('imprint mismatch: the TSA answered for other bytes than the ones sent');
  }
  if (info.nonce !== request.nonce)
    throw tamperError('nonce mismatch: the answer is not for this request (replayed?)');
  if (request.policy !== undefined && info.policy !== request.policy) {
    throw tamperError(`policy mismatch: asked for ${request.policy}, the token is under ${info.policy}`);
  }
  return { ...info, token: granted.token, status: granted.status };
}
