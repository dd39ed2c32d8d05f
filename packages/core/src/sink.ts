import { existsSync } from 'node:fs';
import { bindAnchor, ledgerIdentity } from './checkpoint/binding.js';
import {
  type CheckpointOptions,
  createCheckpointer,
  createWriterTrust,
  loadCheckpointKey,
} from './checkpoint/config.js';
import type { NoiseConfig } from './dp/config.js';
import { planLine, planNoise } from './dp/plan.js';
import { SealogError } from './errors.js';
import { Ledger, type LedgerOptions, type LedgerStats } from './ledger.js';
import { parseVerifierKey } from './note/keys.js';
import { LEDGER_OPTION_KEYS, SINK_OPTION_KEYS, validateSinkOptions } from './options.js';
import { transformRecord } from './prepare.js';
import { createPrivacyPipeline, loadKeyring, type PrivacyConfig } from './privacy/index.js';
import { listSegments } from './segments/layout.js';
import { SegmentedStore } from './segments/store.js';
import type { CheckpointKey } from './signer/types.js';
import type { RecordTransform, Sealer } from './stages.js';
import { isPostgresUrl } from './store/postgres/url.js';
import type { CommitResult } from './store/types.js';
import { handoversFrom } from './verify/rotations.js';

export type { RecordTransform, Sealer };

/**
 * What a transport hands sealog: plain JSON only, because pino transport
 * options cross a worker-thread boundary (structured clone). Validated in
 * full by {@link openSink} before anything is opened.
 */
export interface SinkOptions {
  /** Ledger file path, or a `postgres://` URL for a ledger shared by many hosts. Required. */
  path: string;
  durability?: LedgerOptions['durability'];
  batchSize?: number;
  batchDelayMs?: number;
  busyTimeoutMs?: number;
  maxPending?: number;
  /** Bytes of records accepted but not yet committed before the overload policy applies (default 4 MiB). */
  maxQueueBytes?: number;
  /**
   * When records arrive faster than the ledger commits them: `shed` (default)
   * counts what does not fit and seals the count as a gap record; `block` slows
   * the producer (see docs/performance.md "Overload").
   */
  overload?: 'shed' | 'block';
  /** Worker threads that prepare records (privacy, noise, encoding); 0 = the transport's own thread. */
  workers?: number;
  maxEntryBytes?: number;
  maxStringLength?: number;
  maxDepth?: number;
  /** Privacy transforms applied to every record before it is encoded (docs/privacy.md). */
  privacy?: PrivacyConfig;
  /** Signed checkpoints (docs/checkpoints.md); absent = no sealing. */
  checkpoint?: CheckpointOptions;
  /** Rotate into segment files by size and/or age; `path` is then a directory (docs/lifecycle.md "Segments"). */
  segments?: LedgerOptions['segments'];
}

// Option keys and their checks live in options.ts: every option is checked there, once.
const LEDGER_KEYS = LEDGER_OPTION_KEYS;

export { SINK_OPTION_KEYS, validateSinkOptions };

export interface SinkHooks {
  onError?: (err: SealogError) => void;
  /** Called after every commit, after the sealers (e.g. to publish counters). Must not throw. */
  onCommit?: (result: CommitResult) => void;
  /** Startup notices (one line each, e.g. each noised field's accuracy); default: stderr with a `sealog: ` prefix. */
  onNotice?: (line: string) => void;
}

/**
 * One record path: transform (privacy) → encode → ledger (batched commit) → sealer
 * (checkpoints). Transports are thin adapters over this.
 */
export class Sink {
  readonly ledger: Ledger;
  readonly #transforms: RecordTransform[];
  readonly #sealers: Sealer[];
  readonly #onError: (err: SealogError) => void;
  readonly #key: CheckpointKey | undefined;
  #closing: Promise<void> | undefined;

  constructor(
    ledger: Ledger,
    transforms: RecordTransform[],
    sealers: Sealer[],
    onError: (err: SealogError) => void,
    /** The checkpoint key the sealers sign with; released (token logout) after they close. */
    key?: CheckpointKey,
  ) {
    this.ledger = ledger;
    this.#transforms = transforms;
    this.#sealers = sealers;
    this.#onError = onError;
    this.#key = key;
  }

  get stats(): LedgerStats {
    return this.ledger.stats;
  }

