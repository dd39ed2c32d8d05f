// Shared by the writer-side timestamp tests (issue 16, item 2): a checkpoint
// key, a PEM file of the test TSA's CA, a sink writing records in rounds, and
// the rows the writer left in the ledger file.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKey, writeKeyFile } from '../../packages/core/src/index.js';
import { withDb } from '../helpers/sink-rounds.js';
import { tempDir } from '../helpers/tmp.js';
import type { TestPki } from '../helpers/tsa.js';

export { checkpointRows, recordCount, withDb, writeRecords } from '../helpers/sink-rounds.js';

export const ORIGIN = 'stamped.example/log';

export interface Setup {
  dir: string;
  keyFile: string;
  /** The log's verifier key and its time cosigner's. */
  keys: string[];
  path: string;
  anchor: string;
  /** The test CA as a PEM file (checkpoint.timestamp.trustAnchorsFile). */
  caFile: string;
}

export function setup(pki: TestPki): Setup {
  const dir = tempDir();
  const k = generateKey(ORIGIN);
  const keyFile = join(dir, 'log.key');
  writeKeyFile(keyFile, k.privateKey);
  const caFile = join(dir, 'tsa-ca.pem');
  writeFileSync(caFile, pki.caPem);
  return {
    dir,
    keyFile,
    keys: [k.verifierKey, k.cosignerVerifierKey],
    path: join(dir, 'audit.db'),
    anchor: join(dir, 'anchor.txt'),
    caFile,
  };
}

export function sha256(text: string | Uint8Array): Buffer {
  return createHash('sha256').update(text).digest();
}

export const tokenRows = (path: string) =>
  withDb(
    path,
    (db) =>
      db
        .prepare('SELECT size, note_sha256, token, tsa_time FROM checkpoint_timestamps ORDER BY id')
        .all() as { size: number; note_sha256: Buffer; token: Buffer; tsa_time: number }[],
  );
