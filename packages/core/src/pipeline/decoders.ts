// What a prepare worker runs (issue 15, item 1): a transport's line decoder,
// then the sink's transforms and the encoder (prepare.ts), over one batch of
// lines. The same functions run on a pool worker and, for a batch that kills
// workers, on the pool's own thread: an entry's bytes never depend on where
// it was prepared. A batch comes back as three transferable buffers (entry
// bytes, lengths, index times), never as one structured clone per entry.

import Database from 'better-sqlite3';
import type { EncodeLimits } from '../encode.js';
import { SealogError } from '../errors.js';
import { encodeEntry, transformRecord } from '../prepare.js';
import { createPrivacyPipeline, type PrivacyConfig } from '../privacy/index.js';
import type { RecordTransform } from '../stages.js';
import { assertLedger, assertRegularFiles, ioError } from '../store/open.js';
import { isPostgresUrl, parsePgUrl } from '../store/postgres/url.js';
import { DEFAULT_BUSY_TIMEOUT_MS, type Durability } from '../store/sqlite.js';
import type { PendingEntry } from '../store/types.js';

/**
 * What a decoder returns for a line it refuses: the line is not stored, and
 * the batch counts it in `refused` for the caller to report (the winston
 * worker's "record(s) arrived unreadable"). `Symbol.for`, so a decoder module
 * that loads its own copy of @sealog/core still returns the same value.
 */
export const REFUSE_LINE: unique symbol = Symbol.for('sealog.refuseLine');

/**
 * Turns one input line into the record to store. `now` is the batch's receive
 * time (the committer's clock), for records the decoder has to stamp itself.
 * Must not throw; a decoder that throws has its line refused and reported (E_IO).
 */
export type LineDecoder = (line: string, now: number) => Record<string, unknown> | typeof REFUSE_LINE;

/** A decoder a worker thread can load: `(await import(module))[name](config)` returns a {@link LineDecoder}. */
export interface DecoderSpec {
  /**
   * A file URL (`new URL('./decode.js', import.meta.url).href`). A bare
   * specifier resolves from @sealog/core's own directory, which cannot see a
   * transport package: resolve it in the caller (`import.meta.resolve`).
   */
  module: string;
  /** The exported factory. */
  name: string;
  /** Passed to the factory; must survive structured clone (plain data). */
  config: unknown;
}

/** The sink options a prepare worker needs (validateSinkOptions output; other keys are ignored). */
export interface PrepareSinkOptions {
  /** The ledger: its SQLite file holds the noise step's ε budgets. */
  path: string;
  privacy?: PrivacyConfig;
  maxDepth?: number;
  maxStringLength?: number;
  maxEntryBytes?: number;
  busyTimeoutMs?: number;
  /** As the ledger's: budget takes are synced like its commits ('power': every one reaches the disk). */
  durability?: Durability;
}

/** A loaded decoder plus the transforms and limits of one sink. */
export interface Preparer {
  readonly decode: LineDecoder;
  readonly transforms: readonly RecordTransform[];
  readonly limits: EncodeLimits;
  /** Hands unused ε leases back and closes the budget connection. */
  close(): void;
}

/** One prepared batch as it crosses threads: `lengths[i]` is -1 for a refused line. */
export interface BatchBuffers {
  bytes: ArrayBuffer;
  lengths: Int32Array<ArrayBuffer>;
  ts: Float64Array<ArrayBuffer>;
  refused: number;
}

/**
 * The entries of one batch, in line order, as views of one buffer (no copy).
 * Iterating yields the stored lines' entries; refused lines (`lengths[i] < 0`) are skipped.
 */
export class PreparedBatch implements Iterable<PendingEntry> {
  /** Concatenated entry bytes. */
  readonly bytes: Buffer;
  /** Per input line: entry length in bytes, or -1 when the decoder refused the line. */
  readonly lengths: Int32Array;
  /** Per input line: the entry's index time (NaN for a refused line). */
  readonly ts: Float64Array;
  /** Lines the decoder refused (not stored; the caller counts and reports them). */
  readonly refused: number;

  constructor(b: BatchBuffers) {
    this.bytes = Buffer.from(b.bytes);
    this.lengths = b.lengths;
    this.ts = b.ts;
    this.refused = b.refused;
  }

  /** Input lines in the batch, refused ones included. */
  get lines(): number {
    return this.lengths.length;
  }

  *[Symbol.iterator](): Iterator<PendingEntry> {
    let at = 0;
    for (let i = 0; i < this.lengths.length; i++) {
      const n = this.lengths[i]!;
      if (n < 0) continue;
      yield { entry: this.bytes.subarray(at, at + n), ts: this.ts[i]! };
      at += n;
    }
  }

  /** The stored lines' entries as an array. */
  entries(): PendingEntry[] {
    return [...this];
  }
}

