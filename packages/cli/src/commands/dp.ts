import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  type FieldPlan,
  type NoisePlan,
  onGrid,
  planNoise,
  type Releases,
  releases,
  round3,
  SealogError,
  validateNoiseConfig,
  validatePrivacyConfig,
} from '@sealog/core';
import { type Command, EXIT_OK, type Io, UsageError } from '../command.js';
import { budget, budgetUsage } from './dp-budget.js';

// `sealog dp plan`: what the configured noise does, before anyone deploys it
// (issue 20, item 2). Users tried the docs' example and stored −29994 for a
// latency of 40 ms; this prints that in advance, with the record counts at
// which sums and means become useful.

const usage = `usage: sealog dp plan <config.json> [--json]

Prints, for each noised field of a noise configuration, what the noise does
to the stored values, in the field's own units, at 95% confidence:

  - the mechanism and its exact scale (as the sampler uses it);
  - the error of one stored value, from the exact discrete distribution;
  - the error of a sum and of a mean over 100, 1000 and 10000 records;
  - how many values of the field one unit gets noised per budget window;
  - a warning when one value's error exceeds the field's range.

<config.json> holds the transport options ({ "path": …, "privacy": { …,
"noise": { … } } }), the privacy section, or only the noise section
({ "unit", "budget", "fields" }). It is checked as the transports check it:
an error names the field (exit 2).

  --json    print the plan as JSON (bigint scales as strings; per field its
            perUnit: currency, cost each, window budget, counts)

The errors do not include clamping: a value outside [lower, upper] is stored
as the bound plus noise (docs/differential-privacy.md "Planning").

${budgetUsage}`;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export type NoiseConfig = ReturnType<typeof validateNoiseConfig>;

