import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sealHead } from '../packages/core/src/checkpoint/seal.js';
import { canonicalJson } from '../packages/core/src/encode.js';
import { loadSignerKeyFile, writeKeyFile } from '../packages/core/src/note/keyfile.js';
import { generateKey } from '../packages/core/src/note/keys.js';
import { bindingEntry } from '../packages/core/src/segments/binding.js';
import { segmentFileName } from '../packages/core/src/segments/layout.js';
import { fileCheckpointKey } from '../packages/core/src/signer/file.js';
import { SqliteStore } from '../packages/core/src/store/sqlite.js';
import type { PendingEntry } from '../packages/core/src/store/types.js';

// A real segmented ledger (issue 18) built with the existing APIs only, for the
// tests of what reads a segment directory (verify, prune, readers): each
// segment is a SQLite ledger whose row 0 is the binding entry with the previous
// segment's real final size and root, followed by ordinary records, sealed
// with checkpoints as `sealog checkpoint` signs them (sealHead on the head the
// store derived), and every closed segment sealed at its final size.

/** A key pair as the `sealog keygen` helpers of the attack suite describe it. */
export interface FixtureKeys {
  /** The private key file (mode 0600). */
  keyFile: string;
  /** Verifier key strings: the log key, then its `<origin>/time` cosigner key. */
  vkeys: string[];
  /** A file holding them, one per line (for `--key-file`). */
  vkeyFile: string;
}

export interface FixtureSegment {
  index: number;
  path: string;
  /** Rows in the file: its binding row and its records. */
  size: number;
  /** RFC 6962 root over all of its rows. */
  root: Buffer;
  /** Records before this segment (the binding's `base`). */
  base: number;
  /** `time` of its first and last row, ms since the epoch. */
  firstTime: number;
  lastTime: number;
  /** The checkpoint note signed at `size` (undefined when left unsealed). */
  finalNote?: string;
}

export interface SegmentedLedger {
  dir: string;
  keys: FixtureKeys;
  origin: string;
  segments: FixtureSegment[];
}

export interface SegmentedLedgerOptions {
  /** Records per segment after its binding row, oldest segment first, e.g. [20, 20, 5]. */
  segments: readonly number[];
  /** The signing key; default: a fresh one named `origin`, written beside `dir`. */
  key?: FixtureKeys;
  /** Default `example.com/audit` (ignored when `key` is given: its name is the origin). */
  origin?: string;
  /** A checkpoint every n records inside a segment (besides the final one). Default 10. */
  checkpointEvery?: number;
  /** Seal the newest segment at its final size too. Default true. */
  sealNewest?: boolean;
  /** `time` of the i-th record (0-based across the whole ledger); default 1 s apart from 2025-01-01. */
  time?: (globalIndex: number, segment: number) => number;
}

const DEFAULT_START = Date.UTC(2025, 0, 1);

/** Generates a key pair in-process (as `sealog keygen` does) into `dir`/`stem`.key and .vkeys. */
export function fixtureKeys(dir: string, origin = 'example.com/audit', stem = 'audit'): FixtureKeys {
  mkdirSync(dir, { recursive: true });
  const g = generateKey(origin);
  const keyFile = join(dir, `${stem}.key`);
  writeKeyFile(keyFile, g.privateKey);
  const vkeys = [g.verifierKey, g.cosignerVerifierKey];
  const vkeyFile = join(dir, `${stem}.vkeys`);
  writeFileSync(vkeyFile, `${vkeys.join('\n')}\n`);
  return { keyFile, vkeys, vkeyFile };
}

/** One ordinary record, canonical JSON as a transport would store it. */
export function fixtureRecord(globalIndex: number, segment: number, time: number): PendingEntry {
  const record = {
    level: 30,
    levelLabel: 'info',
    msg: `event ${globalIndex}`,
    n: globalIndex,
    segment,
    time,
  };
  return { entry: Buffer.from(canonicalJson(record), 'utf8'), ts: time };
}

