// The one place the privacy pipeline touches the differential-privacy module:
// it maps the pipeline's host context (the ledger) onto what the noise step
// needs (where ε budgets are persisted: the ledger's SQLite connection, or the
// PostgreSQL ledger's schema).

import type Database from 'better-sqlite3';
import {
  createNoiseTransform,
  type NoiseConfig,
  type NoiseTransform,
  validateNoiseConfig,
} from '../dp/index.js';
import { SealogError } from '../errors.js';
import type { Ledger } from '../ledger.js';
import type { PgTarget } from '../store/postgres/url.js';

/** Validates the raw `noise` section. @throws SealogError E_CONFIG naming the field. */
export function validateNoise(raw: unknown, field: string): NoiseConfig {
  return validateNoiseConfig(raw, field);
}

/** Builds the noise step (runs last, after pseudonymization), with budgets in the ledger (file or PostgreSQL schema) when there is one. */
export function createNoise(config: unknown, ctx: Record<string, unknown>): NoiseTransform {
  const store = (ctx.ledger as Ledger | undefined)?.store as
    | { db?: Database.Database; target?: PgTarget }
    | undefined;
  if (store && !store.db && !store.target) {
    // Per-process budgets on a ledger shared by many writers would multiply ε by the writer count.
    throw new SealogError(
      'E_CONFIG',
      'privacy.noise needs a per-unit ε budget shared by every writer, which this ledger cannot keep; ' +
        'remove privacy.noise (see docs/differential-privacy.md)',
    );
  }
  return createNoiseTransform(config as NoiseConfig, {
    ...(store?.db ? { db: store.db } : store?.target ? { postgres: { target: store.target } } : {}),
    ...(typeof ctx.now === 'function' ? { now: ctx.now as () => number } : {}),
  });
}
