import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  addCheckpoint,
  type Bundle,
  mergeCosignatures,
  openCheckpoint,
  SqliteStore,
} from '../../packages/core/src/index.js';
import { runBin } from '../faults/harness.js';
import { type Running, serveWitness, witnessConfig } from './harness.js';
import { type SealedLedger, sealedLedger } from './ledger.js';

// Evidence bundles exported by `sealog export` from a ledger whose checkpoints
// two real `sealog witness serve` processes cosigned, stored as the writer
// stores them: one merged note per witness, as one more checkpoint row beside
// the note the log signed first (witness/submit.ts).

export const ORIGIN = 'audit.example/payments';

export interface WitnessedBundles {
  dir: string;
  ledger: SealedLedger;
  /** Verifier keys of witness.example/w1 and witness2.example/w2. */
  W1: string;
  W2: string;
  /** Records 0..24 against the checkpoint at 25, which both witnesses cosigned. */
  both: Bundle;
  bothFile: string;
  /** Records 25..29 against the checkpoint at 30, which only w1 cosigned. */
  onlyW1: Bundle;
  onlyW1File: string;
  /** Stops the witnesses and removes the directory. */
  close(): Promise<void>;
}

async function storeRow(path: string, note: string): Promise<void> {
  const store = new SqliteStore(path);
  try {
    await store.addCheckpoint(store.head(), note, Date.now());
  } finally {
    store.close();
  }
}

/** Builds the ledger, runs both witnesses, exports both bundles (as .json files). */
export async function witnessedBundles(): Promise<WitnessedBundles> {
  // Not helpers/tmp.ts: that removes the directory after the first test.
  const dir = mkdtempSync(join(tmpdir(), 'sealog-bundle-witness-'));
  const running: Running[] = [];
  const close = async () => {
    for (const r of running.splice(0)) await r.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ledger = await sealedLedger(dir, 'audit.db', ORIGIN);
    const configs = [];
    for (const name of ['witness.example/w1', 'witness2.example/w2']) {
      const d = join(dir, name.replace(/\W/g, '_'));
      mkdirSync(d);
      configs.push(await witnessConfig(d, [{ origin: ORIGIN, key: ledger.logKey }], name));
    }
    const [w1, w2] = [await serveWitness(configs[0]!.config), await serveWitness(configs[1]!.config)];
    running.push(w1, w2);
    /** The witness at `url` cosigns `note`; the merged note is stored as one more row. */
    const cosign = async (url: string, old: number, note: string) => {
      const size = openCheckpoint(note, [ledger.logKey]).checkpoint.size;
      const r = await addCheckpoint(url, { oldSize: old, proof: ledger.proof(old, size), note });
      if (!r.ok) throw new Error(`witness refused: ${JSON.stringify(r)}`);
      await storeRow(ledger.path, mergeCosignatures(note, r.lines));
    };
    const exportJson = async (name: string, seq: string) => {
      const file = join(dir, name);
      const r = await runBin(['export', ledger.path, '--key', ledger.logKey, '--seq', seq, '--out', file]);
      if (r.code !== 0) throw new Error(`export failed: ${r.err}`);
      return { file, bundle: JSON.parse(readFileSync(file, 'utf8')) as Bundle };
    };
    const n25 = await ledger.grow(25);
    await cosign(w1.url, 0, n25);
    await cosign(w2.url, 0, n25);
    const both = await exportJson('both.json', '0..24');
    const n30 = await ledger.grow(5);
    await cosign(w1.url, 25, n30);
    const onlyW1 = await exportJson('only-w1.json', '25..29');
    return {
      dir,
      ledger,
      W1: configs[0]!.verifierKey,
      W2: configs[1]!.verifierKey,
      both: both.bundle,
      bothFile: both.file,
      onlyW1: onlyW1.bundle,
      onlyW1File: onlyW1.file,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
