import { randomBytes } from 'node:crypto';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../../test/helpers/cli.js';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { rhoFor } from '../../../core/src/dp/calibrate.js';
import { openSink, planNoise, validateNoiseConfig } from '../../../core/src/index.js';

const noise = {
  unit: 'user.id',
  budget: { epsilon: 10, windowSeconds: 86400 },
  fields: { latencyMs: { mechanism: 'laplace', epsilon: 2, lower: 0, upper: 500, granularity: 1 } },
};

function file(content: unknown): string {
  const f = join(tempDir(), 'config.json');
  writeFileSync(f, typeof content === 'string' ? content : JSON.stringify(content));
  return f;
}

describe('sealog dp plan', () => {
  it('plans a bare noise section: scale, one-value error, sums and means, the warning', async () => {
    const r = await runCli(['dp', 'plan', file(noise)]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('latencyMs: laplace, ε=2, range [0, 500], granularity 1');
    expect(r.out).toContain('τ = 250 (discrete Laplace, 250 grid steps), standard deviation 354');
    expect(r.out).toContain('one value     ±749 (exactly 95.01% of values fall within)');
    expect(r.out).toMatch(/mean {10}±69\.3 +±21\.9 +±6\.93\n/);
    expect(r.out).toContain("warning: one value's 95% error (±749) exceeds the range (500)");
    expect(r.out).toContain('clamping is not noise');
  });

  it('reads transport options and checks the whole privacy section as the transport does', async () => {
    const options = {
      path: 'audit.db',
      privacy: {
        pseudonymize: { paths: ['user.id'], keys: [{ id: 'k1', file: 'psn.key' }] },
        noise,
      },
    };
    const r = await runCli(['dp', 'plan', file(options), '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out);
    const plan = planNoise(validateNoiseConfig(noise)).fields[0]!;
    expect(out.fields[0]).toMatchObject({
      path: 'latencyMs',
      laplace: { s: '1', t: '250' },
      error: 749,
      errorSteps: plan.errorSteps,
      aggregates: plan.aggregates,
    });
    // The unit must be pseudonymized: the same rule the transport applies.
    const raw = { path: 'a.db', privacy: { noise } };
    const e = await runCli(['dp', 'plan', file(raw)]);
    expect(e.code).toBe(2);
    expect(e.err).toMatch(
      /privacy\.noise\.unit "user\.id" must also be listed in privacy\.pseudonymize\.paths/,
    );
  });

  it('bad input exits 2 with a message naming the field, the file, or the usage', async () => {
    const bad = structuredClone(noise) as { fields: { latencyMs: Record<string, unknown> } };
    bad.fields.latencyMs.epsilon = 0;
    const e = await runCli(['dp', 'plan', file(bad)]);
    expect(e).toMatchObject({ code: 2, out: '' });
    expect(e.err).toBe('sealog dp: E_CONFIG: privacy.noise.fields.latencyMs.epsilon must be > 0\n');
    const typo = await runCli([
      'dp',
      'plan',
      file({ ...noise, fields: { x: { ...noise.fields.latencyMs, uper: 1 } } }),
    ]);
    expect(typo.err).toMatch(/privacy\.noise\.fields\.x\.uper is not a known option; did you mean/);
    expect((await runCli(['dp', 'plan', file('{ "unit": ')])).err).toMatch(/E_CONFIG: .* is not valid JSON/);
    expect((await runCli(['dp', 'plan', join(tempDir(), 'none.json')])).err).toMatch(/E_IO: cannot read/);
    expect((await runCli(['dp', 'plan', file({ path: 'a.db', privacy: {} })])).err).toMatch(
      /privacy\.noise is missing/,
    );
    for (const argv of [['dp'], ['dp', 'plot'], ['dp', 'plan'], ['dp', 'plan', 'a', 'b']]) {
      const r = await runCli(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toContain('run sealog dp --help for usage');
    }
  });

  it('has help like the other commands', async () => {
    const r = await runCli(['help', 'dp']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^usage: sealog dp plan <config.json> \[--json\]/);
    expect((await runCli(['--help'])).out).toMatch(/\n {2}dp +plan differential-privacy noise/);
  });
});

describe('docs/differential-privacy.md "Planning"', () => {
  it('shows exactly what sealog dp plan prints for the configuration the docs give', async () => {
    const doc = readFileSync(new URL('../../../../docs/differential-privacy.md', import.meta.url), 'utf8');
    const config = /## Configuration\n\n```json\n([\s\S]*?)\n```/.exec(doc)?.[1];
    const shown = /\$ sealog dp plan noise\.json\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(config).toBeDefined();
    expect(shown).toBeDefined();
    const r = await runCli(['dp', 'plan', file(config!)]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(shown);
  });
});

describe('the demo (examples/demo/app.mjs)', () => {
  it('states the errors its noise configuration has', () => {
    const app = readFileSync(new URL('../../../../examples/demo/app.mjs', import.meta.url), 'utf8');
    const spec = /fields: \{ amount: (\{[^}]*\}) \}/.exec(app)?.[1];
    expect(spec).toBeDefined();
    const amount = JSON.parse(spec!.replace(/(\w+):/g, '"$1":').replaceAll("'", '"'));
    const plan = planNoise(validateNoiseConfig({ ...noise, fields: { amount } })).fields[0]!;
    const [, thousand] = plan.aggregates;
    expect(app).toContain(`within ±${Math.round(plan.error)} of the truth (95%)`);
    expect(app).toContain(`the mean of 1000 refunds within ±${thousand!.mean.toFixed(1)}`);
    const doc = readFileSync(new URL('../../../../docs/differential-privacy.md', import.meta.url), 'utf8');
    expect(doc).toContain(
      `within ±${plan.error.toFixed(1)} of the true\namount, the mean of 1000 refunds within ±${thousand!.mean.toFixed(1)}`,
    );
  });
});

describe('sealog dp budget', () => {
  const budgetNoise = {
    unit: 'user.id',
    budget: {
      epsilon: 1,
      windowSeconds: 86400,
      gaussian: { epsilon: 1, delta: 1e-6 },
      lifetime: { epsilon: 3 },
    },
    fields: {
      ms: { mechanism: 'laplace', epsilon: 0.25, lower: 0, upper: 10, granularity: 1 },
      amount: { mechanism: 'gaussian', epsilon: 0.5, delta: 1e-6, lower: 0, upper: 100, granularity: 1 },
    },
  };
  const RAW = 'alice.raw-unit@example.com';

  /** A ledger written through the real sink: the unit pseudonymized, then noised. */
  async function written(): Promise<{ dir: string; file: string; config: string }> {
    const dir = tempDir();
    const file = join(dir, 'audit.db');
    process.env.SEALOG_TEST_PSN_DP = randomBytes(32).toString('base64');
    const sink = await openSink({
      path: file,
      privacy: {
        pseudonymize: { paths: ['user.id'], keys: [{ id: 'k1', env: 'SEALOG_TEST_PSN_DP' }], current: 'k1' },
        noise: budgetNoise,
      },
    });
    for (let i = 0; i < 6; i++) sink.write({ i, user: { id: RAW }, ms: 3.25, amount: 42 });
    await sink.close();
    return { dir, file, config: join(dir, 'noise.json') };
  }

  it('shows spent and remaining per unit (its pseudonym) and window, and the lifetime; no raw unit on disk', async () => {
    const { dir, file, config } = await written();
    writeFileSync(config, JSON.stringify(budgetNoise));
    const r = await runCli(['dp', 'budget', file, '--config', config]);
    expect(r.code).toBe(0);
    // 4 of 6 ms values fit ε 1 (0.25 each); the amount's ρ(0.5, 1e-6) ≈ 0.00444 fits 3 times in ρ(1, 1e-6) ≈ 0.0175
    // (the ε sum would fit 2).
    expect(r.out).toMatch(/^unit +window +start +ε spent +ε left +ρ spent +ρ left +ρ as ε\n/);
    expect(r.out).toMatch(
      /psn:k1:\S+ +\d+ +\d{4}-\d\d-\d\dT00:00:00\.000Z +1 +0 +0\.0133315\d* +0\.0041373\d* +0\.87\d* \(δ 0\.000001\)\n/,
    );
    expect(r.out).toMatch(/lifetime:\nunit +ε spent +ε left .*\npsn:k1:\S+ +1 +2 +- +- +-\n/);
    expect(r.out).not.toContain(RAW);
    const j = JSON.parse((await runCli(['dp', 'budget', file, '--config', config, '--json'])).out);
    expect(j.windows).toHaveLength(1);
    expect(j.windows[0]).toMatchObject({
      epsilon: { spent: 1, limit: 1, remaining: 0 },
      rho: { delta: 1e-6 },
    });
    expect(Math.round(j.windows[0].rho.spent * 1e9)).toBe(3 * Math.ceil(rhoFor(0.5, 1e-6) * 1e9));
    expect(j.windows[0].rho.epsilon).toBeLessThanOrEqual(1);
    expect(j.lifetime).toEqual([{ unit: j.windows[0].unit, epsilon: { spent: 1, limit: 3, remaining: 2 } }]);
    expect(j.windows[0].unit).toMatch(/^psn:k1:/);
    // Without --config: spent only, and a hint on stderr; --unit filters by pseudonym.
    const bare = await runCli(['dp', 'budget', file]);
    expect(bare.out).toMatch(/psn:k1:\S+ +\d+ +- +1 +- +0\.0133315/);
    expect(bare.err).toContain('give --config');
    const none = JSON.parse((await runCli(['dp', 'budget', file, '--unit', 'psn:k1:nobody', '--json'])).out);
    expect(none).toMatchObject({ windows: [], lifetime: [] });
    // Byte scan: neither the raw unit nor the raw metric values in any file the ledger left.
    for (const f of readdirSync(dir)) {
      const bytes = readFileSync(join(dir, f)).toString('latin1');
      expect(bytes.includes(RAW), f).toBe(false);
      expect(bytes.includes('3.25'), f).toBe(false);
    }
  });

  it('reads a segment directory’s budgets.db; an old ledger with no budget tables; bad input exits 2', async () => {
    const { file, config } = await written();
    writeFileSync(config, JSON.stringify(budgetNoise));
    const seg = tempDir();
    copyFileSync(file, join(seg, 'budgets.db'));
    const r = await runCli(['dp', 'budget', seg, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).windows).toHaveLength(1);
    const empty = join(tempDir(), 'old.db');
    new Database(empty).close();
    const e = await runCli(['dp', 'budget', empty, '--config', config]);
    expect(e.out).toContain(
      'no window budgets stored\n\nno lifetime budgets stored (budget.lifetime caps ε at 3)\n',
    );
    expect((await runCli(['dp', 'budget', join(tempDir(), 'none.db')])).err).toMatch(/E_IO: cannot open/);
    const bad = await runCli(['dp', 'budget', file, '--delta', '2']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--delta must be a number in \(0, 1\)/);
    // A hand-edited row of the wrong type is skipped and counted, never trusted.
    const d = new Database(file);
    d.prepare("INSERT INTO dp_budget VALUES ('psn:k1:x', 1, 'lots')").run();
    d.close();
    expect((await runCli(['dp', 'budget', file])).out).toContain('1 hostile row(s) not shown as spending');
  });

  it('dp plan counts Gaussian values in ρ under budget.gaussian, and lifetime caps', async () => {
    const r = await runCli(['dp', 'plan', file(budgetNoise)]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      "per unit      4 value(s) per window (ε=0.25 each, budget 1); 12 in a unit's lifetime",
    );
    // ρ(0.5, 1e-6) ≈ 0.00444 of ρ(1, 1e-6) ≈ 0.0175: 3 values, where the ε sum (0.5 of 1) gives 2.
    expect(r.out).toMatch(
      /per unit {6}3 value\(s\) per window \(ρ=0\.00444 each, budget ρ=0\.0175, zCDP\)\n/,
    );
    expect(
      JSON.parse((await runCli(['dp', 'plan', file(budgetNoise), '--json'])).out).fields[1].perWindow,
    ).toBe(3);
  });

  it('dp plan --json states what the text does: currency, cost, window budget, lifetime count', async () => {
    const config = {
      ...noise,
      budget: {
        ...noise.budget,
        gaussian: { epsilon: 10, delta: 1e-6 },
        lifetime: { epsilon: 100, gaussian: { rho: 20 } },
      },
      fields: { ...noise.fields, amount: { ...budgetNoise.fields.amount, epsilon: 2 } },
    };
    const text = (await runCli(['dp', 'plan', file(config)])).out;
    expect(text).toContain("20 value(s) per window (ρ=0.0676 each, budget ρ=1.35, zCDP); 295 in a unit's");
    const j = JSON.parse((await runCli(['dp', 'plan', file(config), '--json'])).out);
    const rho = rhoFor(10, 1e-6);
    expect(j.budget).toEqual({
      epsilon: 10,
      windowSeconds: 86400,
      gaussian: { rho, epsilon: 10, delta: 1e-6 },
      lifetime: { epsilon: 100, gaussian: { rho: 20 } },
    });
    expect(j.fields[0]).toMatchObject({
      path: 'latencyMs',
      perWindow: 5,
      perUnit: { currency: 'epsilon', each: 2, budget: 10, perWindow: 5, lifetime: 50 },
    });
    const each = Math.ceil(rhoFor(2, 1e-6) * 1e9) / 1e9;
    expect(j.fields[1]).toMatchObject({
      path: 'amount',
      perWindow: 20,
      perUnit: { currency: 'rho', each, budget: Math.floor(rho * 1e9) / 1e9, perWindow: 20, lifetime: 295 },
    });
    // docs/differential-privacy.md "Accounting" shows both perUnit objects.
    const doc = readFileSync(new URL('../../../../docs/differential-privacy.md', import.meta.url), 'utf8');
    const shown = (o: object) =>
      `{ ${Object.entries(o)
        .map(([k, v]) => `"${k}": ${JSON.stringify(v)}`)
        .join(', ')} }`;
    expect(doc).toContain(`"perUnit": ${shown(j.fields[1].perUnit)}\n`);
    expect(doc).toContain(`\`${shown(j.fields[0].perUnit)}\``);
    // Without a cap, no lifetime count.
    const bare = JSON.parse((await runCli(['dp', 'plan', file(noise), '--json'])).out);
    expect(bare.budget).toEqual(noise.budget);
    expect(bare.fields[0].perUnit).toEqual({ currency: 'epsilon', each: 2, budget: 10, perWindow: 5 });
  });

  it('says whether a lifetime cap is configured; refuses a --unit that is not a pseudonym', async () => {
    const { file: ledger, config } = await written();
    writeFileSync(config, JSON.stringify(budgetNoise));
    const nobody = await runCli(['dp', 'budget', ledger, '--unit', 'psn:k1:nobody', '--config', config]);
    expect(nobody.out).toContain('no window budgets stored for this unit\n');
    expect(nobody.out).toContain('no lifetime budget stored for this unit (budget.lifetime caps ε at 3)\n');
    const uncapped = join(tempDir(), 'uncapped.json');
    const { lifetime: _, ...windowOnly } = budgetNoise.budget;
    writeFileSync(uncapped, JSON.stringify({ ...budgetNoise, budget: windowOnly }));
    const u = await runCli(['dp', 'budget', ledger, '--unit', 'psn:k1:nobody', '--config', uncapped]);
    expect(u.out).toContain('no lifetime budgets stored (no budget.lifetime cap configured)\n');
    const unknown = await runCli(['dp', 'budget', ledger, '--unit', 'psn:k1:nobody']);
    expect(unknown.out).toContain('kept only under a budget.lifetime cap; give --config');
    // A raw identifier is never looked up (no key here), nor repeated in the message.
    const raw = await runCli(['dp', 'budget', ledger, '--unit', RAW, '--config', config]);
    expect(raw).toMatchObject({ code: 2, out: '' });
    expect(raw.err).toMatch(/--unit must be a unit's pseudonym as stored \(psn:<key id>:<digest>\)/);
    expect(raw.err).toContain('sealog dp budget <ledger> without --unit');
    expect(raw.err).not.toContain(RAW);
  });
});
