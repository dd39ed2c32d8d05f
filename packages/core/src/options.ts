// Every sink option is checked here, once, before anything opens: the
// ledger's (path, durability, batching, encoder caps), then the `checkpoint`
// and `privacy` sections through their own validators, which name nested
// fields by full path (`privacy.pseudonymize.keys[0].file`). Options were
// "validated in full" while `maxDepth: 'x'` or `maxEntryBytes: 'big'` passed
// and silently disabled the caps (issue 14, finding 10). A message names the
// field, the accepted values and what was given: `option "maxDepth" must be
// an integer from 1 to 1000, got "x"`.

import { validateCheckpointOptions } from './checkpoint/config.js';
import { MAX_DEPTH_LIMIT } from './encode.js';
import { SealogError } from './errors.js';
import { validatePrivacyConfig } from './privacy/config.js';
import { looksLikeKeyText } from './privacy/key-file.js';
import type { SinkOptions } from './sink.js';
import { isPostgresUrl } from './store/postgres/url.js';
import { unknownKeyMessage } from './suggest.js';

/** Longest timer Node honours: setTimeout turns anything above 2^31-1 ms into 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** SQLite refuses a blob above 1e9 bytes (SQLITE_MAX_LENGTH); V8 strings stop near 2^29 units. */
const MAX_ENTRY_BYTES_LIMIT = 1_000_000_000;
const MAX_STRING_LIMIT = 2 ** 29 - 24;
/** Below this an entry cannot hold its own `_sealog` marks. */
const MIN_ENTRY_BYTES = 256;

/** Options of the ledger itself (Ledger.open / Ledger.connect). */
export const LEDGER_OPTION_KEYS = [
  'path',
  'durability',
  'batchSize',
  'batchDelayMs',
  'busyTimeoutMs',
  'maxPending',
  'maxQueueBytes',
  'maxEntryBytes',
  'maxStringLength',
  'maxDepth',
  'segments',
] as const;

/** Options keys the sink understands; anything else is a config error (typos must not pass silently). */
export const SINK_OPTION_KEYS: readonly string[] = [
  ...LEDGER_OPTION_KEYS,
  'overload',
  'workers',
  'privacy',
  'checkpoint',
];

/**
 * What pino/file (`destination`) and winston's File transport (`filename`)
 * call the file: the likeliest slip when sealog replaces one of them, and too
 * far from "path" for the edit-distance guess.
 */
const PATH_ALIASES: readonly string[] = ['destination', 'dest', 'filename', 'file'];

const DURABILITIES = ['process', 'power'] as const;
/** What a transport does when records arrive faster than the ledger commits them (docs/performance.md). */
export const OVERLOAD_POLICIES = ['shed', 'block'] as const;
/** Smallest queue bound: a few entries of the default cap must fit. */
const MIN_QUEUE_BYTES = 64 * 1024;
/** Largest worker pool: more threads than this only add contention. */
export const MAX_WORKERS = 64;

/** How a message shows what was given: JSON for plain values, the type otherwise, never long text. */
export function got(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  if (typeof v === 'string') {
    if (looksLikeKeyText(v)) return `a ${v.length}-character string (not shown: it looks like key text)`;
    return v.length > 60 ? `${JSON.stringify(v.slice(0, 60))}…` : JSON.stringify(v);
  }
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

function fail(message: string): never {
  throw new SealogError('E_CONFIG', message);
}

/** An integer in [lo, hi] or undefined (= default). */
function int(o: Record<string, unknown>, k: string, lo: number, hi: number, why = ''): void {
  const v = o[k];
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
    fail(`option "${k}" must be an integer from ${lo} to ${hi}${why}, got ${got(v)}`);
}

/** The ledger's own options (everything but privacy and checkpoint). @throws SealogError E_CONFIG naming the field. */
export function validateLedgerOptions(o: Record<string, unknown>): void {
  if (typeof o.path !== 'string' || o.path.trim() === '')
    fail(
      `option "path" is required: the ledger file to write, e.g. "./audit.db" (or a postgres:// URL), got ${got(o.path)}`,
    );
  if (o.path.includes('\0')) fail('option "path" must not contain a NUL character');
  if (o.durability !== undefined && !(DURABILITIES as readonly unknown[]).includes(o.durability))
    fail(`option "durability" must be "process" or "power", got ${got(o.durability)}`);
  int(o, 'batchSize', 1, Number.MAX_SAFE_INTEGER);
  int(o, 'maxPending', 1, Number.MAX_SAFE_INTEGER);
  int(o, 'maxQueueBytes', MIN_QUEUE_BYTES, Number.MAX_SAFE_INTEGER, ' (bytes)');
  for (const k of ['batchDelayMs', 'busyTimeoutMs']) {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_TIMER_MS))
      fail(`option "${k}" must be a number of milliseconds from 0 to ${MAX_TIMER_MS}, got ${got(v)}`);
  }
  int(o, 'maxEntryBytes', MIN_ENTRY_BYTES, MAX_ENTRY_BYTES_LIMIT, ' (bytes)');
  int(o, 'maxStringLength', 1, MAX_STRING_LIMIT, ' (UTF-16 code units)');
  int(o, 'maxDepth', 1, MAX_DEPTH_LIMIT);
  if (o.segments !== undefined) validateSegments(o.segments, o.path);
}

