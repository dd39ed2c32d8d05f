import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../../test/helpers/cli.js';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { planNoise, validateNoiseConfig } from '../../../core/src/index.js';

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
