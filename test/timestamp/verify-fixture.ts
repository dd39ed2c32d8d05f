// Shared by the verify-side timestamp tests: ledgers written by a real sink
// with checkpoint.timestamp against the test TSA, kept for a whole file
// (tempDir() is removed after each test, these are removed in afterAll).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Bundle,
  exportBundle,
  generateKey,
  LedgerReader,
  type SealogError,
  writeKeyFile,
} from '../../packages/core/src/index.js';
import { startTestTsa, type TestPki } from '../helpers/tsa.js';
import { ORIGIN, type Setup, writeRecords } from './harness.js';

/** A log key, CA file and ledger/anchor paths named `name` inside `shared`. */
export function setupIn(shared: string, name: string, pki: TestPki): Setup {
  const dir = join(shared, name);
  const k = generateKey(ORIGIN);
  const keyFile = `${dir}.key`;
  writeKeyFile(keyFile, k.privateKey);
  const caFile = `${dir}-ca.pem`;
  writeFileSync(caFile, pki.caPem);
  return {
    dir: shared,
    keyFile,
    keys: [k.verifierKey, k.cosignerVerifierKey],
    path: `${dir}.db`,
    anchor: `${dir}-anchor.txt`,
    caFile,
  };
}

/** Writes rounds × 50 records with a checkpoint every 100 and best-effort timestamps from `url`. */
export async function writeStamped(
  t: Setup,
  url: string,
  rounds = 6,
  path = t.path,
  anchor = t.anchor,
): Promise<void> {
  const errors: SealogError[] = [];
  await writeRecords(
    {
      path,
      checkpoint: {
        keyFile: t.keyFile,
        everyRecords: 100,
        anchorFile: anchor,
        timestamp: { mode: 'best-effort', urls: [url], timeoutMs: 2000 },
      },
    },
    rounds,
    errors,
  );
}

/** A URL where no TSA listens (the TSA is down). */
export async function downUrl(pki: TestPki): Promise<string> {
  const gone = await startTestTsa(pki);
  await gone.close();
  return gone.url;
}

/** The bundle of records 10..20 of `t`'s ledger with its anchor notes, changed by `edit` (to forge it). */
export function stampedBundle(t: Setup, edit?: (b: Bundle) => void): Bundle {
  const reader = new LedgerReader(t.path);
  try {
    const { bundle } = exportBundle(reader, {
      query: { seqFrom: 10, seqTo: 20 },
      keys: t.keys,
      anchorText: readFileSync(t.anchor, 'utf8'),
    });
    edit?.(bundle);
    return bundle;
  } finally {
    reader.close();
  }
}

/** stampedBundle written to `<dir>/<name>.json`; returns the path. */
export function writeStampedBundle(dir: string, name: string, t: Setup, edit?: (b: Bundle) => void): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(stampedBundle(t, edit)));
  return path;
}