  /** Processes and queues one record. Never throws for record content. */
  write(record: Record<string, unknown>): void {
    this.ledger.write(transformRecord(record, this.#transforms, this.#onError));
  }

  flush(): Promise<void> {
    return this.ledger.flush();
  }

  /** Commits everything, lets sealers write their final checkpoint, then closes. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.ledger.flush();
        for (const s of this.#sealers) await s.close();
        for (const t of this.#transforms) t.close?.();
      } finally {
        try {
          await this.ledger.close();
        } finally {
          await this.#key?.close();
        }
      }
    })();
    return this.#closing;
  }

  /** Used by sealers wired after construction. */
  notifyCommit(result: CommitResult): void {
    for (const s of this.#sealers) {
      try {
        s.onCommit(result);
      } catch (err) {
        this.#onError(new SealogError('E_IO', 'checkpointing failed after a commit', { cause: err }));
      }
    }
  }
}

/** Validates options, opens the ledger and wires the pipeline. Throws E_CONFIG/E_IO/E_NOT_LEDGER at startup. */
export async function openSink(options: unknown, hooks: SinkHooks = {}): Promise<Sink> {
  const o = validateSinkOptions(options);
  const onError =
    hooks.onError ?? ((err: SealogError) => process.stderr.write(`sealog: ${err.code}: ${err.message}\n`));
  // Keys are loaded before the ledger opens, so a bad key fails startup without creating a file.
  const signer = o.checkpoint ? await loadCheckpointKey(o.checkpoint) : undefined;
  try {
    const plain = o.segments === undefined ? o.path : newestSegmentFile(o.path);
    if (signer && plain !== undefined && !isPostgresUrl(plain) && existsSync(plain))
      refuseRetiredKey(plain, signer);
    return await openWith(o, signer, onError, hooks);
  } catch (err) {
    await signer?.close();
    throw err;
  }
}

/** The newest segment file of a segmented ledger's directory, if it has one. */
function newestSegmentFile(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  try {
    return listSegments(dir).slots.findLast((s) => s.file !== undefined)?.file;
  } catch {
    return undefined; // opening the store reports it
  }
}

/**
 * A key that handed over (`sealog key rotate`) must not sign again: verify
 * reports what it signs after the hand-over as retired-key. Checked on the
 * rows after the key's newest checkpoint, where `key rotate` puts the statement.
 * @throws SealogError E_KEY naming the new key.
 */
function refuseRetiredKey(path: string, key: CheckpointKey): void {
  const done = handoversFrom(path, parseVerifierKey(key.log.verifierKey), { sinceOwnCheckpoint: true });
  if (done.length > 0) {
    throw new SealogError(
      'E_KEY',
      `checkpoint key ${key.display} handed over at size ${done[0]!.size} to ${done[0]!.to} (sealog key rotate); configure the new key`,
    );
  }
}

async function openWith(
  o: ReturnType<typeof validateSinkOptions>,
  signer: CheckpointKey | undefined,
  onError: (err: SealogError) => void,
  hooks: SinkHooks,
): Promise<Sink> {
  const psn = o.privacy?.pseudonymize;
  if (psn) loadKeyring(psn.keys, psn.current); // checked now; the pipeline loads them again below
  let sink: Sink | undefined;
  const ledgerOpts: LedgerOptions = {
    path: o.path,
    onError,
    onCommit: (r) => {
      sink?.notifyCommit(r);
      hooks.onCommit?.(r);
    },
  };
  for (const k of LEDGER_KEYS) if (o[k] !== undefined) Object.assign(ledgerOpts, { [k]: o[k] });
  // A segmented store anchors each segment's notes in a file of its own (segments/layout.ts),
  // so neither the trust nor the sealer is given the one anchor file.
  const segmented = o.segments !== undefined;
  const { anchorFile, ...unanchored } = o.checkpoint ?? {};
  const checkpoint = segmented ? (unanchored as CheckpointOptions) : o.checkpoint;
  if (o.checkpoint && checkpoint && signer) {
    // A signing writer derives what it signs; the anchor file's heads are checked on open.
    ledgerOpts.trust = createWriterTrust(checkpoint, signer, onError);
    if (anchorFile !== undefined) bindAnchor(anchorFile, ledgerIdentity(o.path));
  }
  // A transport writes for as long as the app runs: the WAL is checkpointed off its thread.
  const ledger = await Ledger.connect(ledgerOpts, {
    backgroundCheckpoint: true,
    ...(segmented && anchorFile !== undefined ? { anchorFile } : {}),
  });
  // What the noise will do, said once before the first record (issue 20: one
  // value of a narrow-ε field is mostly noise; the aggregates are what to read).
  const noise = o.privacy?.noise as NoiseConfig | undefined;
  if (noise !== undefined) {
    const notice = hooks.onNotice ?? ((line: string) => process.stderr.write(`sealog: ${line}\n`));
    for (const f of planNoise(noise).fields) notice(planLine(f));
  }
  const transforms: RecordTransform[] = [];
  if (o.privacy) {
    try {
      // Keys are loaded here, at startup: a missing key must fail before the first record.
      // maxDepth: the pipeline normalises records exactly as deep as the encoder will encode them.
      transforms.push(createPrivacyPipeline(o.privacy, { ledger, maxDepth: o.maxDepth }));
    } catch (err) {
      await ledger.close();
      throw err;
    }
  }
  const sealers: Sealer[] = [];
  if (checkpoint && signer) {
    try {
      const sealer = createCheckpointer(checkpoint, signer, ledger.store, onError);
      // A rotation leaves a closed segment to seal at its final size: soon, not at the next interval.
      if (ledger.store instanceof SegmentedStore) ledger.store.onRotate = () => sealer.sealSoon();
      sealers.push(sealer);
    } catch (err) {
      await ledger.close();
      throw err;
    }
  }
  sink = new Sink(ledger, transforms, sealers, onError, signer);
  return sink;
}
