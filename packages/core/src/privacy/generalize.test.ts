import { describe, expect, it } from 'vitest';
import { validatePrivacyConfig } from './config.js';
import {
  bucketLabels,
  generalizeBuckets,
  generalizePrefix,
  generalizeTime,
  INVALID_IP,
  INVALID_NUMBER,
  INVALID_STRING,
  INVALID_TIME,
} from './generalize.js';
import { createPrivacyPipeline } from './pipeline.js';

describe('generalize', () => {
  it('times: epoch ms stays a number, strings and Dates become ISO, UTC', () => {
    const t = Date.UTC(2024, 4, 17, 13, 45, 12, 345);
    expect(generalizeTime('hour')(t)).toBe(Date.UTC(2024, 4, 17, 13));
    expect(generalizeTime('minute')('2024-05-17T13:45:12.345+02:00')).toBe('2024-05-17T11:45:00.000Z');
    expect(generalizeTime('day')(new Date(t))).toBe('2024-05-17T00:00:00.000Z');
    expect(generalizeTime('second')(t)).toBe(t - 345);
    expect(generalizeTime('hour')(-1)).toBe(-3600e3);
    for (const bad of ['May 17', '1', 'yesterday', Number.NaN, 1e300, {}, true])
      expect(generalizeTime('day')(bad)).toBe(INVALID_TIME);
  });

  it('buckets: labels and boundaries are half-open', () => {
    expect(bucketLabels([18, 30, 50])).toEqual(['<18', '18-29', '30-49', '>=50']);
    expect(bucketLabels([0, 1, 2.5])).toEqual(['<0', '[0,1)', '[1,2.5)', '>=2.5']);
    expect(bucketLabels([1, 2])).toEqual(['<1', '1', '>=2']);
    const b = generalizeBuckets([18, 30, 50]);
    expect([17.9, 18, 29, 29.99, 30, 50, 1e9, -5].map(b)).toEqual([
      '<18',
      '18-29',
      '18-29',
      '18-29',
      '30-49',
      '>=50',
      '>=50',
      '<18',
    ]);
    expect(b('42')).toBe(INVALID_NUMBER);
    expect(b(Number.POSITIVE_INFINITY)).toBe(INVALID_NUMBER);
  });

  it('prefix: strings and numbers, never half a surrogate pair', () => {
    const p = generalizePrefix(3);
    expect(p('12345')).toBe('123');
    expect(p(12345)).toBe('123');
    expect(p('ab')).toBe('ab');
    expect(p('ab😀c')).toBe('ab');
    expect(p({ a: 1 })).toBe(INVALID_STRING);
  });

  it('pipeline: missing paths left alone, wrong types replaced, null kept', () => {
    const p = createPrivacyPipeline(
      validatePrivacyConfig({
        generalize: [
          { path: 'client.ip', ip: {} },
          { path: 'hops[*]', ip: { v4Prefix: 16 } },
          { path: 'event.at', time: 'hour' },
          { path: 'user.age', buckets: [18, 30, 50] },
          { path: 'zip', prefix: 3 },
        ],
      }),
    );
    const rec = {
      client: { ip: '203.0.113.9' },
      hops: ['10.1.2.3', 'not-an-ip', null],
      event: { at: '2024-05-17T13:45:12Z' },
      user: { age: 33 },
      zip: '90210',
    };
    expect(p.apply(rec)).toEqual({
      client: { ip: '203.0.113.0/24' },
      hops: ['10.1.0.0/16', INVALID_IP, null],
      event: { at: '2024-05-17T13:00:00.000Z' },
      user: { age: '30-49' },
      zip: '902',
    });
    expect(p.apply({ other: 1 })).toEqual({ other: 1 });
    expect(p.apply({ client: { ip: { v: '1.2.3.4' } } })).toEqual({ client: { ip: INVALID_IP } });
  });
});
