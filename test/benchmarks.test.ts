import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Benchmarks are not tests: this only runs the whole suite once in quick mode
// (seconds) so a scenario that breaks is noticed. No timing is asserted.
describe('benchmarks (quick mode)', () => {
  it('every scenario runs to completion and prints its table', { timeout: 600_000 }, () => {
    const run = spawnSync(
      process.execPath,
      [join(import.meta.dirname, '..', 'benchmarks', 'run.mjs'), '--quick'],
      {
        encoding: 'utf8',
        timeout: 590_000,
      },
    );
    expect(run.status, run.stderr).toBe(0);
    const tables = run.stdout.match(/^## .*\(quick mode\)$/gm) ?? [];
    expect(tables.length).toBeGreaterThanOrEqual(7);
    expect(run.stdout).not.toMatch(/n\/a \(/);
  });
});
