import { AnchorHeads, OwnKey } from '../chain/trust.js';
import { SealogError } from '../errors.js';
import { bytesEqual } from '../note/encoding.js';
import { loadSignerKeyFile } from '../note/keyfile.js';
import { parseVerifierKey, SIG_TYPE_COSIGNATURE } from '../note/keys.js';
import { fileCheckpointKey } from '../signer/file.js';
import { openPkcs11Key } from '../signer/pkcs11.js';
import { type Pkcs11KeyOptions, validatePkcs11Options } from '../signer/pkcs11-options.js';
import type { CheckpointKey } from '../signer/types.js';
import type { Store, WriterTrust } from '../store/types.js';
import { unknownKeyMessage } from '../suggest.js';
import { TimestampRequester } from '../timestamp/requester.js';
import { WitnessSubmitter, type WitnessTarget } from '../witness/submit.js';
import { Checkpointer } from './sealer.js';
import {
  type CheckpointTimestampOptions,
  readTrustAnchorsFile,
  validateTimestampOption,
} from './timestamp-option.js';

export type { CheckpointTimestampOptions };

/**
 * The sink's `checkpoint` option: plain JSON, so it crosses pino's worker
 * boundary. Defaults: DEFAULT_CHECKPOINT_EVERY_RECORDS / _EVERY_MS / _HEARTBEAT_MS.
 */
export interface CheckpointOptions {
  /** Private key file from `sealog keygen` (mode 0600). This or `pkcs11` is required. */
  keyFile?: string;
  /** The keys on a PKCS#11 token instead of a file (docs/keys.md "PKCS#11 tokens"). */
  pkcs11?: Pkcs11KeyOptions;
  /** Origin line; must equal the key's name. Defaults to it. */
  origin?: string;
  everyRecords?: number;
  everyMs?: number;
  heartbeatMs?: number;
  /** Also append every signed note to this file (put it on other storage). */
  anchorFile?: string;
  /**
   * C2SP tlog-witnesses to send each checkpoint to, `{ url, key }` (the witness's
   * submission prefix and its verifier key); see docs/witness.md.
   */
  witnesses?: WitnessTarget[];
  /** Longest wait for one witness request. Default DEFAULT_WITNESS_TIMEOUT_MS (10 s). */
  witnessTimeoutMs?: number;
  /** RFC 3161 tokens for each checkpoint (docs/timestamps.md §5). Absent or mode "off": none. */
  timestamp?: CheckpointTimestampOptions;
}

const KEYS = [
  'keyFile',
  'pkcs11',
  'origin',
  'everyRecords',
  'everyMs',
  'heartbeatMs',
  'anchorFile',
  'witnesses',
  'witnessTimeoutMs',
  'timestamp',
] as const;

/**
 * Checks the shape of the `checkpoint` option without touching the disk.
 * @throws SealogError E_CONFIG naming the field.
 */
export function validateCheckpointOptions(value: unknown): CheckpointOptions {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SealogError(
      'E_CONFIG',
      'option "checkpoint" must be an object like { keyFile: "./audit.key" }',
    );
  }
  for (const key of Object.keys(value)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new SealogError('E_CONFIG', unknownKeyMessage(`checkpoint.${key}`, key, KEYS));
    }
  }
  const o = value as Record<string, unknown>;
  if (o.keyFile !== undefined && o.pkcs11 !== undefined) {
    throw new SealogError(
      'E_CONFIG',
      'options "checkpoint.keyFile" and "checkpoint.pkcs11" are exclusive: the key is in a file or on a token, give one',
    );
  }
  if (o.pkcs11 !== undefined) {
    validatePkcs11Options(o.pkcs11, 'checkpoint.pkcs11');
  } else if (typeof o.keyFile !== 'string' || o.keyFile === '') {
    throw new SealogError(
      'E_CONFIG',
      'option "checkpoint.keyFile" is required: the key file written by `sealog keygen` (or "checkpoint.pkcs11" for a key on a token)',
    );
  }
  for (const k of ['origin', 'anchorFile'] as const) {
    if (o[k] !== undefined && (typeof o[k] !== 'string' || o[k] === '')) {
      throw new SealogError('E_CONFIG', `option "checkpoint.${k}" must be a non-empty string`);
    }
  }
  for (const k of ['everyRecords', 'everyMs', 'heartbeatMs'] as const) {
    const v = o[k];
    // Intervals feed setTimeout, which turns anything above 2^31-1 ms into 1 ms.
    const max = k === 'everyRecords' ? Number.MAX_SAFE_INTEGER : 2 ** 31 - 1;
    if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0 || v > max)) {
      throw new SealogError(
        'E_CONFIG',
        `option "checkpoint.${k}" must be an integer from 1 to ${max}, got ${JSON.stringify(v)}`,
      );
    }
  }
  if (o.witnesses !== undefined) validateWitnesses(o.witnesses);
  const t = o.witnessTimeoutMs;
  if (t !== undefined && (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 100 || t > 600_000)) {
    throw new SealogError(
      'E_CONFIG',
      `option "checkpoint.witnessTimeoutMs" must be an integer from 100 to 600000, got ${JSON.stringify(t)}`,
    );
  }
  if (o.timestamp !== undefined) validateTimestampOption(o.timestamp);
  return value as CheckpointOptions;
}

