import { join } from 'node:path';
import {
  consistencyProof,
  generateKey,
  Ledger,
  LedgerReader,
  leafHash,
  writeKeyFile,
} from '../../packages/core/src/index.js';
import { runCli } from '../helpers/cli.js';

// A real sealog ledger sealed by `sealog checkpoint` with the log's key file:
// the checkpoints a witness sees are exactly the ones sealog writes.

export interface SealedLedger {
  path: string;
  keyFile: string;
  origin: string;
  /** The log's verifier key (0x01) — what the witness config trusts. */
  logKey: string;
  /** Appends `n` records and seals; resolves the checkpoint note. */
  grow(n: number, tag?: string): Promise<string>;
  proof(from: number, to: number): Uint8Array[];
}

export async function sealedLedger(
  dir: string,
  name: string,
  origin: string,
  keyFile?: string,
): Promise<SealedLedger> {
  const path = join(dir, name);
  let key = keyFile;
  let logKey = '';
  if (key === undefined) {
    const k = generateKey(origin);
    key = join(dir, `${name}.key`);
    writeKeyFile(key, k.privateKey);
    logKey = k.verifierKey;
  }
  let count = 0;
  const ledger: SealedLedger = {
    path,
    keyFile: key,
    origin,
    logKey,
    async grow(n, tag = 'honest') {
      const l = Ledger.open({ path });
      for (let i = 0; i < n; i++) l.write({ msg: 'login', user: `u${count % 5}`, seq: count++, tag });
      await l.close();
      const r = await runCli(['checkpoint', path, '--key', key]);
      if (r.code !== 0) throw new Error(`sealog checkpoint failed: ${r.err}`);
      return r.out;
    },
    proof(from, to) {
      if (from === 0 || from === to) return [];
      const reader = new LedgerReader(path);
      const leaves = [...reader.records(0, to)].map((r) => leafHash(r.entry));
      reader.close();
      return consistencyProof((i) => leaves[i]!, from, to);
    },
  };
  return ledger;
}
