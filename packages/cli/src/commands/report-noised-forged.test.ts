import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../../test/helpers/cli.js';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { openSink } from '../../../core/src/index.js';

// Issue 20 item 3 through the real sink and CLI: a second writer without the
// noise config (or an attacker-controlled log field) logs marker-shaped
// objects next to genuinely noised ones. The report must neither let them
// void the genuine values nor sum them, and must say how many it rejected and
// why. And a 0/1 flag with narrow noise gets the exact lattice interval.

const NOISE = {
  unit: 'user',
  budget: { epsilon: 10, windowSeconds: 86_400 },
  fields: {
    ms: { mechanism: 'laplace', epsilon: 2, lower: 0, upper: 500, granularity: 1 },
    failed: { mechanism: 'laplace', epsilon: 5, lower: 0, upper: 1, granularity: 1 },
  },
};
const DECL = { dp: 'laplace', epsilon: 2, lower: 0, upper: 500, granularity: 1 };

async function ledger(): Promise<string> {
  const dir = tempDir();
  const path = join(dir, 'forged.db');
  const key = join(dir, 'psn.key');
  writeFileSync(key, randomBytes(32).toString('base64'), { mode: 0o600 });
  const forger = await openSink({ path }, { onNotice: () => {} });
  forger.write({ route: '/a', ms: { ...DECL, delta: null, value: 1 } });
  forger.write({ route: '/a', ms: { ...DECL, value: 40.5 } });
  const tiny = { dp: 'laplace', epsilon: 1000, lower: 0, upper: 1, granularity: 1, value: 1e6 };
  forger.write({ route: '/b', ms: tiny });
  forger.write({ route: '/b', ms: tiny });
  await forger.close();
  const pseudonymize = { paths: ['user'], keys: [{ id: 'k1', file: key }], current: 'k1' };
  const sink = await openSink({ path, privacy: { pseudonymize, noise: NOISE } }, { onNotice: () => {} });
  for (let u = 0; u < 200; u++) sink.write({ user: `u${u}`, route: '/a', ms: 40, failed: u % 2 });
  await sink.close();
  return path;
}

describe('sealog report --noised over forged markers (real sink, real CLI)', () => {
  it('genuine values all count; forged ones are rejected, counted by reason, never summed', async () => {
    const path = await ledger();
    const r = await runCli(['report', path, '--group-by', 'route', '--noised', 'ms', '--json']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.invalid).toBe(4);
    expect(j.rejected).toEqual({ unreadable: 1, declarations: 0, offGrid: 1, outOfRange: 2, overflow: 0 });
    const [a, b] = j.groups;
    expect(a).toMatchObject({ group: '/a', n: 200, method: 'normal+cornish-fisher' });
    expect(b).toMatchObject({ group: '/b', n: 0, method: 'none' });
    const t = await runCli(['report', path, '--group-by', 'route', '--noised', 'ms']);
    expect(t.code, t.err).toBe(0);
    expect(t.out).toContain(
      "4 record(s) rejected, in no group's n: 1 unreadable noise marker (not what a writer produces); 1 value off its declared grid; 2 value further outside [lower, upper] than its declared noise reaches (p < 1e-12)",
    );
    expect(t.out).not.toContain('1000000');
    expect(t.out).toMatch(/^\/b\s+0\s+-\s+-\s+-\s+-\s+none\s+0\s+0$/m);
  });

  it('a 0/1 flag noised at Laplace ε 5: the exact lattice interval, and the text says which method', async () => {
    const path = await ledger();
    const r = await runCli(['report', path, '--group-by', 'route', '--noised', 'failed', '--json']);
    expect(r.code, r.err).toBe(0);
    const [a] = JSON.parse(r.out).groups;
    // 200 values, τ = 0.2 steps: the exact 95% bound of the summed noise (convolution) is a few steps.
    expect(a).toMatchObject({ group: '/a', n: 200, method: 'exact' });
    expect(Number.isInteger(a.sumError)).toBe(true);
    expect(a.coverage).toBeGreaterThanOrEqual(0.95);
    const t = await runCli(['report', path, '--group-by', 'route', '--noised', 'failed']);
    expect(t.out).toMatch(/^\/a\s+200\s+\S+\s+±\d+\s+\S+\s+±\S+\s+exact\s+0\s+\d+$/m);
    expect(t.out).toMatch(/method: exact = the exact lattice quantile/);
  });
});