/**
 * Imports the decoder and builds the sink's transforms with their own budget
 * connection (noise only). The ledger file must exist: the committer opens it first.
 * @throws SealogError E_CONFIG (decoder not found, budget table not creatable), E_KEY, E_IO, E_NOT_LEDGER.
 */
export async function openPreparer(decoder: DecoderSpec, sink: PrepareSinkOptions): Promise<Preparer> {
  const decode = await loadDecoder(decoder);
  const limits: EncodeLimits = {};
  for (const k of ['maxDepth', 'maxStringLength', 'maxEntryBytes'] as const)
    if (sink[k] !== undefined) limits[k] = sink[k];
  if (!sink.privacy) return { decode, transforms: [], limits, close: () => {} };
  const db = sink.privacy.noise !== undefined && !isPostgresUrl(sink.path) ? openBudgets(sink) : undefined;
  try {
    // noise-link.ts finds budgets at ctx.ledger.store.db (SQLite) or .target (PostgreSQL).
    const ledger = { store: db ? { db } : isPostgresUrl(sink.path) ? { target: parsePgUrl(sink.path) } : {} };
    const pipeline = createPrivacyPipeline(sink.privacy, { ledger, maxDepth: sink.maxDepth });
    return {
      decode,
      transforms: [pipeline],
      limits,
      close() {
        try {
          pipeline.close?.();
        } finally {
          db?.close();
        }
      },
    };
  } catch (err) {
    db?.close();
    throw err;
  }
}

async function loadDecoder(spec: DecoderSpec): Promise<LineDecoder> {
  let factory: unknown;
  try {
    factory = ((await import(spec.module)) as Record<string, unknown>)[spec.name];
  } catch (err) {
    throw new SealogError('E_CONFIG', `could not load the line decoder module ${spec.module}`, {
      cause: err,
    });
  }
  if (typeof factory !== 'function')
    throw new SealogError('E_CONFIG', `${spec.module} does not export a decoder factory "${spec.name}"`);
  let decode: unknown;
  try {
    decode = factory(spec.config);
  } catch (err) {
    throw new SealogError('E_CONFIG', `decoder factory "${spec.name}" of ${spec.module} threw`, {
      cause: err,
    });
  }
  if (typeof decode !== 'function')
    throw new SealogError('E_CONFIG', `decoder factory "${spec.name}" did not return a function`);
  return decode as LineDecoder;
}

/** A read-write connection used only for the `dp_budget` table (every take is BEGIN IMMEDIATE). */
function openBudgets(sink: PrepareSinkOptions): Database.Database {
  assertRegularFiles(sink.path); // a FIFO would block open(2) for ever (issue 14, finding 8)
  let db: Database.Database;
  try {
    db = new Database(sink.path, {
      fileMustExist: true,
      timeout: sink.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
    });
  } catch (err) {
    throw ioError(sink.path, 'open the ε budgets of', err);
  }
  try {
    assertLedger(db, sink.path);
    // Synced as the ledger's own connection (sqlite.ts), which the in-thread noise step
    // shares: with durability 'power' every budget take reaches the disk before it is used.
    db.pragma(`synchronous = ${sink.durability === 'power' ? 'FULL' : 'NORMAL'}`);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/**
 * Prepares `text` (lines joined by '\n'; '' is one empty line), or the lines
 * of several such parts in order, with receive time `now`. Never throws: a
 * transform failure reduces the record to a marker (prepare.ts), a decoder
 * that throws has its line refused.
 */
export function prepareLines(
  text: string | readonly string[],
  now: number,
  p: Preparer,
  onError: (err: SealogError) => void,
): BatchBuffers {
  const lines = typeof text === 'string' ? text.split('\n') : text.flatMap((part) => part.split('\n'));
  const n = lines.length;
  const parts: Buffer[] = [];
  const lengths = new Int32Array(n);
  const ts = new Float64Array(n);
  let total = 0;
  let refused = 0;
  let threw = 0;
  for (let i = 0; i < n; i++) {
    let record: ReturnType<LineDecoder>;
    try {
      record = p.decode(lines[i]!, now);
    } catch {
      threw++;
      record = REFUSE_LINE;
    }
    if (record === REFUSE_LINE) {
      lengths[i] = -1;
      ts[i] = Number.NaN;
      refused++;
      continue;
    }
    const { entry, ts: t } = encodeEntry(transformRecord(record, p.transforms, onError), p.limits, now);
    parts.push(entry);
    lengths[i] = entry.length;
    ts[i] = t;
    total += entry.length;
  }
  if (threw > 0) {
    // The decoder's error is not forwarded: its message may quote the line.
    onError(new SealogError('E_IO', `the line decoder threw; ${threw} line(s) were refused`));
  }
  // An unpooled buffer of its own: a slice of Buffer's shared pool cannot be transferred.
  const out = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (const part of parts) at += part.copy(out, at);
  return { bytes: out.buffer as ArrayBuffer, lengths, ts, refused };
}
