import { join } from 'node:path';
import { signCheckpoint } from '../../checkpoint/signed.js';
import { leafHash } from '../../hash.js';
import { Ledger } from '../../ledger.js';
import { consistencyProof, rootFromLeaves } from '../../merkle.js';
import { type Ed25519Signer, generateKey, parseSignerKey, parseVerifierKey } from '../../note/keys.js';
import { LedgerReader } from '../../store/reader.js';
import { generateWitnessKey, parseWitnessKey } from '../key.js';
import { formatAddCheckpointRequest } from '../request.js';
import { WitnessState } from '../state.js';
import { Witness } from '../witness.js';

// Shared by the witness tests: a real sealog ledger on disk, its leaves, and
// checkpoints signed over roots computed from those leaves (merkle.ts).

export const ORIGIN = 'audit.example/log';
export const NOW_MS = 1_750_000_000_000;

export interface History {
  origin: string;
  signer: Ed25519Signer;
  /** The log's verifier key (type 0x01). */
  logKey: string;
  leaves: Buffer[];
  root(size: number): Uint8Array;
  /** A checkpoint note at `size`, signed like the sealog writer signs (log key + time cosigner). */
  note(size: number): string;
  proof(from: number, to: number): Uint8Array[];
  /** The add-checkpoint body for old → size with the right proof. */
  request(oldSize: number, size: number): Buffer;
}

/** Leaves of a real ledger file with `records` records (written through Ledger, read back through LedgerReader). */
export async function ledgerLeaves(
  dir: string,
  records: number,
  name = 'ledger.db',
  tag = 'ok',
): Promise<Buffer[]> {
  const path = join(dir, name);
  const ledger = Ledger.open({ path });
  for (let i = 0; i < records; i++) ledger.write({ msg: 'audit', i, tag, user: `u${i % 7}` });
  await ledger.close();
  const reader = new LedgerReader(path);
  const leaves = [...reader.records()].map((r) => leafHash(r.entry));
  reader.close();
  return leaves;
}

export function history(leaves: Buffer[], signer: Ed25519Signer): History {
  const h: History = {
    origin: signer.name,
    signer,
    logKey: signer.verifierKey,
    leaves,
    root: (size) => rootFromLeaves(leaves.slice(0, size)),
    note: (size) => signCheckpoint({ origin: signer.name, size, root: h.root(size) }, signer, NOW_MS / 1000),
    proof: (from, to) => (from === 0 || from === to ? [] : consistencyProof((i) => leaves[i]!, from, to)),
    request: (oldSize, size) =>
      formatAddCheckpointRequest({ oldSize, proof: h.proof(oldSize, size), note: h.note(size) }),
  };
  return h;
}

export async function makeHistory(dir: string, records: number, origin = ORIGIN): Promise<History> {
  const signer = parseSignerKey(generateKey(origin).privateKey);
  return history(await ledgerLeaves(dir, records), signer);
}

let stateCount = 0;

/** A witness over a fresh state file in `dir`, trusting `logs`. */
export function makeWitness(dir: string, logs: History[], now = () => NOW_MS) {
  const key = generateWitnessKey('witness.example/w1');
  const cosigner = parseWitnessKey(key.privateKey);
  const statePath = join(dir, `witness-${++stateCount}.db`);
  const state = WitnessState.open(statePath);
  const witness = new Witness({
    cosigner,
    state,
    logs: logs.map((l) => ({ origin: l.origin, keys: [parseVerifierKey(l.logKey)] })),
    now,
  });
  return { witness, state, statePath, cosigner, verifierKey: key.verifierKey };
}
