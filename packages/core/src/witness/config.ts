import { resolve } from 'node:path';
import { SealogError } from '../errors.js';
import { parseVerifierKey, SIG_TYPE_ED25519, type VerifierKey } from '../note/keys.js';
import { unknownKeyMessage } from '../suggest.js';
import type { WitnessLog } from './witness.js';

/** `sealog witness serve --config` file, validated. Paths are resolved against the config file's directory. */
export interface WitnessConfig {
  keyFile: string;
  stateFile: string;
  listen: { host: string; port: number };
  logs: WitnessLog[];
}

const KEYS = ['keyFile', 'stateFile', 'listen', 'logs'] as const;
const LOG_KEYS = ['origin', 'key'] as const;
/** Most logs one witness config lists; a bound for a file that is read whole. */
const MAX_LOGS = 10_000;

function bad(field: string, what: string): SealogError {
  return new SealogError('E_CONFIG', `witness config: "${field}" ${what}`);
}

/** Parses `host:port` / `[v6]:port`; port 0 lets the system choose. */
function parseListen(value: unknown): { host: string; port: number } {
  if (typeof value !== 'string') throw bad('listen', 'must be a string like "127.0.0.1:7380"');
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : -1;
  if (!m || port > 65535)
    throw bad('listen', `must be "<host>:<port>" or "[<ipv6>]:<port>", got ${JSON.stringify(value)}`);
  return { host: (m[1] ?? m[2])!, port };
}

function parseLog(value: unknown, i: number): WitnessLog {
  const at = `logs[${i}]`;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw bad(at, 'must be an object like { "origin": "...", "key": "<log verifier key>" }');
  for (const k of Object.keys(value))
    if (!(LOG_KEYS as readonly string[]).includes(k))
      throw new SealogError('E_CONFIG', `witness config: ${unknownKeyMessage(`${at}.${k}`, k, LOG_KEYS)}`);
  const o = value as Record<string, unknown>;
  if (
    typeof o.origin !== 'string' ||
    o.origin === '' ||
    /[\u0000-\u001f]/.test(o.origin) ||
    !o.origin.isWellFormed()
  )
    throw bad(`${at}.origin`, "must be the log's checkpoint origin line (non-empty, one line)");
  const raw = typeof o.key === 'string' ? [o.key] : o.key;
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > 16)
    throw bad(`${at}.key`, "must be the log's verifier key, or a list of 1 to 16 of them");
  const keys: VerifierKey[] = raw.map((k, j) => {
    const field = Array.isArray(o.key) ? `${at}.key[${j}]` : `${at}.key`;
    let key: VerifierKey;
    try {
      key = parseVerifierKey(k as string);
    } catch (err) {
      throw bad(field, `is not a verifier key: ${(err as Error).message}`);
    }
    if (key.type !== SIG_TYPE_ED25519)
      throw bad(
        field,
        "must be the log's signing key (type 0x01, the first line `sealog keygen` printed), not a cosigner key",
      );
    return key;
  });
  return { origin: o.origin, keys };
}

/**
 * Validates a parsed witness config object in one place, naming the field in
 * every error: `keyFile`, `stateFile` (non-empty paths, resolved against
 * `baseDir`), `listen` (`host:port`), `logs` (non-empty list of
 * `{ origin, key }`, origins unique, keys type 0x01). Unknown fields are
 * refused (a typo must not silently drop a setting).
 * @throws SealogError E_CONFIG.
 */
export function validateWitnessConfig(value: unknown, baseDir = '.'): WitnessConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new SealogError(
      'E_CONFIG',
      'witness config must be a JSON object with keyFile, stateFile, listen, logs',
    );
  for (const k of Object.keys(value))
    if (!(KEYS as readonly string[]).includes(k))
      throw new SealogError('E_CONFIG', `witness config: ${unknownKeyMessage(k, k, KEYS)}`);
  const o = value as Record<string, unknown>;
  for (const k of ['keyFile', 'stateFile'] as const)
    if (typeof o[k] !== 'string' || o[k] === '') throw bad(k, 'must be a non-empty path');
  const listen = parseListen(o.listen);
  if (!Array.isArray(o.logs) || o.logs.length === 0 || o.logs.length > MAX_LOGS)
    throw bad('logs', `must be a list of 1 to ${MAX_LOGS} logs`);
  const logs = o.logs.map(parseLog);
  const seen = new Set<string>();
  logs.forEach((log, i) => {
    if (seen.has(log.origin)) throw bad(`logs[${i}].origin`, `repeats ${JSON.stringify(log.origin)}`);
    seen.add(log.origin);
  });
  return {
    keyFile: resolve(baseDir, o.keyFile as string),
    stateFile: resolve(baseDir, o.stateFile as string),
    listen,
    logs,
  };
}
