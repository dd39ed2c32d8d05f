// Shared by the fault-matrix tests: a seeded PRNG, a signing key on disk, the
// fault writer child, and the two independent after-the-fact checks (the
// verifier's report and the per-writer record count).
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { generateKey, LedgerReader, type VerifyReport, writeKeyFile } from '../../packages/core/src/index.js';
import { BIN, type BinRun, runBin as runBinFor } from '../helpers/bin.js';
import { mulberry32 } from '../helpers/mulberry32.mjs';
import { startFixture } from '../helpers/node-script.js';

export const FAULT_WRITER = join(import.meta.dirname, 'fixtures', 'fault-writer.mjs');
export const CLI_BIN = BIN;

/** `SEALOG_SLOW=1` runs the long variants (docs/reliability.md). */
export const SLOW = process.env.SEALOG_SLOW === '1';

/** mulberry32: small seeded PRNG so a failing seed can be replayed. */
export const prng: (seed: number) => () => number = mulberry32;

export interface KeyFiles {
  keyFile: string;
  anchorFile: string;
  vkey: string;
  /** Verifier key of the time cosigner (adds signed times to verify reports). */
  cosignerVkey: string;
  origin: string;
}

/** A fresh checkpoint key (0600 file, as `sealog keygen` writes) and an anchor path in `dir`. */
export function makeKey(dir: string, origin = 'faults.example/log'): KeyFiles {
  const key = generateKey(origin);
  const keyFile = join(dir, 'audit.key');
  writeKeyFile(keyFile, key.privateKey);
  return {
    keyFile,
    anchorFile: join(dir, 'anchor.txt'),
    vkey: key.verifierKey,
    cosignerVkey: key.cosignerVerifierKey,
    origin,
  };
}

export interface WriterOptions {
  path: string;
  id?: string;
  count: number;
  seed?: number;
  maxBatch?: number;
  durability?: 'process' | 'power';
  keyFile?: string;
  anchorFile?: string;
  everyRecords?: number;
  everyMs?: number;
  walAutocheckpoint?: number;
  timeStart?: number;
  timeStep?: number;
  pad?: number;
  hold?: boolean;
}

export interface Ack {
  /** Records acknowledged so far (flush resolved). */
  n: number;
  /** WAL size in bytes when that flush resolved. */
  wal: number;
}

export interface Writer {
  child: ChildProcess;
  acks: Ack[];
  /** Resolves when the child exits (with its signal, stdout tail and stderr). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  /** Resolves once the child printed a line starting with `prefix`. */
  printed(prefix: string): Promise<void>;
}

/** Starts the fault writer; `onAck` runs for every acknowledgement line, in order. */
export function startWriter(o: WriterOptions, onAck?: (ack: Ack, w: Writer) => void): Writer {
  const acks: Ack[] = [];
  const waiting: { prefix: string; resolve: () => void }[] = [];
  const lines: string[] = [];
  const onLine = (l: string) => {
    lines.push(l);
    if (l.startsWith('ack ')) {
      const [, n, wal] = l.split(' ');
      const ack = { n: Number(n), wal: Number(wal) };
      acks.push(ack);
      onAck?.(ack, w);
    }
    for (const x of waiting.filter((x) => l.startsWith(x.prefix))) {
      waiting.splice(waiting.indexOf(x), 1);
      x.resolve();
    }
  };
  const { child, exited } = startFixture(FAULT_WRITER, o, onLine);
  const w: Writer = {
    child,
    acks,
    exited,
    printed(prefix) {
      if (lines.some((l) => l.startsWith(prefix))) return Promise.resolve();
      return new Promise((resolve) => waiting.push({ prefix, resolve }));
    },
  };
  return w;
}

/** Acknowledged count: the last ack line (acks are cumulative). */
export function acked(w: Writer): number {
  return w.acks.at(-1)?.n ?? 0;
}

/**
 * Reads every record and returns, per writer id, the `n` values in seq order.
 * Callers check these are exactly 0..k-1: no gap, no duplicate, no reorder.
 */
export function recordsByWriter(path: string): Map<string, number[]> {
  const reader = new LedgerReader(path);
  try {
    const out = new Map<string, number[]>();
    for (const r of reader.records()) {
      const e = JSON.parse(r.entry.toString('utf8')) as { w: string; n: number };
      const list = out.get(e.w) ?? [];
      if (list.length === 0) out.set(e.w, list);
      list.push(e.n);
    }
    return out;
  } finally {
    reader.close();
  }
}

/** 0..k-1, for comparing with {@link recordsByWriter}. */
export function upTo(k: number): number[] {
  return Array.from({ length: k }, (_, i) => i);
}

/** Kinds of the report's findings, for "only an unsealed tail" assertions. */
export function findingKinds(r: VerifyReport): string[] {
  return r.findings.map((f) => f.kind);
}

/**
 * Findings beyond what a crash may honestly leave: an unsealed tail, and — only
 * when no valid checkpoint survived in the file (the crash came before the first
 * seal reached it) — `no-checkpoint`, which says nothing is proved yet.
 */
export function beyondCrash(r: VerifyReport): string[] {
  const noneValid = r.checkpoints.every((c) => !c.valid);
  return findingKinds(r).filter((k) => k !== 'unsealed' && !(k === 'no-checkpoint' && noneValid));
}

/** Runs the built `sealog` binary to its end (no time limit); resolves with exit code and output. */
export const runBin = (args: string[]): Promise<BinRun> => runBinFor(args, { timeoutMs: 0 });
