import { chainHash, HASH_SIZE } from '../hash.js';
import type { ScanResult } from './scan.js';
import type { Break } from './scanner.js';
import type { Finding } from './types.js';

// Names what happened at the rows where the chain breaks (docs/verify.md,
// "How findings are named"). The file splits into *runs*: maximal stretches
// of rows each linking to the one before. Every run after the first starts at
// a break. For a run's first row we look for the row it was really chained
// after (its *predecessor*): a stored chain c with SHA-256(c ‖ leaf) equal to
// its stored chain. Following predecessors rebuilds the order in which rows
// were sealed; comparing that with the stored order names each break:
//
// - no predecessor, rows missing just before → part of the `deleted` gap;
// - no predecessor, the next row links to its *recomputed* chain → `modified`
//   (stored chain altered, entry intact);
// - no predecessor otherwise → `modified` (the entry is not what was chained);
// - rows no later row links to (a dead branch) → `inserted`;
// - runs whose sealed position is out of step with their stored position
//   (not on the longest in-order sequence of runs) → `reordered`.
//
// Predecessors are searched among the stored chains of the LINK_WINDOW rows
// before every break and of the break rows themselves, which covers swaps and
// moves of any distance and insertions of up to LINK_WINDOW consecutive rows.

/** Upper bound on hash attempts spent searching predecessors (hostile files can have many breaks). */
const MAX_LINK_ATTEMPTS = 2_000_000;

interface Candidate {
  seq: number;
  chain: Buffer;
  /** True when `chain` is a break row's recomputed chain (its stored one was altered). */
  recomputed: boolean;
}

interface Run {
  startIndex: number;
  startSeq: number;
  length: number;
  brk: Break | undefined;
  /** seq of the predecessor row (-1 = chain[-1]); undefined when none was found. */
  pred: number | undefined;
  predRecomputed: boolean;
  /** No predecessor, and rows are missing right before: the gap explains the break. */
  afterGap: boolean;
  /** Rows from this index on are dead (no later row links to them). */
  deadFrom: number;
  trueStart: number;
  /** Some run links to this run's first row through its recomputed chain. */
  chainAltered: boolean;
}

function candidates(breaks: readonly Break[]): Candidate[] {
  const seen = new Map<string, Candidate>();
  const add = (c: Candidate) => seen.set(`${c.seq}:${c.recomputed ? 'r' : 's'}`, c);
  for (const b of breaks) {
    for (const w of b.window) add({ seq: w.seq, chain: w.chain, recomputed: false });
    if (b.stored) add({ seq: b.seq, chain: b.stored, recomputed: false });
    add({ seq: b.seq, chain: b.recomputed, recomputed: true });
  }
  return [...seen.values()];
}

function findPredecessors(breaks: readonly Break[]): Map<Break, Candidate> {
  const cands = candidates(breaks);
  const out = new Map<Break, Candidate>();
  let budget = MAX_LINK_ATTEMPTS;
  for (const b of breaks) {
    if (!b.stored) continue;
    for (const c of cands) {
      if (budget-- <= 0) return out;
      if (c.seq === b.seq || c.chain.length !== HASH_SIZE) continue;
      if (chainHash(c.chain, b.leaf).equals(b.stored)) {
        out.set(b, c);
        break;
      }
    }
  }
  return out;
}

/** Index of the run holding `seq` (runs are in seq order, seqs contiguous within a run). */
function runOf(runs: readonly Run[], seq: number): number {
  let lo = 0;
  let hi = runs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = runs[mid]!;
    if (seq < r.startSeq) hi = mid - 1;
    else if (seq >= r.startSeq + r.length) lo = mid + 1;
    else return mid;
  }
  return -1;
}

function range(from: number, to: number): string {
  return from === to ? `row ${from}` : `rows ${from}..${to}`;
}

/**
 * Turns the breaks and gaps of a scan into findings. `stateSize` is
 * ledger_state.size when readable: it decides whether a lone unlinked last
 * row was modified (the writer recorded it) or inserted (it did not).
 */
