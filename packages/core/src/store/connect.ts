// The one place a ledger path becomes a store: a file path opens SQLite, a
// `postgres://` URL opens PostgreSQL (loaded only then, so a SQLite user never
// loads the pg driver). The sink, Ledger.connect and `sealog checkpoint` all
// come through here instead of branching on the URL themselves.

import { existsSync } from 'node:fs';
import { SealogError } from '../errors.js';
import { isSegmentDir } from '../segments/layout.js';
import { SegmentedStore, type SegmentsOptions } from '../segments/store.js';
import { isPostgresUrl } from './postgres/url.js';
import { type Durability, SqliteStore } from './sqlite.js';
import type { Store, WriterTrust } from './types.js';

export interface ConnectOptions {
  /** SQLite only: what a commit survives (see Durability). Refused for PostgreSQL. */
  durability?: Durability;
  /** Longest wait for another writer's lock: SQLite's busy timeout, PostgreSQL's lock_timeout. */
  busyTimeoutMs?: number;
  /** A signing writer's trust root (chain/derive.ts). */
  trust?: WriterTrust;
  /** false: refuse a ledger that does not exist yet instead of creating it (default true). */
  create?: boolean;
  /** SQLite only: checkpoint the WAL from a thread of its own (SqliteStoreOptions); ignored for PostgreSQL. */
  backgroundCheckpoint?: boolean;
  /** SQLite only: `path` is a directory of segment files rotated by size and/or age (docs/lifecycle.md). */
  segments?: SegmentsOptions;
  /** With `segments`: the writer's `checkpoint.anchorFile`; segment k's notes go to `<anchorFile>.seg-NNNNNN`. */
  anchorFile?: string;
}

/** A store that can report what it refused to sign (both backends). */
export type ConnectedStore = Store & { readonly divergence: SealogError | undefined };

/**
 * Opens the ledger at `path` (a file, or a `postgres://` URL).
 * @throws SealogError E_CONFIG for an option the backend does not take, E_IO / E_NOT_LEDGER / E_STATE from the store.
 */
export async function connectStore(path: string, options: ConnectOptions = {}): Promise<ConnectedStore> {
  if (isPostgresUrl(path)) {
    if (options.segments !== undefined) {
      throw new SealogError(
        'E_CONFIG',
        'option "segments" applies to SQLite ledgers; a PostgreSQL ledger is one sequence: use the database\'s own partitioning and backups',
      );
    }
    if (options.durability !== undefined) {
      throw new SealogError(
        'E_CONFIG',
        'durability applies to SQLite ledgers; a PostgreSQL commit is as durable as the server makes it (synchronous_commit), so remove the option',
      );
    }
    const { PgStore } = await import('./postgres/store.js');
    return PgStore.open(path, {
      ...(options.busyTimeoutMs !== undefined ? { lockTimeoutMs: options.busyTimeoutMs } : {}),
      ...(options.trust !== undefined ? { trust: options.trust } : {}),
      ...(options.create !== undefined ? { create: options.create } : {}),
    });
  }
  const sqlite = {
    ...(options.durability !== undefined ? { durability: options.durability } : {}),
    ...(options.busyTimeoutMs !== undefined ? { busyTimeoutMs: options.busyTimeoutMs } : {}),
    ...(options.trust !== undefined ? { trust: options.trust } : {}),
    ...(options.backgroundCheckpoint === true ? { backgroundCheckpoint: true } : {}),
  };
  if (options.segments !== undefined) {
    if (options.create === false && !isSegmentDir(path)) {
      throw new SealogError('E_IO', `segmented ledger ${path} does not exist`);
    }
    return new SegmentedStore(path, {
      ...sqlite,
      segments: options.segments,
      ...(options.anchorFile !== undefined ? { anchorFile: options.anchorFile } : {}),
    });
  }
  if (isSegmentDir(path)) {
    throw new SealogError(
      'E_CONFIG',
      `${path} is a directory of ledger segments; to write it, give the option "segments" (e.g. { maxBytes: 268435456 }), as its writers do`,
    );
  }
  if (options.create === false && !existsSync(path)) {
    throw new SealogError('E_IO', `ledger ${path} does not exist`);
  }
  return new SqliteStore(path, sqlite);
}