/**
 * Builds a segmented ledger in directory `dir` (created): one `seg-NNNNNN.db`
 * per entry of `options.segments`, bound to each other by their binding rows.
 */
export async function makeSegmentedLedger(
  dir: string,
  options: SegmentedLedgerOptions,
): Promise<SegmentedLedger> {
  mkdirSync(dir, { recursive: true });
  const keys = options.key ?? fixtureKeys(join(dirname(dir), 'keys'), options.origin ?? 'example.com/audit');
  const signer = fileCheckpointKey(loadSignerKeyFile(keys.keyFile));
  const every = options.checkpointEvery ?? 10;
  const timeOf = options.time ?? ((i: number) => DEFAULT_START + i * 1000);
  const out: FixtureSegment[] = [];
  let global = 0;
  let prev: FixtureSegment | undefined;
  for (const [i, count] of options.segments.entries()) {
    const index = i + 1;
    const path = join(dir, segmentFileName(index));
    const base = prev ? prev.base + prev.size : 0;
    const firstTime = timeOf(global, index);
    const store = new SqliteStore(path);
    try {
      const binding = prev ? { index, base, prev: { size: prev.size, root: prev.root } } : { index, base: 0 };
      let head = store.append([bindingEntry(binding, firstTime)]);
      let lastTime = firstTime;
      for (let r = 0; r < count; r++) {
        lastTime = timeOf(global, index);
        head = store.append([fixtureRecord(global, index, lastTime)]);
        global++;
        if ((r + 1) % every === 0 && r + 1 < count) await sealHead(store, signer);
      }
      const newest = index === options.segments.length;
      let finalNote: string | undefined;
      if (!newest || options.sealNewest !== false) {
        finalNote = (await sealHead(store, signer))!.note;
      }
      const seg: FixtureSegment = {
        index,
        path,
        size: head.size,
        root: Buffer.from(head.root),
        base,
        firstTime,
        lastTime,
        ...(finalNote !== undefined ? { finalNote } : {}),
      };
      out.push(seg);
      prev = seg;
    } finally {
      await store.close();
    }
  }
  return { dir, keys, origin: signer.name, segments: out };
}

/**
 * Closes the newest segment of `l` at its current head (sealing it there, as a
 * rotating writer does) and adds segment N+1 bound to that head, with `count`
 * records at `time(i)` (default: now, 1 ms apart). Updates `l.segments`.
 */
export async function addSegment(
  l: SegmentedLedger,
  count: number,
  time: (i: number) => number = (i) => Date.now() + i,
): Promise<FixtureSegment> {
  const signer = fileCheckpointKey(loadSignerKeyFile(l.keys.keyFile));
  const last = l.segments.at(-1)!;
  const closing = new SqliteStore(last.path);
  try {
    const head = closing.head();
    last.finalNote = (await sealHead(closing, signer))!.note;
    last.size = head.size;
    last.root = Buffer.from(head.root);
  } finally {
    await closing.close();
  }
  const index = last.index + 1;
  const path = join(l.dir, segmentFileName(index));
  const base = last.base + last.size;
  const firstTime = time(0);
  const store = new SqliteStore(path);
  try {
    let head = store.append([
      bindingEntry({ index, base, prev: { size: last.size, root: last.root } }, firstTime),
    ]);
    let lastTime = firstTime;
    for (let r = 0; r < count; r++) {
      lastTime = time(r);
      head = store.append([fixtureRecord(base + r, index, lastTime)]);
    }
    const finalNote = (await sealHead(store, signer))!.note;
    const seg: FixtureSegment = {
      index,
      path,
      size: head.size,
      root: Buffer.from(head.root),
      base,
      firstTime,
      lastTime,
      finalNote,
    };
    l.segments.push(seg);
    return seg;
  } finally {
    await store.close();
  }
}