export function classify(scan: ScanResult, stateSize: number | undefined): Finding[] {
  const findings: Finding[] = [];
  for (const g of scan.gaps) {
    findings.push({ kind: 'deleted', seq: g.from, message: `${range(g.from, g.to)}: missing (deleted)` });
  }
  if (scan.rows === 0) return findings;
  const preds = findPredecessors(scan.breaks);
  const runs: Run[] = [];
  const firstIsBreak = scan.breaks[0]?.index === 0;
  if (!firstIsBreak) runs.push(newRun(0, scan.breaks.length ? firstSeq(scan) : scan.lastSeq - scan.rows + 1));
  for (const b of scan.breaks) {
    const r = newRun(b.index, b.seq);
    r.brk = b;
    const p = preds.get(b);
    if (p) {
      r.pred = p.seq;
      r.predRecomputed = p.recomputed;
    } else r.afterGap = b.prevSeq < b.seq - 1;
    runs.push(r);
  }
  if (!firstIsBreak) runs[0]!.pred = -1;
  for (let i = 0; i < runs.length; i++) {
    const next = runs[i + 1];
    runs[i]!.length = (next ? next.startIndex : scan.rows) - runs[i]!.startIndex;
  }
  // Which rows does some run link to? Runs without a predecessor are taken to sit in place.
  const linkedMax = runs.map(() => -1);
  for (let i = 0; i < runs.length; i++) {
    const r = runs[i]!;
    const target = r.pred ?? r.brk!.prevSeq;
    if (target < 0) continue;
    const q = runOf(runs, target);
    if (q < 0) continue;
    linkedMax[q] = Math.max(linkedMax[q]!, target);
    if (r.predRecomputed && target === runs[q]!.startSeq) runs[q]!.chainAltered = true;
  }
  // Nothing links past the end of the chain: neither the last stored run nor
  // the run sealed last (they differ when the last rows were swapped).
  assignTrueStarts(runs);
  const last = runs.length - 1;
  let tip = last;
  for (let i = 0; i < runs.length; i++) {
    if (runs[i]!.trueStart + runs[i]!.length > runs[tip]!.trueStart + runs[tip]!.length) tip = i;
  }
  for (const i of [last, tip]) linkedMax[i] = runs[i]!.startSeq + runs[i]!.length - 1;
  for (let i = 0; i < runs.length; i++) runs[i]!.deadFrom = Math.max(linkedMax[i]! + 1, runs[i]!.startSeq);
  const inOrder = longestInOrder(runs);
  for (let i = 0; i < runs.length; i++) {
    const r = runs[i]!;
    const end = r.startSeq + r.length - 1;
    const alive = r.deadFrom - r.startSeq;
    if (r.deadFrom <= end) {
      findings.push({
        kind: 'inserted',
        seq: r.deadFrom,
        message: `${range(r.deadFrom, end)}: inserted (the chain does not continue from ${r.deadFrom === end ? 'it' : 'them'})`,
      });
    }
    if (alive === 0 || !r.brk) continue;
    if (r.pred !== undefined) {
      if (!inOrder.has(i)) {
        const t = r.trueStart;
        findings.push({
          kind: 'reordered',
          seq: r.startSeq,
          message: `${range(r.startSeq, r.startSeq + alive - 1)}: reordered (sealed as record${alive > 1 ? `s ${t}..${t + alive - 1}` : ` ${t}`})`,
        });
      }
      continue;
    }
    if (r.afterGap || !r.brk.stored) continue; // the gap, or malformed-row, already says it
    if (r.chainAltered) {
      findings.push({
        kind: 'modified',
        seq: r.startSeq,
        message: `row ${r.startSeq}: stored chain modified (the entry still matches the chain around it)`,
      });
    } else if (i === last && r.length === 1 && stateSize !== undefined && stateSize <= r.startSeq) {
      findings.push({
        kind: 'inserted',
        seq: r.startSeq,
        message: `row ${r.startSeq}: inserted after the end the writer recorded (stored chain does not match)`,
      });
    } else {
      findings.push({
        kind: 'modified',
        seq: r.startSeq,
        message: `row ${r.startSeq}: entry modified (stored chain does not match)`,
      });
    }
  }
  for (const seq of scan.unclassified) {
    findings.push({
      kind: 'modified',
      seq,
      message: `row ${seq}: does not link to the row before it (too many breaks to say more)`,
    });
  }
  // In file order, so the report reads top to bottom (sort is stable).
  return findings.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
}

function newRun(startIndex: number, startSeq: number): Run {
  return {
    startIndex,
    startSeq,
    length: 0,
    brk: undefined,
    pred: undefined,
    predRecomputed: false,
    afterGap: false,
    deadFrom: startSeq,
    trueStart: startSeq,
    chainAltered: false,
  };
}

function firstSeq(scan: ScanResult): number {
  // The first row is not a break, so its seq is the first break's seq minus the rows before it.
  const b = scan.breaks[0]!;
  return b.seq - b.index;
}

/** Sealed position of each run's first row, following predecessors (cycles are impossible barring SHA-256 collisions, but guarded). */
function assignTrueStarts(runs: Run[]): void {
  const state = runs.map(() => 0); // 0 = todo, 1 = visiting, 2 = done
  const visit = (i: number): number => {
    const r = runs[i]!;
    if (state[i] === 2) return r.trueStart;
    if (state[i] === 1 || r.pred === undefined) {
      r.trueStart = r.startSeq;
    } else {
      state[i] = 1;
      const q = r.pred < 0 ? -1 : runOf(runs, r.pred);
      const base = q < 0 ? r.pred : visit(q) + (r.pred - runs[q]!.startSeq);
      r.trueStart = (q < 0 && r.pred >= 0 ? r.startSeq - 1 : base) + 1;
    }
    state[i] = 2;
    return r.trueStart;
  };
  for (let i = 0; i < runs.length; i++) visit(i);
}

/** Runs on the heaviest chain that is in order both as stored and as sealed (weighted LIS, O(r²)). */
function longestInOrder(runs: readonly Run[]): Set<number> {
  const n = runs.length;
  const alive = runs.map((r) => r.deadFrom - r.startSeq);
  const best = new Array<number>(n).fill(0);
  const from = new Array<number>(n).fill(-1);
  for (let i = 0; i < n; i++) {
    best[i] = alive[i]!;
    for (let j = 0; j < i; j++) {
      if (alive[j] === 0) continue;
      if (runs[j]!.trueStart + alive[j]! - 1 < runs[i]!.trueStart && best[j]! + alive[i]! > best[i]!) {
        best[i] = best[j]! + alive[i]!;
        from[i] = j;
      }
    }
  }
  let at = -1;
  for (let i = 0; i < n; i++) if (at < 0 || best[i]! > best[at]!) at = i;
  const out = new Set<number>();
  for (; at >= 0; at = from[at]!) out.add(at);
  // Runs wholly dead are not "out of order": they are reported as inserted.
  for (let i = 0; i < n; i++) if (alive[i] === 0) out.add(i);
  return out;
}
