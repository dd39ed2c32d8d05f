import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { isSealogError } from '../errors.js';
import { validatePrivacyConfig } from './config.js';
import { PseudonymKey } from './keys.js';
import { createPrivacyPipeline } from './pipeline.js';
import { pseudonymizer, pseudonymOf } from './pseudonymize.js';
import {
  DEFAULT_CACHE_BYTES,
  DEFAULT_CACHE_ENTRIES,
  MAX_CACHED_INPUT_BYTES,
  PseudonymCache,
} from './psn-cache.js';

const hexKey = (label: string) => createHash('sha256').update(label).digest('hex');
const k1 = PseudonymKey.fromText('k1', hexKey('k1'), 'test');
const k2 = PseudonymKey.fromText('k2', hexKey('k2'), 'test');
/** The same id as k1, other bytes: a key file replaced without a new id. */
const k1b = PseudonymKey.fromText('k1', hexKey('k1-replaced'), 'test');

/** Any JS string, lone surrogates included (what a record may hold). */
const anyText = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }));

describe('pseudonym cache', () => {
  it('gives byte-identical pseudonyms with and without the cache, however often a value repeats (property)', () => {
    fc.assert(
      fc.property(
        fc.array(anyText, { minLength: 1, maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 60 }),
        fc.constantFrom(8, 16, 32),
        fc.integer({ min: 1, max: 8 }),
        (texts, picks, digestBytes, maxEntries) => {
          // A tiny cache so entries are evicted and re-added along the way.
          const cached = pseudonymizer(k1, digestBytes, new PseudonymCache({ maxEntries, maxBytes: 4096 }));
          for (const p of [...picks, ...picks]) {
            const t = texts[p % texts.length] as string;
            expect(cached(t)).toBe(pseudonymOf(t, k1, digestBytes));
          }
        },
      ),
    );
  });

  it('never returns a pseudonym made under another key: rotation, or a replaced key with the same id', () => {
    const cache = new PseudonymCache({ maxEntries: 100, maxBytes: 10_000 });
    const under = (k: PseudonymKey, n = 16) => pseudonymizer(k, n, cache);
    for (const t of ['alice', 'bob@example.com', '42']) {
      expect(under(k1)(t)).toBe(pseudonymOf(t, k1));
      expect(under(k1)(t)).toBe(pseudonymOf(t, k1)); // a hit
      expect(under(k2)(t)).toBe(pseudonymOf(t, k2)); // rotated: k2 now current
      expect(under(k1b)(t)).toBe(pseudonymOf(t, k1b));
      expect(under(k1b)(t)).not.toBe(pseudonymOf(t, k1));
      expect(under(k1b, 8)(t)).toBe(pseudonymOf(t, k1b, 8)); // another digest length
      expect(under(k1)(t)).toBe(pseudonymOf(t, k1)); // and back
    }
  });

  it('a rotated pipeline (new current key) writes only the new key pseudonyms', () => {
    const env = { OLD: hexKey('old'), NEW: hexKey('new') };
    const keys = [
      { id: 'k2024', env: 'OLD' },
      { id: 'k2025', env: 'NEW' },
    ];
    const before = createPrivacyPipeline(
      validatePrivacyConfig({ pseudonymize: { paths: ['u'], keys, current: 'k2024' } }),
      { env },
    );
    const after = createPrivacyPipeline(
      validatePrivacyConfig({ pseudonymize: { paths: ['u'], keys, current: 'k2025' } }),
      { env },
    );
    const cur = after.keyring?.current as PseudonymKey;
    for (let i = 0; i < 3; i++) {
      expect(before.apply({ u: 'carol' }).u).toMatch(/^psn:k2024:/);
      expect(after.apply({ u: 'carol' }).u).toBe(pseudonymOf('carol', cur));
    }
  });

  it('repeated ids skip the HMAC; the pipeline output equals the uncached pipeline output', () => {
    const cfg = (cache: unknown) =>
      validatePrivacyConfig({
        pseudonymize: { paths: ['user.id', 'user.email'], keys: [{ id: 'k1', env: 'K' }], cache },
        scrub: { paths: ['msg'], replace: 'pseudonym' },
      });
    const on = createPrivacyPipeline(cfg(undefined), { env: { K: hexKey('k1') } });
    const off = createPrivacyPipeline(cfg(false), { env: { K: hexKey('k1') } });
    const mac = vi.spyOn(on.keyring?.current as PseudonymKey, 'mac');
    const rec = (i: number) => ({
      user: { id: `u-${i % 50}`, email: `user${i % 50}@example.com` },
      msg: `login by user${i % 50}@example.com from 203.0.113.${i % 50}`,
    });
    for (let i = 0; i < 500; i++)
      expect(JSON.stringify(on.apply(rec(i)))).toBe(JSON.stringify(off.apply(rec(i))));
    // 50 ids, 50 e-mails and 50 IPs, each MACed once (the e-mail in msg is the e-mail of user.email).
    expect(mac).toHaveBeenCalledTimes(150);
  });

  it('stays within its entry and byte bounds, and does not cache long inputs', () => {
    const c = new PseudonymCache({ maxEntries: 64, maxBytes: 2000 });
    const psn = pseudonymizer(k1, 16, c);
    for (let i = 0; i < 1000; i++) {
      psn(`id-${i}`.padEnd(1 + (i % 40), 'x'));
      expect(c.size).toBeLessThanOrEqual(64);
      expect(c.bytes).toBeLessThanOrEqual(2000);
    }
    const big = new PseudonymCache({ maxEntries: 10, maxBytes: 1 << 20 });
    pseudonymizer(k1, 16, big)('y'.repeat(MAX_CACHED_INPUT_BYTES / 2 + 1));
    expect(big.size).toBe(0);
    const off = new PseudonymCache({ maxEntries: 0, maxBytes: 1000 });
    pseudonymizer(k1, 16, off)('z');
    expect(off.size).toBe(0);
  });

  it('keeps a hot working set through a stream of one-off values (CLOCK)', () => {
    const c = new PseudonymCache({ maxEntries: 100, maxBytes: 1 << 20 });
    const mac = vi.spyOn(k2, 'mac');
    const psn = pseudonymizer(k2, 16, c);
    const hot = Array.from({ length: 50 }, (_, i) => `hot-${i}`);
    for (const h of hot) psn(h);
    for (let i = 0; i < 2000; i++) {
      psn(hot[i % 50] as string);
      psn(`cold-${i}`);
    }
    // Every hot id was MACed once; every cold one once.
    expect(mac).toHaveBeenCalledTimes(50 + 2000);
    mac.mockRestore();
  });

  it('clear() drops every entry', () => {
    const c = new PseudonymCache({ maxEntries: 10, maxBytes: 1000 });
    pseudonymizer(k1, 16, c)('a');
    c.clear();
    expect(c.size).toBe(0);
    expect(c.bytes).toBe(0);
    expect(pseudonymizer(k1, 16, c)('a')).toBe(pseudonymOf('a', k1));
  });
});

