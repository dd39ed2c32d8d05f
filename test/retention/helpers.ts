import { join } from 'node:path';
import { type Run, sealog } from '../attacks/harness.js';
import { tempDir } from '../helpers/tmp.js';
import {
  makeSegmentedLedger,
  type SegmentedLedger,
  type SegmentedLedgerOptions,
} from '../segments-fixture.js';

// Shared by the retention tests (issue 18 items 1-2): a segmented ledger, and
// `sealog verify <dir>` / `prune` / `hold` through the built CLI.

export interface DirReport {
  ok: boolean;
  findings: { kind: string; segment?: number; message: string }[];
  segments: {
    index: number;
    size: number;
    ok: boolean;
    sealedBy: string;
    report?: { findings: { kind: string }[] };
  }[];
  pruned: { index: number; size: number; reason: string; underHold?: string }[];
  holds: { id: string; active: boolean; reason: string }[];
  prunes: { sealed: boolean; segments: { index: number }[] }[];
}

const DAY = 86_400_000;

/** A ledger whose first `old` segments hold records from 2025 and the rest from the last hours. */
export async function ledger(
  counts: number[],
  old: number,
  options: Partial<SegmentedLedgerOptions> = {},
): Promise<SegmentedLedger> {
  const root = tempDir();
  const now = Date.now();
  return makeSegmentedLedger(join(root, 'audit'), {
    segments: counts,
    checkpointEvery: 4,
    time: (i, seg) => (seg <= old ? Date.UTC(2025, 0, 1) + i * 1000 : now - DAY / 4 + i * 1000),
    ...options,
  });
}

export async function verifyDir(
  l: SegmentedLedger,
  ...args: string[]
): Promise<{ run: Run; report: DirReport }> {
  const run = await sealog(['verify', l.dir, '--key-file', l.keys.vkeyFile, '--json', ...args]);
  let report: DirReport;
  try {
    report = JSON.parse(run.out) as DirReport;
  } catch {
    throw new Error(`verify printed no JSON (exit ${run.code}): ${run.err}`);
  }
  return { run, report };
}

export const kinds = (r: DirReport) => r.findings.map((f) => f.kind);

export function prune(l: SegmentedLedger, ...args: string[]): Promise<Run> {
  return sealog(['prune', l.dir, '--reason', 'RET-7: retention policy', '--key', l.keys.keyFile, ...args]);
}

export function hold(l: SegmentedLedger, sub: string, ...args: string[]): Promise<Run> {
  const key = sub === 'list' ? ['--key-file', l.keys.vkeyFile] : ['--key', l.keys.keyFile];
  return sealog(['hold', sub, l.dir, ...key, ...args]);
}
