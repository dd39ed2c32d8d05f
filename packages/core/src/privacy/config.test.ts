import { describe, expect, it } from 'vitest';
import { isSealogError } from '../errors.js';
import { validatePrivacyConfig } from './config.js';
import { createPrivacyPipeline } from './pipeline.js';

function err(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    return { code: isSealogError(e) ? e.code : 'not-sealog', message: (e as Error).message };
  }
  throw new Error('expected an error');
}

const KEYS = { keys: [{ id: 'k1', env: 'K' }] };

describe('validatePrivacyConfig', () => {
  it('fills defaults', () => {
    expect(
      validatePrivacyConfig({
        redact: { paths: ['a'] },
        pseudonymize: KEYS,
        scrub: {},
        generalize: [{ path: 'ip', ip: {} }],
      }),
    ).toEqual({
      redact: { paths: ['a'], censor: '[Redacted]', remove: false },
      pseudonymize: {
        paths: [],
        keys: [{ id: 'k1', env: 'K' }],
        current: 'k1',
        digestBytes: 16,
        cache: { maxEntries: 16384, maxBytes: 4194304 },
      },
      scrub: { paths: ['msg'], kinds: ['email', 'ip', 'card', 'token', 'jwt'], replace: 'tag' },
      generalize: [{ path: 'ip', ip: { v4Prefix: 24, v6Prefix: 48 } }],
    });
  });

  it.each([
    [{ redact: { paths: ['a..b'] } }, 'privacy.redact.paths[0] "a..b"'],
    [{ redact: { paths: ['ok', 'a[x]'] } }, 'privacy.redact.paths[1]'],
    [{ redact: { paths: [], censer: 'x' } }, 'privacy.redact.censer is not a known option'],
    [{ redakt: {} }, 'privacy.redakt is not a known option'],
    [{ pseudonymize: { paths: ['a'] } }, 'privacy.pseudonymize.keys must be an array'],
    [{ pseudonymize: { keys: [] } }, 'privacy.pseudonymize.keys must list at least one key'],
    [{ pseudonymize: { keys: [{ id: 'bad id!', env: 'K' }] } }, 'privacy.pseudonymize.keys[0].id must match'],
    [
      { pseudonymize: { keys: [{ id: 'k', file: 'f', env: 'K' }] } },
      'privacy.pseudonymize.keys[0] needs exactly one',
    ],
    [
      {
        pseudonymize: {
          keys: [
            { id: 'k', env: 'K' },
            { id: 'k', env: 'J' },
          ],
        },
      },
      'keys[1].id "k" is listed twice',
    ],
    [{ pseudonymize: { ...KEYS, current: 'k9' } }, 'privacy.pseudonymize.current "k9" is not the id'],
    [
      {
        pseudonymize: {
          keys: [
            { id: 'a', env: 'A' },
            { id: 'b', env: 'B' },
          ],
        },
      },
      'privacy.pseudonymize.current must match',
    ],
    [
      { pseudonymize: { ...KEYS, digestBytes: 4 } },
      'privacy.pseudonymize.digestBytes must be an integer from 8 to 32',
    ],
    [
      {
        generalize: [
          { path: 'a', time: 'hour' },
          { path: 'b', ip: {}, time: 'day' },
        ],
      },
      'privacy.generalize[1] needs exactly one',
    ],
    [
      {
        generalize: [
          { path: 'a', ip: {} },
          { path: 'b', ip: {} },
          { path: 'c', buckets: [1, 3, 2] },
        ],
      },
      'privacy.generalize[2].buckets must be ascending',
    ],
    [
      { generalize: [{ path: 'a', ip: { v4Prefix: 33 } }] },
      'privacy.generalize[0].ip.v4Prefix must be an integer from 0 to 32',
    ],
    [{ generalize: [{ path: 'a', time: 'week' }] }, 'privacy.generalize[0].time must be one of'],
    [{ scrub: { kinds: ['email', 'ssn'] } }, 'privacy.scrub.kinds[1] must be one of'],
    [{ scrub: { replace: 'pseudonym' } }, 'privacy.scrub.replace "pseudonym" needs privacy.pseudonymize'],
    [
      { redact: { paths: ['user.email'] }, pseudonymize: { ...KEYS, paths: ['user["email"]'] } },
      'privacy.pseudonymize.paths[0] "user["email"]" is also configured at privacy.redact.paths[0]',
    ],
    [
      { pseudonymize: { ...KEYS, paths: ['user.id'] }, noise: { unit: 'actor.id' } },
      'privacy.noise.unit "actor.id" must also be listed in privacy.pseudonymize.paths',
    ],
    [[], 'privacy must be an object'],
  ])('%j → E_CONFIG naming the field', (raw, fragment) => {
    const e = err(() => validatePrivacyConfig(raw));
    expect(e.code).toBe('E_CONFIG');
    expect(e.message).toContain(fragment);
  });

  it('a key that is missing at startup is E_KEY naming the key', () => {
    const c = validatePrivacyConfig({
      pseudonymize: { paths: ['a'], keys: [{ id: 'k2025', env: 'SEALOG_TEST_ABSENT' }] },
    });
    const e = err(() => createPrivacyPipeline(c, { env: {} }));
    expect(e.code).toBe('E_KEY');
    expect(e.message).toContain('"k2025"');
    expect(e.message).toContain('SEALOG_TEST_ABSENT');
  });
});
