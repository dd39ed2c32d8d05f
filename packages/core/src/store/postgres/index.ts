// The PostgreSQL backend: loaded only when a postgres:// URL is used.

export { readPgBudgets } from '../../dp/budget-read-postgres.js';
export { copySqliteToPg } from './from-sqlite.js';
export { holdPg, lockPgHolds, verifiedPgHolds } from './hold-write.js';
export { readPgHoldsFile } from './holds.js';
export { initPgLedger } from './init.js';
export { type PgPruneOptions, type PgPruneResult, prunePg } from './prune.js';
export { grantsSql } from './schema.js';
export { followPg, type PgSnapshot, snapshotPg } from './snapshot.js';
export { PgStore, type PgStoreOptions } from './store.js';
export { type CopyResult, copyPgToSqlite, type PgToSqliteOptions } from './to-sqlite.js';
