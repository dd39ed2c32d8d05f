import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { SqliteStore } from '../../store/sqlite.js';

/**
 * A fresh SQLite ledger file per call, for the budget tests that share one file
 * between trackers; every directory made is removed after each test.
 */
export function tempLedgers(prefix: string): () => SqliteStore {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sealog-${prefix}-`));
    dirs.push(dir);
    return new SqliteStore(path.join(dir, 'audit.db'));
  };
}
