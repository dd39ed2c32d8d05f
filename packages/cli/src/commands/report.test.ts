import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../../test/helpers/cli.js';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { Ledger } from '../../../core/src/index.js';

async function sample(): Promise<string> {
  const path = join(tempDir(), 'r.db');
  const ledger = Ledger.open({ path });
  for (let u = 0; u < 300; u++) {
    for (let i = 0; i < 2; i++)
      ledger.write({
        time: Date.UTC(2026, 0, 1) + u,
        user: `psn:k:${u}`,
        route: u % 2 ? '/a' : '/b',
        ms: 10,
      });
  }
  ledger.write({ user: 'psn:k:only', route: '/only-one-user', ms: 1 });
  await ledger.close();
  return path;
}

describe('sealog report', () => {
  it('--json releases the large groups, hides the one-unit group, and states ε/δ', async () => {
    const path = await sample();
    const r = await runCli([
      'report',
      path,
      '--group-by',
      'route',
      '--unit',
      'user',
      '--epsilon',
      '2',
      '--delta',
      '1e-6',
      '--json',
    ]);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.groups.map((g: { group: string }) => g.group)).toEqual(['/a', '/b']);
    expect(r.out).not.toContain('only-one-user');
    expect(j).toMatchObject({ version: 1, groupBy: 'route', privacyUnit: 'user', delta: 1e-6 });
    expect(j.epsilon).toBeLessThanOrEqual(2);
    expect(j.parameters.selection.method).toBe('laplace-threshold');
    expect(typeof j.suppressedGroups).toBe('number');
  });

  it('prints a table and rejects usage errors with exit 2', async () => {
    const path = await sample();
    const t = await runCli([
      'report',
      path,
      '--group-by',
      'route',
      '--epsilon',
      '1',
      '--groups',
      '/a,/b',
      '--sum',
      'ms',
      '--lower',
      '0',
      '--upper',
      '100',
    ]);
    expect(t.code, t.err).toBe(0);
    expect(t.out).toMatch(/group\s+sum/);
    expect((await runCli(['report', path, '--group-by', 'route'])).code).toBe(2);
    expect((await runCli(['report', path, '--group-by', 'route', '--epsilon', '1'])).code).toBe(2); // needs δ
    expect(
      (await runCli(['report', path, '--group-by', 'route', '--epsilon', 'x', '--delta', '1e-6'])).code,
    ).toBe(2);
    expect(
      (await runCli(['report', path, '--group-by', 'r', '--epsilon', '1', '--groups', 'a', '--sum', 'ms']))
        .code,
    ).toBe(2);
  });
});
