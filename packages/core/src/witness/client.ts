import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { SealogError } from '../errors.js';
import { type NoteSignature, parseNote } from '../note/note.js';
import { formatAddCheckpointRequest } from './request.js';

/** Default time for one whole add-checkpoint exchange (ms). */
export const DEFAULT_WITNESS_TIMEOUT_MS = 10_000;
/** Largest response read: a few cosignature lines, even post-quantum ones, fit many times over. */
export const MAX_WITNESS_RESPONSE_BYTES = 64 * 1024;

/** The witness cosigned: its signature lines (each ending in "\n"), shape-checked, not yet verified. */
export interface WitnessCosigned {
  ok: true;
  /** The response's signature lines, exactly as sent; append them to the note's signatures. */
  lines: string[];
  /** The same lines parsed. Verify them with {@link verifyWitnessCosignatures}. */
  signatures: NoteSignature[];
}

/** Why a witness gave no cosignature. */
export type WitnessFailure =
  /** 409: the witness last cosigned `witnessSize`; resend with that old size and a proof from it. */
  | { ok: false; kind: 'conflict'; status: 409; witnessSize: number; message: string }
  /** Any other HTTP refusal (400, 403, 404, 413, 422, 5xx …); `message` is the witness's text, cut short. */
  | { ok: false; kind: 'refused'; status: number; message: string }
  /** Could not connect, or the connection broke. */
  | { ok: false; kind: 'unreachable'; message: string }
  /** No complete answer within the timeout, or the caller's signal aborted. */
  | { ok: false; kind: 'timeout'; message: string }
  /** An answer that breaks the protocol (a 200 without signature lines, a 409 without a size, too large). */
  | { ok: false; kind: 'garbage'; status: number; message: string };

export type WitnessResult = WitnessCosigned | WitnessFailure;

const SIZE_BODY_RE = /^(0|[1-9][0-9]{0,15})\n$/;

function submitUrl(prefix: string): URL {
  let url: URL;
  try {
    url = new URL(prefix);
  } catch (err) {
    throw new SealogError('E_CONFIG', `witness URL ${JSON.stringify(prefix)} is not a URL`, { cause: err });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new SealogError('E_CONFIG', `witness URL must be http: or https:, got ${url.protocol}`);
  if (url.username || url.password || url.search || url.hash)
    throw new SealogError(
      'E_CONFIG',
      'witness URL must be a plain submission prefix (no credentials, query or fragment)',
    );
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/add-checkpoint`;
  return url;
}

/** Printable, bounded excerpt of a witness's text answer. */
function excerpt(body: Buffer): string {
  return body
    .subarray(0, 200)
    .toString('utf8')
    .replace(/[^\x20-\x7e]+/g, ' ')
    .trim();
}

/** Parses a 200 body: one or more note signature lines (tlog-witness §add-checkpoint). */
function parseCosignatures(body: Buffer): WitnessCosigned | undefined {
  // Reuse the note parser: a dummy text plus the body is a note iff the body is signature lines.
  let parsed: ReturnType<typeof parseNote>;
  try {
    parsed = parseNote(Buffer.concat([Buffer.from('x\n\n'), body]));
  } catch {
    return undefined;
  }
  if (parsed.text !== 'x\n') return undefined; // an empty line inside the body
  const lines = body
    .toString('utf8')
    .split('\n')
    .slice(0, -1)
    .map((l) => `${l}\n`);
  return { ok: true, lines, signatures: parsed.signatures };
}

function interpret(status: number, contentType: string, body: Buffer): WitnessResult {
  if (status === 200) {
    return (
      parseCosignatures(body) ?? {
        ok: false,
        kind: 'garbage',
        status,
        message: 'a 200 answer without valid signature lines',
      }
    );
  }
  if (status === 409) {
    const m = SIZE_BODY_RE.exec(body.toString('latin1'));
    if (!m || !contentType.toLowerCase().startsWith('text/x.tlog.size'))
      return { ok: false, kind: 'garbage', status, message: 'a 409 answer without a text/x.tlog.size body' };
    const witnessSize = Number(m[1]);
    if (!Number.isSafeInteger(witnessSize))
      return { ok: false, kind: 'garbage', status, message: 'a 409 size above 2^53-1' };
    return {
      ok: false,
      kind: 'conflict',
      status: 409,
      witnessSize,
      message: `the witness last cosigned size ${witnessSize}`,
    };
  }
  return { ok: false, kind: 'refused', status, message: excerpt(body) };
}

/**
 * Submits a checkpoint to a C2SP tlog-witness (`POST <prefix>/add-checkpoint`)
 * and returns its cosignature lines or why there are none. `url` is the
 * witness's submission prefix, e.g. `https://witness.example/` . `note` is
 * the signed checkpoint; `proof` the RFC 6962 consistency proof from `oldSize`
 * (the size the witness last cosigned; 0 the first time, or to learn it from
 * the 409) to the checkpoint's size.
 * Bounded: the whole exchange ends within `timeoutMs` (the socket is
 * destroyed), the response is read up to {@link MAX_WITNESS_RESPONSE_BYTES},
 * redirects are not followed. The lines are shape-checked only: verify them
 * with the witness's key ({@link verifyWitnessCosignatures}).
 * @throws SealogError E_CONFIG (as a rejection) for bad arguments (URL, sizes, proof, note,
 *   timeout); nothing else: every network outcome is a {@link WitnessFailure}.
 */
export async function addCheckpoint(
  url: string,
  request: { oldSize: number; proof: readonly Uint8Array[]; note: string },
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<WitnessResult> {
  const target = submitUrl(url);
  const body = formatAddCheckpointRequest(request);
  const timeoutMs = options.timeoutMs ?? DEFAULT_WITNESS_TIMEOUT_MS;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > 2 ** 31 - 1)
    throw new SealogError('E_CONFIG', 'timeoutMs must be a whole number of ms from 1 to 2^31-1');
  const signal = options.signal;
  return new Promise<WitnessResult>((resolve) => {
    let settled = false;
    let complete = false;
    const done = (r: WitnessResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (!complete) req.destroy(); // a complete exchange leaves the socket to keep-alive
      resolve(r);
    };
    const onAbort = () => done({ ok: false, kind: 'timeout', message: 'aborted by the caller' });
    const timer = setTimeout(
      () => done({ ok: false, kind: 'timeout', message: `no complete answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    let req: ClientRequest;
    try {
      req = send(target, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length },
      });
    } catch (err) {
      clearTimeout(timer);
      resolve({ ok: false, kind: 'unreachable', message: (err as Error).message });
      return;
    }
    req.on('error', (err) => done({ ok: false, kind: 'unreachable', message: err.message }));
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let n = 0;
      res.on('data', (chunk: Buffer) => {
        n += chunk.length;
        if (n > MAX_WITNESS_RESPONSE_BYTES) {
          done({ ok: false, kind: 'garbage', status: res.statusCode ?? 0, message: 'answer too large' });
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        complete = true;
        done(
          interpret(res.statusCode ?? 0, String(res.headers['content-type'] ?? ''), Buffer.concat(chunks, n)),
        );
      });
      res.on('error', (err) => done({ ok: false, kind: 'unreachable', message: err.message }));
      res.on('aborted', () => done({ ok: false, kind: 'unreachable', message: 'the answer was cut off' }));
    });
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    req.end(body);
  });
}