describe('privacy.pseudonymize.cache', () => {
  const KEYS = [{ id: 'k1', env: 'K' }];
  const validate = (cache: unknown) =>
    validatePrivacyConfig({ pseudonymize: { keys: KEYS, cache } }).pseudonymize?.cache;

  it('defaults, sizes and turns off', () => {
    expect(validate(undefined)).toEqual({ maxEntries: DEFAULT_CACHE_ENTRIES, maxBytes: DEFAULT_CACHE_BYTES });
    expect(validate({ maxEntries: 100 })).toEqual({ maxEntries: 100, maxBytes: DEFAULT_CACHE_BYTES });
    expect(validate(false)).toEqual({ maxEntries: 0, maxBytes: 0 });
    expect(validate({ maxEntries: 0 })).toEqual({ maxEntries: 0, maxBytes: DEFAULT_CACHE_BYTES });
  });

  it.each([
    [true, 'privacy.pseudonymize.cache must be false or an object'],
    ['big', 'privacy.pseudonymize.cache must be false or an object'],
    [{ maxEntries: -1 }, 'privacy.pseudonymize.cache.maxEntries must be an integer from 0 to'],
    [{ maxEntries: 1.5 }, 'privacy.pseudonymize.cache.maxEntries must be an integer'],
    [{ maxBytes: '4MB' }, 'privacy.pseudonymize.cache.maxBytes must be an integer'],
    [{ maxBytes: 2 ** 40 }, 'privacy.pseudonymize.cache.maxBytes must be an integer from 0 to'],
    [{ size: 10 }, 'privacy.pseudonymize.cache.size is not a known option'],
  ])('rejects %j naming the field', (cache, message) => {
    let err: unknown;
    try {
      validate(cache);
    } catch (e) {
      err = e;
    }
    expect(isSealogError(err) && err.code).toBe('E_CONFIG');
    expect((err as Error).message).toContain(message);
  });
});
