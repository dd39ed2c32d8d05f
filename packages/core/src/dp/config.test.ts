import { describe, expect, it } from 'vitest';
import { isSealogError } from '../errors.js';
import { validateNoiseConfig } from './config.js';

const good = () => ({
  unit: 'user.id',
  budget: { epsilon: 10, windowSeconds: 86400 },
  fields: {
    latencyMs: { mechanism: 'laplace', epsilon: 0.5, lower: 0, upper: 5000, granularity: 1 },
    amount: { mechanism: 'gaussian', epsilon: 1, delta: 1e-6, lower: 0, upper: 1000, granularity: 0.01 },
  },
});

type Cfg = ReturnType<typeof good> & Record<string, unknown>;

function rejects(mutate: (c: Cfg) => unknown, field: string, also?: RegExp): void {
  const c = good() as Cfg;
  const raw = mutate(c) ?? c;
  try {
    validateNoiseConfig(raw);
  } catch (err) {
    expect(isSealogError(err) && err.code).toBe('E_CONFIG');
    const msg = (err as Error).message;
    expect(msg.startsWith(`${field} `), msg).toBe(true);
    if (also) expect(msg).toMatch(also);
    return;
  }
  throw new Error(`config was accepted; expected an error naming ${field}`);
}

describe('validateNoiseConfig', () => {
  it('accepts the documented example and returns it typed', () => {
    const c = validateNoiseConfig(good());
    expect(c.fields.amount).toMatchObject({ mechanism: 'gaussian', delta: 1e-6 });
    expect(c.budget).toEqual({ epsilon: 10, windowSeconds: 86400 });
  });

  const f = 'privacy.noise.fields';
  const cases: [string, (c: Cfg) => unknown, string, RegExp?][] = [
    ['not an object', () => 'x', 'privacy.noise'],
    [
      'unknown top-level key',
      (c) => {
        c.nosie = 1;
      },
      'privacy.noise.nosie',
      /not a known option/,
    ],
    [
      'missing unit',
      (c) => {
        delete (c as Partial<Cfg>).unit;
      },
      'privacy.noise.unit',
      /required/,
    ],
    [
      'empty unit segment',
      (c) => {
        c.unit = 'user..id';
      },
      'privacy.noise.unit',
    ],
    [
      'prototype path',
      (c) => {
        c.unit = '__proto__.x';
      },
      'privacy.noise.unit',
    ],
    [
      'missing budget',
      (c) => {
        delete (c as Partial<Cfg>).budget;
      },
      'privacy.noise.budget',
    ],
    [
      'budget ε = 0',
      (c) => {
        c.budget.epsilon = 0;
      },
      'privacy.noise.budget.epsilon',
      /> 0/,
    ],
    [
      'window 0',
      (c) => {
        c.budget.windowSeconds = 0;
      },
      'privacy.noise.budget.windowSeconds',
    ],
    [
      'window fractional',
      (c) => {
        c.budget.windowSeconds = 1.5;
      },
      'privacy.noise.budget.windowSeconds',
    ],
    [
      'empty fields',
      (c) => {
        c.fields = {} as Cfg['fields'];
      },
      'privacy.noise.fields',
    ],
    [
      'unknown mechanism',
      (c) => {
        (c.fields.latencyMs as { mechanism: string }).mechanism = 'exponential';
      },
      `${f}.latencyMs.mechanism`,
    ],
    [
      'ε ≤ 0',
      (c) => {
        c.fields.latencyMs.epsilon = -1;
      },
      `${f}.latencyMs.epsilon`,
      /> 0/,
    ],
    [
      'ε not a number',
      (c) => {
        (c.fields.latencyMs as { epsilon: unknown }).epsilon = '1';
      },
      `${f}.latencyMs.epsilon`,
    ],
    [
      'ε NaN',
      (c) => {
        c.fields.latencyMs.epsilon = Number.NaN;
      },
      `${f}.latencyMs.epsilon`,
    ],
    [
      'ε below micro',
      (c) => {
        c.fields.latencyMs.epsilon = 1e-9;
      },
      `${f}.latencyMs.epsilon`,
    ],
    [
      'ε above budget',
      (c) => {
        c.fields.latencyMs.epsilon = 11;
      },
      `${f}.latencyMs.epsilon`,
      /exceeds/,
    ],
    [
      'gaussian δ missing',
      (c) => {
        delete (c.fields.amount as { delta?: number }).delta;
      },
      `${f}.amount.delta`,
      /required/,
    ],
    [
      'gaussian δ = 0',
      (c) => {
        c.fields.amount.delta = 0;
      },
      `${f}.amount.delta`,
    ],
    [
      'gaussian δ = 1',
      (c) => {
        c.fields.amount.delta = 1;
      },
      `${f}.amount.delta`,
    ],
    [
      'δ on laplace',
      (c) => {
        (c.fields.latencyMs as Record<string, unknown>).delta = 1e-6;
      },
      `${f}.latencyMs.delta`,
      /not a known option/,
    ],
    [
      'lower > upper',
      (c) => {
        c.fields.latencyMs.lower = 6000;
      },
      `${f}.latencyMs.lower`,
      /<= upper/,
    ],
    [
      'bounds within one step',
      (c) => {
        c.fields.latencyMs.upper = 0.2;
      },
      `${f}.latencyMs.upper`,
    ],
    [
      'granularity 0',
      (c) => {
        c.fields.latencyMs.granularity = 0;
      },
      `${f}.latencyMs.granularity`,
      /> 0/,
    ],
    [
      'granularity negative',
      (c) => {
        c.fields.latencyMs.granularity = -1;
      },
      `${f}.latencyMs.granularity`,
    ],
    [
      'granularity too fine',
      (c) => {
        c.fields.latencyMs.granularity = 1e-12;
      },
      `${f}.latencyMs.granularity`,
    ],
    [
      'missing lower',
      (c) => {
        delete (c.fields.latencyMs as { lower?: number }).lower;
      },
      `${f}.latencyMs.lower`,
      /required/,
    ],
    [
      'infinite upper',
      (c) => {
        c.fields.latencyMs.upper = Number.POSITIVE_INFINITY;
      },
      `${f}.latencyMs.upper`,
    ],
    [
      'field is not an object',
      (c) => {
        (c.fields as Record<string, unknown>).latencyMs = 5;
      },
      `${f}.latencyMs`,
    ],
    [
      'unit noised',
      (c) => {
        (c.fields as Record<string, unknown>)['user.id'] = c.fields.latencyMs;
      },
      `${f}.user.id`,
    ],
    [
      'bad field path',
      (c) => {
        (c.fields as Record<string, unknown>)['a.'] = c.fields.latencyMs;
      },
      `${f}.a.`,
    ],
    [
      'maxUnits 0',
      (c) => {
        (c.budget as Record<string, unknown>).maxUnits = 0;
      },
      'privacy.noise.budget.maxUnits',
    ],
  ];
  for (const [name, mutate, field, also] of cases) {
    it(`rejects ${name} naming ${field}`, () => rejects(mutate, field, also));
  }

  it('uses the caller-supplied field path in messages', () => {
    expect(() => validateNoiseConfig({ ...good(), unit: '' }, 'opts.dp')).toThrow(/^opts\.dp\.unit /);
  });
});
