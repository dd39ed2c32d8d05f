import { isFailure, type SegmentsReport } from '@sealog/core';
import { escapeTerminal } from '../format.js';

// The human report of `sealog verify <dir>` on a segmented ledger: one line per
// present segment, the segments expired under retention, the legal holds, the
// findings (each segment's own, then those about the segments as one history),
// and a one-line verdict.

const DAY_MS = 86_400_000;

/** A duration in ms as the largest whole unit that divides it (30d, 12h, 90s, 1500ms). */
export function formatDuration(ms: number): string {
  for (const [unit, n] of [
    ['d', DAY_MS],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= n && ms % n === 0) return `${ms / n}${unit}`;
  }
  return `${ms}ms`;
}

const iso = (ms: number | undefined) => (ms === undefined ? '?' : new Date(ms).toISOString());

export function formatSegmentsReport(dir: string, r: SegmentsReport): string {
  let out = `${escapeTerminal(dir)}: segmented ledger, ${r.segments.length} segment file(s), ${r.records} rows${r.origin ? `; origin ${escapeTerminal(r.origin)}` : ''}\n`;
  for (const s of r.segments) {
    const name = escapeTerminal(s.file.slice(s.file.lastIndexOf('/') + 1));
    if (s.report === undefined) {
      out += `  ${name}  unreadable\n`;
      continue;
    }
    const sealed = s.sealedBy === 'next-binding' ? ', sealed by the next segment' : '';
    // With --tsa-anchor: each segment's tokens were judged against its own notes.
    const tsa = s.report.tsa;
    const stamped = tsa ? `, ${tsa.timestamped}/${tsa.checkpoints} checkpoint(s) timestamped` : '';
    out += `  ${name}  segment ${s.index}, ${s.size} rows, base ${s.base ?? '?'}, root ${(s.root ?? '').slice(0, 16)}…, ${s.report.sealed} sealed${sealed}${stamped}: ${s.ok ? 'OK' : 'FAILED'}\n`;
  }
  if (r.pruned.length > 0) out += '\nexpired under retention:\n';
  for (const p of r.pruned) {
    out += `  segment ${p.index}: ${p.size} rows from base ${p.base}, records ${iso(p.oldest)} to ${iso(p.newest)}; pruned ${iso(p.prunedAt)} under a retention of ${formatDuration(p.retention)} (reason: ${escapeTerminal(JSON.stringify(p.reason))}; statement in segment ${p.statement.segment} row ${p.statement.seq})${p.underHold ? `; UNDER HOLD ${escapeTerminal(p.underHold)}` : ''}\n`;
  }
  if (r.holds.length > 0) out += '\nlegal holds:\n';
  for (const h of r.holds) {
    const scope =
      'segment' in h.scope
        ? `segment ${h.scope.segment}`
        : `records ${iso(h.scope.from)} to ${iso(h.scope.to)}`;
    const state = h.active ? 'active' : `released ${iso(h.released?.time)}`;
    out += `  ${escapeTerminal(h.id)}: ${scope}, placed ${iso(h.time)}, ${state} (reason: ${escapeTerminal(JSON.stringify(h.reason))})\n`;
  }
  const lines: string[] = [];
  for (const s of r.segments)
    for (const f of s.report?.findings ?? [])
      lines.push(`  ${`[${s.index}] ${f.kind}`.padEnd(24)} ${escapeTerminal(f.message)}\n`);
  for (const f of r.findings) lines.push(`  ${f.kind.padEnd(24)} ${escapeTerminal(f.message)}\n`);
  if (lines.length > 0) out += `\nfindings:\n${lines.join('')}`;
  if (r.ok) {
    const newest = r.segments.at(-1)?.report;
    const tail =
      newest !== undefined && newest.unsealed > 0
        ? `; the newest segment's last ${newest.unsealed} row(s) are not yet covered by a checkpoint (policy: at most ${newest.maxUnsealed})`
        : '';
    const expired =
      r.pruned.length > 0 ? `; ${r.pruned.length} older segment(s) expired under retention` : '';
    out += `\nOK: intact across ${r.segments.length} segment(s)${expired}${tail}\n`;
  } else {
    let n = r.findings.filter((f) => f.kind !== 'segment-stray').length;
    for (const s of r.segments) {
      const rep = s.report;
      if (rep === undefined || s.ok) continue;
      n +=
        rep.findings.filter(
          (f) => isFailure(f.kind) || (f.kind === 'unsealed' && rep.unsealed > rep.maxUnsealed),
        ).length + rep.omittedFindings;
    }
    out += `\nFAILED: ${n} problem${n === 1 ? '' : 's'} found\n`;
  }
  return out;
}
