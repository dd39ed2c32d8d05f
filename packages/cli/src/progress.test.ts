import { describe, expect, it } from 'vitest';
import { acrossSegments, PROGRESS_EVERY_MS, progressReporter } from './progress.js';

describe('progress on stderr', () => {
  it('is quiet when stderr is not a terminal and --progress was not given', () => {
    expect(progressReporter(() => {}, 'copied', { isTTY: false })).toBeUndefined();
  });

  it('prints at most one line a second, on a terminal or when forced', () => {
    for (const options of [{ isTTY: true }, { isTTY: false, forced: true }]) {
      const lines: string[] = [];
      let t = 0;
      const report = progressReporter((l) => lines.push(l), 'copied', { ...options, now: () => t });
      expect(report).toBeDefined();
      report?.({ done: 10, total: 200, unit: 'records' });
      t += PROGRESS_EVERY_MS - 1;
      report?.({ done: 20, total: 200, unit: 'records' });
      t += 1;
      report?.({ done: 150, unit: 'pages' });
      expect(lines).toEqual(['  copied 10 of 200 records (5%)\n', '  copied 150 pages\n']);
    }
  });
});

describe('progress across segments', () => {
  it('adds each segment’s rows to those of the segments before it', () => {
    const steps: number[] = [];
    const report = acrossSegments((p) => steps.push(p.done));
    // Segment 1: 21 rows in pages; segment 2: 8200 rows; segment 3: 5 rows, then 5 again.
    for (const p of [
      { done: 21, total: 21 },
      { done: 8192, total: 8200 },
      { done: 8200, total: 8200 },
      { done: 5, total: 5 },
      { done: 5, total: 5 },
    ])
      report(p);
    expect(steps).toEqual([21, 21 + 8192, 21 + 8200, 21 + 8200 + 5, 21 + 8200 + 5 + 5]);
  });
});
