import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Bundle,
  exportBundle,
  generateKey,
  Ledger,
  LedgerReader,
  parseSignerKey,
  type RecordQuery,
  SqliteStore,
  sealHead,
} from '../packages/core/src/index.js';

/** A ledger on disk with `count` records, sealed at `sealAt` sizes; keys and anchor file beside it. */
export interface SealedLedger {
  path: string;
  anchor: string;
  origin: string;
  /** [log vkey, time cosigner vkey]. */
  vkeys: string[];
  privateKey: string;
}

/** Appends `count` pino-like records (every third one a warning) to a ledger at `path`. */
export async function appendRecords(path: string, from: number, count: number): Promise<void> {
  const ledger = Ledger.open({ path, batchDelayMs: 0 });
  for (let i = from; i < from + count; i++) {
    ledger.write({
      time: 1_760_000_000_000 + i * 1000,
      level: i % 3 === 0 ? 40 : 30,
      msg: i % 3 === 0 ? 'permission denied' : 'invoice viewed',
      actor: `psn:k1:user${i % 5}`,
      action: i % 3 === 0 ? 'export' : 'view',
      n: i,
    });
  }
  await ledger.close();
}

/** Seals the ledger's current head with the key; appends to the anchor file. */
export async function seal(l: SealedLedger, nowMs = 1_760_000_500_000): Promise<string> {
  const store = new SqliteStore(l.path);
  try {
    return (await sealHead(store, parseSignerKey(l.privateKey), { anchorFile: l.anchor, nowMs })).note;
  } finally {
    store.close();
  }
}

/** A ledger with records [0, count) sealed once at the end (and at `alsoAt` first, if given). */
export async function sealedLedger(
  dir: string,
  count: number,
  options: { origin?: string; alsoAt?: number; name?: string } = {},
): Promise<SealedLedger> {
  const origin = options.origin ?? 'audit.example.com/billing';
  const key = generateKey(origin);
  const name = options.name ?? 'audit';
  const l: SealedLedger = {
    path: join(dir, `${name}.db`),
    anchor: join(dir, `${name}.anchor`),
    origin,
    vkeys: [key.verifierKey, key.cosignerVerifierKey],
    privateKey: key.privateKey,
  };
  const first = options.alsoAt ?? count;
  await appendRecords(l.path, 0, first);
  if (first < count) {
    await seal(l, 1_760_000_400_000);
    await appendRecords(l.path, first, count - first);
  }
  await seal(l);
  return l;
}

/** Exports a bundle from the ledger (core API), with the anchor file. */
export function exportFrom(
  l: SealedLedger,
  query: RecordQuery = {},
  keys = l.vkeys,
  selection: string[] = [],
): Bundle {
  const reader = new LedgerReader(l.path);
  try {
    return exportBundle(reader, {
      query,
      keys,
      anchorText: readFileSync(l.anchor, 'utf8'),
      nowMs: 1_760_001_000_000,
      selection,
    }).bundle;
  } finally {
    reader.close();
  }
}
