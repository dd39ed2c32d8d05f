import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The README's first command ends in this app: keep it working.
describe('the README demo', () => {
  it('logs through pino into a sealed ledger, tails it and verifies it strictly', () => {
    const run = spawnSync(
      process.execPath,
      [join(import.meta.dirname, '..', 'examples', 'demo', 'app.mjs')],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(run.status, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toContain('OK: intact, every record covered by a valid checkpoint');
    // The demo's witness (a `sealog witness serve` process) cosigned the final checkpoint.
    expect(run.stdout).toContain('witnessed by 1 of 1 (witness.demo.example/w1)');
    // Raw personal data never reaches the ledger output.
    for (const raw of [
      'alice@example.com',
      'bob@example.org',
      'hunter2',
      '203.0.113.57',
      '4111 1111',
      '129.5',
    ]) {
      expect(run.stdout).not.toContain(raw);
    }
    // The refund amount is noised (its raw value can legitimately recur by chance, so only the marker is checked).
    expect(run.stdout).toMatch(/amount=\{"dp":"laplace"/);
  });
});
