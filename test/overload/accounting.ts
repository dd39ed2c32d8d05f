// The overload contract, checked from the ledger alone: every record logged is
// either stored, in order, or counted by a sealed gap record that sits exactly
// where the missing records would have been, with their levels and times.
import { expect } from 'vitest';
import { parseGap } from '../../packages/core/src/index.js';

export interface Logged {
  i: number;
  level: string | number;
  time: number;
}

/** What the ledger says about `logged` (stored entries carry `i`); throws on any record unaccounted for. */
export function checkAccounting(
  entries: Record<string, unknown>[],
  logged: Logged[],
): { stored: number; shed: number; gaps: number } {
  let next = 0; // index into logged of the next record not yet seen
  let stored = 0;
  let shed = 0;
  let gaps = 0;
  const pendingGaps: NonNullable<ReturnType<typeof parseGap>>[] = [];
  const settle = (upTo: number) => {
    // The records between the last stored one and this one are exactly what the gaps counted.
    const missing = logged.slice(next, upTo);
    const counted = pendingGaps.reduce((n, g) => n + g.records, 0);
    expect(counted, `records missing before index ${upTo}`).toBe(missing.length);
    if (missing.length > 0) {
      const levels: Record<string, number> = {};
      for (const m of missing) levels[String(m.level)] = (levels[String(m.level)] ?? 0) + 1;
      const sum: Record<string, number> = {};
      for (const g of pendingGaps) for (const [k, n] of Object.entries(g.levels)) sum[k] = (sum[k] ?? 0) + n;
      expect(sum).toEqual(levels);
      const times = missing.map((m) => m.time);
      expect(Math.min(...pendingGaps.map((g) => g.first))).toBe(Math.min(...times));
      expect(Math.max(...pendingGaps.map((g) => g.last))).toBe(Math.max(...times));
    }
    shed += counted;
    pendingGaps.length = 0;
  };
  for (const e of entries) {
    const g = parseGap(e);
    if (g !== undefined) {
      pendingGaps.push(g);
      gaps++;
      continue;
    }
    const i = e.i as number;
    expect(i, 'stored records are in logged order, each once').toBeGreaterThanOrEqual(next);
    settle(i);
    next = i + 1;
    stored++;
  }
  settle(logged.length);
  return { stored, shed, gaps };
}