/** Each witness: an http(s) URL and a witness (0x04) verifier key. @throws SealogError E_CONFIG. */
function validateWitnesses(value: unknown): void {
  const shape =
    'option "checkpoint.witnesses" must be an array of { url: "http(s)://…", key: "<witness verifier key>" }';
  if (!Array.isArray(value) || value.length > MAX_WITNESSES) {
    throw new SealogError('E_CONFIG', `${shape}, at most ${MAX_WITNESSES}`);
  }
  for (const [i, w] of value.entries()) {
    const field = `checkpoint.witnesses[${i}]`;
    if (typeof w !== 'object' || w === null || Array.isArray(w)) throw new SealogError('E_CONFIG', shape);
    for (const k of Object.keys(w)) {
      if (k !== 'url' && k !== 'key')
        throw new SealogError('E_CONFIG', unknownKeyMessage(`${field}.${k}`, k, ['url', 'key']));
    }
    const { url, key } = w as { url?: unknown; key?: unknown };
    let parsed: URL | undefined;
    try {
      parsed = typeof url === 'string' ? new URL(url) : undefined;
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      throw new SealogError(
        'E_CONFIG',
        `option "${field}.url" must be an http:// or https:// URL, got ${JSON.stringify(url)}`,
      );
    }
    let vkey: ReturnType<typeof parseVerifierKey> | undefined;
    try {
      vkey = typeof key === 'string' ? parseVerifierKey(key) : undefined;
    } catch {
      vkey = undefined;
    }
    if (vkey === undefined || vkey.type !== SIG_TYPE_COSIGNATURE) {
      throw new SealogError(
        'E_CONFIG',
        `option "${field}.key" must be the witness's verifier key (type 0x04, printed by \`sealog witness keygen\`)`,
      );
    }
  }
}

/** More witnesses than this is a configuration mistake, not a policy. */
const MAX_WITNESSES = 32;

/**
 * Loads the key named in `options` (checking mode, format and — if `origin`
 * is set — its name). Done before the ledger opens so a bad key fails startup.
 * @throws SealogError E_KEY / E_IO.
 */
export async function loadCheckpointKey(options: CheckpointOptions): Promise<CheckpointKey> {
  if (options.pkcs11 !== undefined) {
    const key = await openPkcs11Key(options.pkcs11);
    if (options.origin !== undefined && key.name !== options.origin) {
      await key.close();
      throw new SealogError(
        'E_KEY',
        `the token key ${key.display} is named ${JSON.stringify(key.name)}, expected ${JSON.stringify(options.origin)} (the ledger origin); set checkpoint.pkcs11.name`,
      );
    }
    return key;
  }
  if (options.keyFile === undefined)
    throw new SealogError('E_CONFIG', 'option "checkpoint.keyFile" or "checkpoint.pkcs11" is required');
  const signer = loadSignerKeyFile(
    options.keyFile,
    options.origin !== undefined ? { expectName: options.origin } : {},
  );
  return fileCheckpointKey(signer, options.keyFile);
}