/** Smallest segment: a few hundred records, so rotation never dominates the write path. */
export const MIN_SEGMENT_BYTES = 64 * 1024;
/** Youngest segment age that can be asked for: one rotation a second at most. */
export const MIN_SEGMENT_AGE_MS = 1000;

/** The `segments` option: { maxBytes?, maxAgeMs? }, at least one, on a SQLite ledger. */
function validateSegments(v: unknown, path: string): void {
  const shape =
    'option "segments" must be an object like { maxBytes: 268435456 } or { maxAgeMs: 86400000 } (either or both)';
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${shape}, got ${got(v)}`);
  const s = v as Record<string, unknown>;
  for (const k of Object.keys(s)) {
    if (k !== 'maxBytes' && k !== 'maxAgeMs')
      fail(unknownKeyMessage(`segments.${k}`, k, ['maxBytes', 'maxAgeMs']));
  }
  if (s.maxBytes === undefined && s.maxAgeMs === undefined)
    fail(`${shape}: give maxBytes (rotate by size) or maxAgeMs (rotate by age)`);
  const bound = (k: string, lo: number, unit: string) => {
    const x = s[k];
    if (x !== undefined && (typeof x !== 'number' || !Number.isSafeInteger(x) || x < lo))
      fail(`option "segments.${k}" must be an integer ≥ ${lo} (${unit}), got ${got(x)}`);
  };
  bound('maxBytes', MIN_SEGMENT_BYTES, 'bytes');
  bound('maxAgeMs', MIN_SEGMENT_AGE_MS, 'milliseconds');
  if (isPostgresUrl(path))
    fail(
      'option "segments" applies to SQLite ledgers: a PostgreSQL ledger is one sequence in one schema; ' +
        'remove it and use the database\'s own partitioning and backups (docs/lifecycle.md "Segments")',
    );
}

/**
 * What a segmented ledger cannot combine with (docs/lifecycle.md "Segments").
 * @throws SealogError E_CONFIG naming the field.
 */
function checkSegmentsWithCheckpoint(checkpoint: Record<string, unknown>): void {
  const witnesses = checkpoint.witnesses;
  if (Array.isArray(witnesses) && witnesses.length > 0)
    fail(
      'options "segments" and "checkpoint.witnesses" cannot be combined: a C2SP tlog-witness keeps one append-only tree per origin ' +
        'and cosigns only checkpoints consistent with the last one it cosigned, but each segment is a new tree under the same origin, ' +
        'so a witness would see the tree size go down at every rotation and refuse to cosign (origins per segment would need a key ' +
        'per segment, the origin being the key name, and every witness reconfigured at each rotation). Witness a ledger without ' +
        '"segments"; or keep "segments", remove "checkpoint.witnesses", put "checkpoint.anchorFile" on other storage ' +
        'and stamp the checkpoints with "checkpoint.timestamp" (RFC 3161)',
    );
}

/**
 * Checks every sink option (plain JSON, known keys, each value) and returns
 * them with the privacy section's defaults filled in. Nothing is opened or read.
 * @throws SealogError E_CONFIG whose message names the field and says what to fix.
 */
export function validateSinkOptions(options: unknown): SinkOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    fail(`sealog options must be an object like { path: "./audit.db" }, got ${got(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (SINK_OPTION_KEYS.includes(key)) continue;
    if (PATH_ALIASES.includes(key))
      fail(
        `unknown sealog option "${key}"; did you mean "path"? (sealog calls the ledger file "path", e.g. "./audit.db")`,
      );
    fail(unknownKeyMessage(key, key, SINK_OPTION_KEYS).replace('unknown option', 'unknown sealog option'));
  }
  validateLedgerOptions(o);
  if (o.overload !== undefined && !(OVERLOAD_POLICIES as readonly unknown[]).includes(o.overload))
    fail(
      `option "overload" must be "shed" (count and seal what cannot be kept, never slow the app) or "block" (slow the producer), got ${got(o.overload)}`,
    );
  int(o, 'workers', 0, MAX_WORKERS, " (0 prepares records on the transport's own thread)");
  if (o.checkpoint !== undefined) {
    validateCheckpointOptions(o.checkpoint);
    if (o.segments !== undefined) checkSegmentsWithCheckpoint(o.checkpoint as Record<string, unknown>);
    const keyFile = (o.checkpoint as { keyFile?: string }).keyFile ?? '';
    // A key pasted where its path belongs would be printed by "key file ... does not exist".
    // Checkpoint keys are always `PRIVATE+KEY+…` (sealog keygen); a looser test refused
    // ordinary paths with mixed-case random parts (mkdtemp names, /srv/App2-Data/...).
    if (/PRIVATE\+KEY\+/i.test(keyFile))
      fail(
        'option "checkpoint.keyFile" holds what looks like a key, not a path (not shown); ' +
          'keep the key in a file with mode 0600 (`sealog keygen --out audit.key`) and give that file',
      );
  }
  const out = { ...o } as unknown as SinkOptions;
  if (o.privacy !== undefined) out.privacy = validatePrivacyConfig(o.privacy);
  return out;
}
