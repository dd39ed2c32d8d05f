import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSealogError } from '../errors.js';
import { validatePrivacyConfig } from './config.js';
import { loadKeyring, loadPseudonymKey, PseudonymKey } from './keys.js';
import { createPrivacyPipeline } from './pipeline.js';
import { INVALID_VALUE, pseudonymOf } from './pseudonymize.js';

// Fixed, random-looking test keys: a repeated byte is refused as no key at all (key-file.ts).
const hexKey = (label: string) => createHash('sha256').update(label).digest('hex');
const KEY_HEX = hexKey('k1');
const key = PseudonymKey.fromText('k1', KEY_HEX, 'test');

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    return isSealogError(err) ? err.code : 'not-sealog';
  }
  return undefined;
}

describe('pseudonymOf', () => {
  it('RFC 4231 §4.7 test case 6 (131-byte key): full 32-byte digest', () => {
    // The RFC's key (0xaa x 131) is one repeated byte, which fromText refuses as no key at
    // all; its larger-than-block-size rule is the same for a random 131-byte key, which is
    // checked against node:crypto, itself checked against the RFC's vector here.
    const data = 'Test Using Larger Than Block-Size Key - Hash Key First';
    const mac = Buffer.from('60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54', 'hex');
    expect(createHmac('sha256', Buffer.alloc(131, 0xaa)).update(data).digest()).toEqual(mac);
    expect(code(() => PseudonymKey.fromText('rfc', 'aa'.repeat(131), 'vector'))).toBe('E_KEY');
    const bytes = randomBytes(131);
    const k = PseudonymKey.fromText('rfc', bytes.toString('hex'), 'vector');
    const want = createHmac('sha256', bytes).update(data).digest();
    expect(pseudonymOf(data, k, 32)).toBe(`psn:rfc:${want.toString('base64url')}`);
    // Default 16 bytes is the prefix of the same MAC.
    expect(pseudonymOf(data, k)).toBe(`psn:rfc:${want.subarray(0, 16).toString('base64url')}`);
  });

  it('is HMAC-SHA-256 over the canonical text (property)', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const want = createHmac('sha256', Buffer.from(KEY_HEX, 'hex')).update(s, 'utf8').digest();
        expect(pseudonymOf(s, key)).toBe(`psn:k1:${want.subarray(0, 16).toString('base64url')}`);
      }),
    );
  });

  it('canonicalizes non-strings: numbers like their String(), objects as canonical JSON', () => {
    expect(pseudonymOf(42, key)).toBe(pseudonymOf('42', key));
    expect(pseudonymOf(10n, key)).toBe(pseudonymOf('10', key));
    expect(pseudonymOf({ b: 1, a: [true] }, key)).toBe(pseudonymOf('{"a":[true],"b":1}', key));
    expect(pseudonymOf(new Date(0), key)).toBe(pseudonymOf('1970-01-01T00:00:00.000Z', key));
    expect(code(() => pseudonymOf(Number.NaN, key))).toBe('E_PRIVACY');
    expect(code(() => pseudonymOf(new Map(), key))).toBe('E_PRIVACY');
    expect(code(() => pseudonymOf('x', key, 4))).toBe('E_CONFIG');
  });

  it('differs by key and by key id', () => {
    const k2 = PseudonymKey.fromText('k2', hexKey('k2'), 'test');
    expect(pseudonymOf('alice', key)).not.toBe(pseudonymOf('alice', k2));
    expect(pseudonymOf('alice', key).startsWith('psn:k1:')).toBe(true);
    expect(pseudonymOf('alice', key, 8)).toMatch(/^psn:k1:[A-Za-z0-9_-]{11}$/);
  });
});

describe('keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealog-psn-'));
  const raw = randomBytes(32);

  it('reads hex, base64 and base64url text from files and env, to the same key', () => {
    writeFileSync(join(dir, 'hex.key'), `${raw.toString('hex')}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'b64.key'), raw.toString('base64'), { mode: 0o600 });
    const a = loadPseudonymKey({ id: 'a', file: 'hex.key' }, { baseDir: dir });
    const b = loadPseudonymKey({ id: 'a', file: join(dir, 'b64.key') });
    const c = loadPseudonymKey({ id: 'a', env: 'K' }, { env: { K: ` ${raw.toString('base64url')} ` } });
    expect(pseudonymOf('v', a)).toBe(pseudonymOf('v', b));
    expect(pseudonymOf('v', a)).toBe(pseudonymOf('v', c));
  });

  it('rejects short, malformed and missing keys with E_KEY and never echoes key text', () => {
    const short = randomBytes(16).toString('hex');
    writeFileSync(join(dir, 'short.key'), short, { mode: 0o600 });
    const errs: unknown[] = [];
    for (const f of [
      () => loadPseudonymKey({ id: 'a', file: 'short.key' }, { baseDir: dir }),
      () => loadPseudonymKey({ id: 'a', file: 'absent.key' }, { baseDir: dir }),
      () => loadPseudonymKey({ id: 'a', env: 'NOPE' }, { env: {} }),
      () => loadPseudonymKey({ id: 'a', env: 'K' }, { env: { K: `not a key! ${short}` } }),
      () => PseudonymKey.fromText('bad id', KEY_HEX, 'x'),
    ]) {
      try {
        f();
      } catch (err) {
        errs.push(err);
      }
    }
    expect(errs.map((e) => isSealogError(e) && e.code)).toEqual([
      'E_KEY',
      'E_KEY',
      'E_KEY',
      'E_KEY',
      'E_KEY',
    ]);
    for (const e of errs) expect(String((e as Error).message)).not.toContain(short);
    expect((errs[0] as Error).message).toMatch(/16 bytes; at least 32/);
  });

  it('key bytes do not show in JSON or inspect', () => {
    expect(JSON.stringify(key)).toBe('{"id":"k1"}');
    expect(inspect(key)).not.toContain(KEY_HEX.slice(0, 8));
    expect(inspect({ key }, { depth: 5, showHidden: true })).not.toContain(KEY_HEX.slice(0, 8));
  });

  it('rotation: new records use current, old ids still resolve', () => {
    const ring = loadKeyring(
      [
        { id: 'k2024', env: 'OLD' },
        { id: 'k2025', env: 'NEW' },
      ],
      'k2025',
      { env: { OLD: hexKey('old'), NEW: hexKey('new') } },
    );
    expect(ring.current.id).toBe('k2025');
    expect(pseudonymOf('bob', ring.get('k2024'))).toBe(
      pseudonymOf('bob', PseudonymKey.fromText('k2024', hexKey('old'), 't')),
    );
    expect(code(() => ring.get('k1999'))).toBe('E_KEY');
  });
});

describe('pseudonymize step', () => {
  const pipeline = createPrivacyPipeline(
    validatePrivacyConfig({
      pseudonymize: { paths: ['user.email', 'actor.id', 'ids[*]'], keys: [{ id: 'k1', env: 'K' }] },
    }),
    { env: { K: KEY_HEX } },
  );

  it('replaces values with pseudonyms, markers for unsupported types, keeps null', () => {
    const out = pipeline.apply({
      user: { email: 'a@b.example', name: 'A' },
      actor: { id: 7 },
      ids: ['x', null, () => 1],
    });
    expect(out).toEqual({
      user: { email: pseudonymOf('a@b.example', key), name: 'A' },
      actor: { id: pseudonymOf('7', key) },
      ids: [pseudonymOf('x', key), null, INVALID_VALUE],
    });
    expect(pipeline.keyring?.current.id).toBe('k1');
  });
});
