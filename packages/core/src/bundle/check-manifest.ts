import type { BundleReport } from './verify.js';

// The manifest (docs/evidence.md) is the exporter's summary; checked against
// what the bundle actually holds, after the checkpoint and records are judged.

/** The manifest is a summary for people; it must not claim anything the contents do not show. */
export function checkManifest(m: Record<string, unknown>, report: BundleReport, entryCount: number): void {
  const cp = report.checkpoint;
  const lies: string[] = [];
  if (cp && m.origin !== cp.origin)
    lies.push(`origin ${JSON.stringify(m.origin)} ≠ checkpoint origin ${JSON.stringify(cp.origin)}`);
  const mcp = m.checkpoint as Record<string, unknown> | undefined;
  if (cp && (typeof mcp !== 'object' || mcp === null || mcp.size !== cp.size || mcp.root !== cp.root)) {
    lies.push('checkpoint size/root differ from the signed checkpoint');
  }
  if (m.entryCount !== entryCount)
    lies.push(`entryCount ${JSON.stringify(m.entryCount)} ≠ ${entryCount} records`);
  if (JSON.stringify(m.seqs) !== JSON.stringify(report.seqs))
    lies.push('seqs differ from the records present');
  const first = report.seqs[0]?.[0];
  const last = report.seqs[report.seqs.length - 1]?.[1];
  if (first !== undefined && (m.firstSeq !== first || m.lastSeq !== last))
    lies.push(
      `firstSeq/lastSeq ${JSON.stringify(m.firstSeq)}..${JSON.stringify(m.lastSeq)} ≠ ${first}..${last}`,
    );
  if (m.withheld !== report.withheld)
    lies.push(`withheld ${JSON.stringify(m.withheld)} ≠ ${report.withheld}`);
  if (lies.length > 0) report.problems.push(`manifest disagrees with the bundle: ${lies.join('; ')}`);
}