/** The validated noise section of a transport-options, privacy or noise JSON file. */
export function readNoiseConfig(file: string): NoiseConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SealogError('E_IO', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SealogError('E_CONFIG', `${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (isObject(raw) && ('privacy' in raw || 'noise' in raw)) {
    // Transport options, or their privacy section: checked whole, as the transport does.
    const inOptions = 'privacy' in raw;
    const privacy = validatePrivacyConfig(inOptions ? raw.privacy : raw, 'privacy');
    if (privacy.noise === undefined) {
      throw new SealogError('E_CONFIG', `privacy.noise is missing in ${file}: no field is noised`);
    }
    return privacy.noise as NoiseConfig; // validated by validatePrivacyConfig
  }
  return validateNoiseConfig(raw, 'privacy.noise');
}

function scaleText(p: FieldPlan): string {
  if (p.laplace) {
    const steps = `${p.laplace.t}${p.laplace.s === 1n ? '' : `/${p.laplace.s}`}`;
    return `τ = ${round3(p.scale)} (discrete Laplace, ${steps} grid steps)`;
  }
  const s2 = p.sigma2!;
  return `σ = ${round3(p.scale)} (discrete Gaussian, σ² = ${s2.num}/${s2.den} grid steps²)`;
}

/**
 * What one field's values cost a unit and how many it gets, in the currency it spends
 * (ε, or ρ under budget.gaussian), with the count under budget.lifetime: the text and
 * the JSON both state this.
 */
function perUnit(p: FieldPlan, config: NoiseConfig): Releases {
  return releases(config, p.path)!; // p comes from planNoise(config): the field is there
}

function perUnitText(p: FieldPlan, config: NoiseConfig): string {
  const r = perUnit(p, config);
  const life = r.lifetime === undefined ? '' : `; ${r.lifetime} in a unit's lifetime (budget.lifetime)`;
  if (r.currency === 'rho')
    return `${r.perWindow} value(s) per window (ρ=${round3(r.each)} each, budget ρ=${round3(r.budget)}, zCDP)${life}`;
  return `${r.perWindow} value(s) per window (ε=${r.each} each, budget ${r.budget})${life}`;
}

function fieldText(p: FieldPlan, config: NoiseConfig): string {
  const f = p.field;
  const g = f.granularity;
  const head =
    `${p.path}: ${f.mechanism}, ε=${p.epsilon}${f.mechanism === 'gaussian' ? `, δ=${f.delta}` : ''}, ` +
    `range [${f.lower}, ${f.upper}], granularity ${g}`;
  const col = (xs: string[]) => xs.map((x) => x.padEnd(12)).join('');
  const coverage = `${(p.coverage * 100).toFixed(2)}%`;
  const lines = [
    head,
    `  noise scale   ${scaleText(p)}, standard deviation ${round3(p.stdDev)}`,
    `  one value     ±${onGrid(p.errorSteps, g)} (${p.exact ? `exactly ${coverage} of values fall within` : 'to within one grid step'})`,
    `  records       ${col(p.aggregates.map((a) => String(a.records)))}`.trimEnd(),
    `  sum           ${col(p.aggregates.map((a) => `±${round3(a.sum)}`))}`.trimEnd(),
    `  mean          ${col(p.aggregates.map((a) => `±${round3(a.mean)}`))}`.trimEnd(),
    `  per unit      ${perUnitText(p, config)}`,
    ...p.warnings.map((w) => `  warning: ${w}`),
  ];
  return lines.join('\n');
}

/** The plan of `config` (planNoise) as text: one block per field, then the notes. */
export function planText(plan: NoisePlan, config: NoiseConfig): string {
  const head = `privacy unit ${plan.unit}; budget ε=${plan.budgetEpsilon} per unit per ${plan.windowSeconds} s; errors at 95% confidence, in each field's units`;
  const notes = plan.notes.map((n) => `  - ${n}`).join('\n');
  return `${head}\n\n${plan.fields.map((f) => fieldText(f, config)).join('\n\n')}\n\nnotes:\n${notes}\n`;
}

/**
 * The plan of `config` (planNoise) as JSON: bigints as decimal strings; the budget as
 * configured (with budget.gaussian's ρ); per field what the text's "per unit" line says.
 */
export function planJson(plan: NoisePlan, config: NoiseConfig): string {
  const fields = plan.fields.map((p) => {
    const r = perUnit(p, config);
    return {
      path: p.path,
      ...p.field,
      epsilon: p.epsilon,
      sensitivity: p.sensitivity,
      ...(p.laplace ? { laplace: { s: String(p.laplace.s), t: String(p.laplace.t) } } : {}),
      ...(p.sigma2 ? { sigma2: { num: String(p.sigma2.num), den: String(p.sigma2.den) } } : {}),
      scale: p.scale,
      stdDev: p.stdDev,
      error: Number(onGrid(p.errorSteps, p.field.granularity)),
      errorSteps: p.errorSteps,
      coverage: p.coverage,
      exact: p.exact,
      aggregates: p.aggregates,
      perWindow: r.perWindow,
      perUnit: r,
      warnings: p.warnings,
    };
  });
  const out = {
    unit: plan.unit,
    budget: config.budget,
    confidence: 0.95,
    fields,
    notes: plan.notes,
  };
  return `${JSON.stringify(out, null, 2)}\n`;
}

async function plan(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean' } },
  });
  if (positionals.length !== 1)
    throw new UsageError('expected one argument: the JSON file with the noise configuration');
  const config = readNoiseConfig(positionals[0]!);
  const p = planNoise(config);
  io.out(values.json ? planJson(p, config) : planText(p, config));
  return EXIT_OK;
}

export const dp: Command = {
  name: 'dp',
  summary:
    'plan differential-privacy noise: the error of one value, sums and means (dp plan); budgets spent per unit (dp budget)',
  usage,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === 'plan') return plan(rest, io);
    if (sub === 'budget') return budget(rest, io);
    throw new UsageError(
      sub === undefined ? 'a subcommand is required: plan or budget' : `unknown subcommand "${sub}"`,
    );
  },
};
