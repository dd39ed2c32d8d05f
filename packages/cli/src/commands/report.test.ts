import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../../test/helpers/cli.js';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { type DpReport, Ledger } from '../../../core/src/index.js';
import { allSuppressed } from './report.js';

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

  it('without --delta or --groups says what to pass instead of a bare E_CONFIG', async () => {
    const path = await sample();
    const r = await runCli(['report', path, '--group-by', 'route', '--epsilon', '1']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--delta D is needed to choose which groups to release.*--delta 1e-6.*--groups/);
  });

  it('on a small ledger where selection removes every group, says why instead of an empty table', async () => {
    const path = join(tempDir(), 'small.db');
    const ledger = Ledger.open({ path });
    for (let i = 0; i < 6; i++) ledger.write({ route: i % 2 ? '/a' : '/b' });
    await ledger.close();
    const r = await runCli(['report', path, '--group-by', 'route', '--epsilon', '1', '--delta', '1e-6']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(
      (await runCli(['report', path, '--group-by', 'route', '--epsilon', '1', '--delta', '1e-6', '--json']))
        .out,
    );
    const t = j.parameters.selection.threshold;
    expect(j.groups).toEqual([]);
    expect(r.out).toMatch(
      new RegExp(
        `no group released: every group had fewer than the threshold ${t} of records after noise and was suppressed \\(about \\d+ such group\\(s\\), a noisy count ±[\\d.]+\\);\\s+with ε=${j.parameters.epsilonPerPart} for selection [^δ]*δ=${j.delta} the threshold is ${t}\\.`,
      ),
    );
    expect(r.out).toMatch(/--groups a,b,c/);
    expect(r.out).not.toMatch(/^group\s*$/m); // no empty table
  });

  // The noisy count of suppressed groups can read 0 while every group was suppressed:
  // the line read "no group had fewer than the threshold … and were suppressed".
  it('says every group was suppressed whatever the noisy count of them reads, 0 included', () => {
    for (const suppressedGroups of [0, 3]) {
      const r = {
        privacyUnit: 'user.id',
        suppressedGroups,
        suppressedGroupsError: 9,
        epsilon: 1,
        delta: 1e-6,
        parameters: { epsilonPerPart: 0.5 },
      } as unknown as DpReport;
      const line = allSuppressed(r, 41).split('\n')[0];
      expect(line).toBe(
        `no group released: every group had fewer than the threshold 41 of distinct user.id values after noise and was suppressed (about ${suppressedGroups} such group(s), a noisy count ±9);`,
      );
    }
  });
});

// The README's own example must run exactly as shown (issue 19, item 7: it failed with E_CONFIG).
describe('README report example', () => {
  it('runs as written on a ledger with the field it groups by', async () => {
    const readme = readFileSync(join(import.meta.dirname, '../../../../README.md'), 'utf8');
    const line = /^npx sealog (report audit\.db [^#\n]*)/m.exec(readme)?.[1];
    expect(line, 'README shows an `npx sealog report audit.db …` line').toBeDefined();
    const path = join(tempDir(), 'audit.db');
    const ledger = Ledger.open({ path });
    for (let i = 0; i < 600; i++)
      ledger.write({ action: i % 2 ? 'login' : 'export', user: { id: `psn:k1:${i}` } });
    await ledger.close();
    const args = line!
      .trim()
      .split(/\s+/)
      .map((a) => (a === 'audit.db' ? path : a));
    const r = await runCli(args);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^export\s+\d+$/m);
    expect(r.out).toMatch(/^login\s+\d+$/m);
  });
});