/** Builds the sealer for an opened store. @throws SealogError E_CONFIG / E_KEY. */
export function createCheckpointer(
  options: CheckpointOptions,
  signer: CheckpointKey,
  store: Store,
  onError: (err: SealogError) => void,
): Checkpointer {
  const o: ConstructorParameters<typeof Checkpointer>[0] = { store, signer, onError };
  if (options.origin !== undefined) o.origin = options.origin;
  if (options.everyRecords !== undefined) o.everyRecords = options.everyRecords;
  if (options.everyMs !== undefined) o.everyMs = options.everyMs;
  if (options.heartbeatMs !== undefined) o.heartbeatMs = options.heartbeatMs;
  if (options.anchorFile !== undefined) o.anchorFile = options.anchorFile;
  Object.assign(o, createSubmitters(options, signer, store, onError));
  return new Checkpointer(o);
}

/**
 * The witness submitter and TSA requester `options` asks for (none when it asks
 * for neither), for the writer's sealer and for the one-shot `sealog checkpoint`.
 * @throws SealogError E_CONFIG (a witness key that is the log's own time key, bad TSA anchors).
 */
export function createSubmitters(
  options: CheckpointOptions,
  signer: CheckpointKey,
  store: Store,
  onError: (err: SealogError) => void,
): { witnesses?: WitnessSubmitter; timestamps?: TimestampRequester } {
  const out: { witnesses?: WitnessSubmitter; timestamps?: TimestampRequester } = {};
  if (options.witnesses !== undefined && options.witnesses.length > 0) {
    // The log's own time key is a 0x04 key too, and whoever holds the log key can make
    // its lines: as a "witness" it would witness nothing (verify refuses it as well).
    const own = signer.time;
    for (const [i, w] of options.witnesses.entries()) {
      const key = parseVerifierKey(w.key);
      if (key.vkey === own.verifierKey || key.name === own.name || bytesEqual(key.publicKey, own.publicKey)) {
        throw new SealogError(
          'E_CONFIG',
          `option "checkpoint.witnesses[${i}].key" is this log's own time key (${own.name}), the second line \`sealog keygen\` printed; a witness key comes from \`sealog witness keygen\` on the witness's host`,
        );
      }
    }
    out.witnesses = new WitnessSubmitter({
      witnesses: options.witnesses,
      store,
      onError,
      ...(options.anchorFile !== undefined ? { anchorFile: options.anchorFile } : {}),
      ...(options.witnessTimeoutMs !== undefined ? { timeoutMs: options.witnessTimeoutMs } : {}),
    });
  }
  const ts = options.timestamp;
  if (ts !== undefined && ts.mode !== 'off') {
    out.timestamps = new TimestampRequester({
      urls: ts.urls ?? [],
      mode: ts.mode,
      store,
      ownKey: signer.log.verifierKey,
      onError,
      ...(ts.policy !== undefined ? { policy: ts.policy } : {}),
      ...(ts.timeoutMs !== undefined ? { timeoutMs: ts.timeoutMs } : {}),
      ...(ts.trustAnchorsFile !== undefined
        ? { trustAnchors: readTrustAnchorsFile(ts.trustAnchorsFile) }
        : {}),
      ...(options.anchorFile !== undefined ? { anchorFile: options.anchorFile } : {}),
    });
  }
  return out;
}

/**
 * The writer's trust root for `options`: its own verifier key and origin, and the
 * heads that key signed in the anchor file (checked against the rows on open).
 * @throws SealogError E_IO when the anchor file exists but cannot be read.
 */
export function createWriterTrust(
  options: CheckpointOptions,
  signer: CheckpointKey,
  onDiverge: (err: SealogError) => void,
): WriterTrust {
  const own = new OwnKey(signer.log.verifierKey, options.origin ?? signer.name);
  if (options.anchorFile === undefined) return { own, heads: [], onDiverge };
  const anchor = new AnchorHeads(own, options.anchorFile);
  return { own, heads: [...anchor.read()], anchor, onDiverge };
}
