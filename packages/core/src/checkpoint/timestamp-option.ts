import { readFileSync, statSync } from 'node:fs';
import { SealogError } from '../errors.js';
import { unknownKeyMessage } from '../suggest.js';
import { readTrustAnchors } from '../timestamp/certs.js';
import { isOid } from '../timestamp/oids.js';

// The `checkpoint.timestamp` option (docs/timestamps.md §5), validated with the
// rest of `checkpoint` by validateCheckpointOptions (config.ts).

/** The `checkpoint.timestamp` option. */
export interface CheckpointTimestampOptions {
  /** `off`: no requests; `best-effort`/`required`: see docs/timestamps.md §5. Required. */
  mode: 'off' | 'best-effort' | 'required';
  /** TSA URLs (http/https), in order of preference; required unless mode is "off". */
  urls?: string[];
  /** TSA policy OID to ask for; tokens must carry it. */
  policy?: string;
  /** Per-request deadline, ms (100..60000). Default DEFAULT_TIMESTAMP_TIMEOUT_MS (10 s). */
  timeoutMs?: number;
  /** PEM file of the TSA's root CA(s): each token must verify under them before it is stored. */
  trustAnchorsFile?: string;
}

const TIMESTAMP_KEYS = ['mode', 'urls', 'policy', 'timeoutMs', 'trustAnchorsFile'] as const;
const TIMESTAMP_MODES = ['off', 'best-effort', 'required'];
/** More TSAs than this is a configuration mistake: each failure costs a timeout. */
const MAX_TSA_URLS = 8;

/** `checkpoint.timestamp`, shape only (the anchors file is read by createCheckpointer). @throws SealogError E_CONFIG. */
export function validateTimestampOption(value: unknown): void {
  const bad = (field: string, what: string) =>
    new SealogError('E_CONFIG', `option "checkpoint.timestamp${field}" ${what}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw bad('', 'must be an object like { mode: "best-effort", urls: ["https://tsa.example/"] }');
  }
  for (const k of Object.keys(value)) {
    if (!(TIMESTAMP_KEYS as readonly string[]).includes(k))
      throw new SealogError('E_CONFIG', unknownKeyMessage(`checkpoint.timestamp.${k}`, k, TIMESTAMP_KEYS));
  }
  const t = value as Record<string, unknown>;
  if (typeof t.mode !== 'string' || !TIMESTAMP_MODES.includes(t.mode)) {
    throw bad('.mode', `must be "off", "best-effort" or "required", got ${JSON.stringify(t.mode)}`);
  }
  if (t.urls !== undefined || t.mode !== 'off') {
    if (!Array.isArray(t.urls) || t.urls.length === 0 || t.urls.length > MAX_TSA_URLS) {
      throw bad('.urls', `must be a list of 1 to ${MAX_TSA_URLS} TSA URLs (http:// or https://)`);
    }
    for (const [i, url] of t.urls.entries()) {
      let parsed: URL | undefined;
      try {
        parsed = typeof url === 'string' ? new URL(url) : undefined;
      } catch {
        parsed = undefined;
      }
      if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
        throw bad(`.urls[${i}]`, `must be an http:// or https:// URL, got ${JSON.stringify(url)}`);
      }
    }
  }
  if (t.policy !== undefined && (typeof t.policy !== 'string' || !isOid(t.policy))) {
    throw bad('.policy', `must be a dotted OID like "1.2.3.4", got ${JSON.stringify(t.policy)}`);
  }
  const ms = t.timeoutMs;
  if (ms !== undefined && (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 100 || ms > 60_000)) {
    throw bad('.timeoutMs', `must be an integer from 100 to 60000, got ${JSON.stringify(ms)}`);
  }
  if (
    t.trustAnchorsFile !== undefined &&
    (typeof t.trustAnchorsFile !== 'string' || t.trustAnchorsFile === '')
  ) {
    throw bad('.trustAnchorsFile', 'must be a non-empty string (a PEM file of the TSA root certificates)');
  }
}

/** The PEM text of `checkpoint.timestamp.trustAnchorsFile`, checked to hold certificates. @throws SealogError E_CONFIG. */
export function readTrustAnchorsFile(path: string): string {
  let pem: string;
  try {
    const st = statSync(path);
    if (!st.isFile() || st.size > MAX_ANCHORS_FILE_BYTES)
      throw new Error('not a regular file of at most 1 MiB');
    pem = readFileSync(path, 'utf8');
    readTrustAnchors(pem);
  } catch (err) {
    throw new SealogError(
      'E_CONFIG',
      `option "checkpoint.timestamp.trustAnchorsFile": cannot read TSA root certificates from ${path}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  return pem;
}

const MAX_ANCHORS_FILE_BYTES = 1024 * 1024;
