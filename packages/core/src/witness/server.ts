import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { MAX_WITNESS_REQUEST_BYTES } from './request.js';
import type { Witness, WitnessReply } from './witness.js';

/** Longest a client may take to send one whole request, headers and body (ms). */
export const DEFAULT_WITNESS_REQUEST_TIMEOUT_MS = 10_000;
/** Most connections served at once; more are refused by the kernel backlog / closed. */
const DEFAULT_WITNESS_MAX_CONNECTIONS = 256;

export interface WitnessServerOptions {
  /** Largest request body read (bytes); default {@link MAX_WITNESS_REQUEST_BYTES}, never above it. */
  maxBodyBytes?: number;
  /** Default {@link DEFAULT_WITNESS_REQUEST_TIMEOUT_MS}. */
  requestTimeoutMs?: number;
  /** Called once per answered request (for the operator's log). Must not throw. */
  onReply?: (reply: WitnessReply, request: { method: string; path: string }) => void;
}

const MONITOR_PATH_RE = /^\/([0-9a-f]{64})\/checkpoint$/;

function send(
  res: ServerResponse,
  r: { status: number; contentType: string; body: string },
  close = false,
): void {
  const body = Buffer.from(r.body, 'utf8');
  const headers: Record<string, string | number> = {
    'content-type': r.contentType,
    'content-length': body.length,
    'cache-control': 'no-store',
  };
  if (close) headers.connection = 'close';
  res.writeHead(r.status, headers);
  res.end(body);
}

/**
 * Reads at most `limit` bytes of the body. Resolves the bytes, or 'too-large'
 * as soon as the declared or received length passes the limit (the rest is
 * never buffered: the connection is closed after the 413), or 'aborted'.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large' | 'aborted'> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && !(/^[0-9]{1,15}$/.test(declared) && Number(declared) <= limit))
    return Promise.resolve('too-large');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let n = 0;
    let done = false;
    const finish = (v: Buffer | 'too-large' | 'aborted') => {
      if (done) return;
      done = true;
      req.removeAllListeners('data');
      resolve(v);
    };
    req.on('data', (chunk: Buffer) => {
      n += chunk.length;
      if (n > limit) {
        req.pause();
        finish('too-large');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => finish(Buffer.concat(chunks, n)));
    req.on('error', () => finish('aborted'));
    req.on('close', () => finish('aborted'));
  });
}

/**
 * An HTTP server (node:http) for a {@link Witness}:
 * - `POST /add-checkpoint` (tlog-witness §add-checkpoint; the submission prefix is "/"),
 * - `GET /<sha256(origin) hex>/checkpoint` (§"Monitor Retrieval Mechanism"),
 * - anything else 404, a wrong method 405.
 * A body over the limit is answered 413 Content Too Large (RFC 9110 §15.5.14; the
 * witness spec names no status for it) without reading the rest; a client that
 * takes longer than the request timeout is cut off (slow-loris). Not listening
 * yet: call `listen`.
 */
export function createWitnessServer(witness: Witness, options: WitnessServerOptions = {}): Server {
  const limit = Math.min(options.maxBodyBytes ?? MAX_WITNESS_REQUEST_BYTES, MAX_WITNESS_REQUEST_BYTES);
  const timeout = options.requestTimeoutMs ?? DEFAULT_WITNESS_REQUEST_TIMEOUT_MS;
  const server = createServer(
    { requestTimeout: timeout, headersTimeout: Math.min(timeout, 60_000), maxHeaderSize: 16 * 1024 },
    (req, res) => {
      const method = req.method ?? '';
      const path = (req.url ?? '').split('?')[0] ?? '';
      const answer = (r: WitnessReply, close = false) => {
        send(res, r, close);
        try {
          options.onReply?.(r, { method, path });
        } catch {
          // the log hook must not break serving
        }
      };
      const plain = (status: number, message: string): WitnessReply => ({
        status,
        contentType: 'text/plain; charset=utf-8',
        body: `${message}\n`,
        outcome: 'http',
      });
      if (path === '/add-checkpoint') {
        if (method !== 'POST') {
          res.setHeader('allow', 'POST');
          answer(plain(405, 'add-checkpoint takes POST'));
          return;
        }
        void readBody(req, limit).then((body) => {
          if (body === 'aborted') {
            res.destroy();
            return;
          }
          if (body === 'too-large') {
            answer(plain(413, `request body larger than ${limit} bytes`), true);
            return;
          }
          answer(witness.addCheckpoint(body));
        });
        return;
      }
      const m = MONITOR_PATH_RE.exec(path);
      if (m) {
        if (method !== 'GET' && method !== 'HEAD') {
          res.setHeader('allow', 'GET, HEAD');
          answer(plain(405, 'checkpoint takes GET'));
          return;
        }
        answer(witness.checkpoint(m[1]!));
        return;
      }
      answer(plain(404, 'not found'));
    },
  );
  server.maxConnections = DEFAULT_WITNESS_MAX_CONNECTIONS;
  server.keepAliveTimeout = 5000;
  return server;
}
