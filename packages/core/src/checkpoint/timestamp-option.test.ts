import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { validateCheckpointOptions } from './config.js';
import { readTrustAnchorsFile } from './timestamp-option.js';

const base = { keyFile: './audit.key' };
const check = (timestamp: unknown) => () => validateCheckpointOptions({ ...base, timestamp });

describe('checkpoint.timestamp', () => {
  it('accepts the documented shapes', () => {
    expect(check({ mode: 'off' })).not.toThrow();
    expect(check({ mode: 'best-effort', urls: ['https://tsa.example/'] })).not.toThrow();
    expect(
      check({
        mode: 'required',
        urls: ['http://a.example/tsr', 'https://b.example/'],
        policy: '1.3.6.1.4.1.99999.1',
        timeoutMs: 5000,
        trustAnchorsFile: './tsa-root.pem',
      }),
    ).not.toThrow();
  });

  it.each<[unknown, RegExp]>([
    ['on', /"checkpoint\.timestamp" must be an object/],
    [
      { urls: ['https://tsa.example/'] },
      /"checkpoint\.timestamp\.mode" must be "off", "best-effort" or "required"/,
    ],
    [{ mode: 'always', urls: ['https://tsa.example/'] }, /checkpoint\.timestamp\.mode.*got "always"/],
    [{ mode: 'best-effort' }, /"checkpoint\.timestamp\.urls" must be a list of 1 to 8/],
    [{ mode: 'best-effort', urls: [] }, /checkpoint\.timestamp\.urls/],
    [{ mode: 'best-effort', urls: Array(9).fill('https://t.example/') }, /checkpoint\.timestamp\.urls/],
    [
      { mode: 'required', urls: ['ftp://tsa.example/'] },
      /"checkpoint\.timestamp\.urls\[0\]" must be an http/,
    ],
    [{ mode: 'required', urls: ['https://ok.example/', 'not a url'] }, /checkpoint\.timestamp\.urls\[1\]/],
    [{ mode: 'best-effort', urls: ['https://t.example/'], policy: 'gold' }, /checkpoint\.timestamp\.policy/],
    [
      { mode: 'best-effort', urls: ['https://t.example/'], timeoutMs: 50 },
      /checkpoint\.timestamp\.timeoutMs/,
    ],
    [
      { mode: 'best-effort', urls: ['https://t.example/'], timeoutMs: 1.5 },
      /checkpoint\.timestamp\.timeoutMs/,
    ],
    [{ mode: 'best-effort', urls: ['https://t.example/'], trustAnchorsFile: '' }, /trustAnchorsFile/],
    [{ mode: 'best-effort', urls: ['https://t.example/'], url: 'x' }, /checkpoint\.timestamp\.url\b/],
  ])('refuses %j, naming the field', (value, message) => {
    expect(check(value)).toThrow(message);
    try {
      check(value)();
    } catch (err) {
      expect((err as { code?: string }).code).toBe('E_CONFIG');
    }
  });
});

describe('checkpoint.timestamp.trustAnchorsFile', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('must hold PEM certificates: a missing or wrong file fails at startup with E_CONFIG', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealog-ts-opt-'));
    dirs.push(dir);
    const notPem = join(dir, 'x.pem');
    writeFileSync(notPem, 'not a certificate\n');
    for (const path of [join(dir, 'absent.pem'), notPem, dir]) {
      expect(() => readTrustAnchorsFile(path)).toThrow(
        expect.objectContaining({ code: 'E_CONFIG', message: expect.stringMatching(/trustAnchorsFile/) }),
      );
    }
  });
});
