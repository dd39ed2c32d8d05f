// Shared by the segment process tests: the writer child, reading every segment
// of a directory, and the per-segment checks (verify, bindings chain).
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LedgerReader, verifyLedger } from '../../packages/core/src/index.js';
import { parseBinding } from '../../packages/core/src/segments/binding.js';
import { listSegments, segmentAnchorFile } from '../../packages/core/src/segments/layout.js';
import { startFixture } from '../helpers/node-script.js';

export const SEG_WRITER = join(import.meta.dirname, 'fixtures', 'seg-writer.mjs');

export interface SegWriterOptions {
  dir: string;
  id: string;
  count: number;
  maxBytes: number;
  keyFile?: string;
  anchorFile?: string;
  everyRecords?: number;
  seed?: number;
  maxBatch?: number;
  via?: 'sink' | 'pino';
  pad?: number;
  /** Write only once this file exists (the child prints "ready" when open). */
  goFile?: string;
  /** Pause after each flush (pino: after each 50 records), so two writers overlap. */
  paceMs?: number;
}

export interface SegWriter {
  child: ChildProcess;
  /** Records acknowledged so far (the last "ack n" line). */
  acked(): number;
  /** Resolves once the child printed "ready". */
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** Starts the writer child; `onAck(n)` runs after every acknowledgement line. */
export function startSegWriter(o: SegWriterOptions, onAck?: (n: number) => void): SegWriter {
  let acked = 0;
  let isReady: () => void = () => {};
  const ready = new Promise<void>((r) => {
    isReady = r;
  });
  const { child, exited } = startFixture(SEG_WRITER, o, (l) => {
    if (l === 'ready') isReady();
    if (!l.startsWith('ack ')) return;
    acked = Number(l.slice(4));
    onAck?.(acked);
  });
  return { child, acked: () => acked, ready, exited };
}

/** Every record (w, n) of every segment, in segment then seq order (binding rows left out). */
export function recordsOf(dir: string): { w: string; n: number; segment: number }[] {
  const out: { w: string; n: number; segment: number }[] = [];
  for (const slot of listSegments(dir).slots) {
    const reader = new LedgerReader(slot.file!);
    try {
      for (const r of reader.records()) {
        const e = JSON.parse(r.entry.toString('utf8')) as { w?: string; n?: number; _sealog?: unknown };
        if (e._sealog !== undefined) continue;
        out.push({ w: String(e.w), n: Number(e.n), segment: slot.index });
      }
    } finally {
      reader.close();
    }
  }
  return out;
}

/**
 * Verifies every segment (with its own anchor as outside checkpoints when there
 * is one) and checks that segment k+1's binding names segment k's verified size
 * and root. Returns one line per problem; empty when all is well.
 */
export function checkSegments(dir: string, vkeys: string[], anchorFile?: string): string[] {
  const problems: string[] = [];
  let prev: { size: number; root: string } | undefined;
  let base = 0;
  for (const slot of listSegments(dir).slots) {
    const file = slot.file!;
    const anchor = anchorFile !== undefined ? segmentAnchorFile(anchorFile, slot.index) : undefined;
    const trusted = anchor !== undefined && existsSync(anchor) ? [readFileSync(anchor, 'utf8')] : [];
    const report = verifyLedger(file, { keys: vkeys, trusted, strict: true });
    if (!report.ok) problems.push(`segment ${slot.index}: ${report.findings.map((f) => f.kind).join(', ')}`);
    const reader = new LedgerReader(file);
    let first: Buffer | undefined;
    try {
      for (const r of reader.records()) {
        first = r.entry;
        break;
      }
    } finally {
      reader.close();
    }
    const b = first ? parseBinding(first) : undefined;
    if (typeof b !== 'object') problems.push(`segment ${slot.index}: row 0 is not a binding`);
    else {
      if (b.index !== slot.index || b.base !== base)
        problems.push(`segment ${slot.index}: binding ${b.index}/${b.base}`);
      const bp = b.prev ? { size: b.prev.size, root: Buffer.from(b.prev.root).toString('hex') } : undefined;
      if (JSON.stringify(bp) !== JSON.stringify(prev))
        problems.push(`segment ${slot.index}: prev does not bind segment ${slot.index - 1}`);
    }
    prev = { size: report.size, root: report.root };
    base += report.size;
  }
  return problems;
}
