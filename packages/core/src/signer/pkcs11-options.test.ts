import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { readPkcs11OptionsFile, readPkcs11Pin, validatePkcs11Options } from './pkcs11-options.js';

const ok = { module: '/usr/lib/softhsm/libsofthsm2.so', token: 't', label: 'log.example', pinEnv: 'P' };

function message(value: unknown): string {
  try {
    validatePkcs11Options(value, 'checkpoint.pkcs11');
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
}

describe('validatePkcs11Options', () => {
  it('accepts a minimal config, defaulting the key name to the label', () => {
    expect(validatePkcs11Options(ok, 'x')).toEqual({ ...ok, name: 'log.example' });
    expect(validatePkcs11Options({ ...ok, token: undefined, slot: 0, timeoutMs: 500 }, 'x')).toMatchObject({
      slot: 0,
      timeoutMs: 500,
    });
  });

  it('names the field of every problem, with a did-you-mean for typos', () => {
    expect(message([])).toMatch(/^checkpoint\.pkcs11 must be an object/);
    expect(message({ ...ok, modul: 'x' })).toMatch(
      /unknown option "checkpoint\.pkcs11\.modul"; did you mean "module"\?/,
    );
    expect(message({ ...ok, pin: '1234' })).not.toContain('1234');
    expect(message({ ...ok, module: undefined })).toMatch(/checkpoint\.pkcs11\.module is required/);
    expect(message({ ...ok, module: 'a\0b' })).toMatch(/checkpoint\.pkcs11\.module must be a non-empty path/);
    expect(message({ ...ok, slot: 1 })).toMatch(/exactly one of token .* and slot/);
    expect(message({ ...ok, token: undefined })).toMatch(/exactly one of token .* and slot/);
    expect(message({ ...ok, token: 'x'.repeat(33) })).toMatch(
      /checkpoint\.pkcs11\.token must be .* at most 32 bytes/,
    );
    expect(message({ ...ok, token: undefined, slot: -1 })).toMatch(
      /checkpoint\.pkcs11\.slot must be a whole number/,
    );
    expect(message({ ...ok, label: 'has space' })).toMatch(
      /checkpoint\.pkcs11\.label contains whitespace.*set name/,
    );
    expect(message({ ...ok, label: 'has space', name: 'ok.example' })).toBe('accepted');
    expect(message({ ...ok, name: 'a+b' })).toMatch(/checkpoint\.pkcs11\.name contains "\+"/);
    expect(message({ ...ok, pinFile: '/p' })).toMatch(/exactly one of pinFile and pinEnv/);
    expect(message({ ...ok, pinEnv: 'A-B' })).toMatch(
      /checkpoint\.pkcs11\.pinEnv must be an environment variable name/,
    );
    expect(message({ ...ok, timeoutMs: 0 })).toMatch(/checkpoint\.pkcs11\.timeoutMs must be a whole number/);
    expect(message({ ...ok, timeoutMs: 1.5 })).toMatch(/timeoutMs/);
  });
});

describe('readPkcs11Pin', () => {
  it('reads one line from a 0600 file or a variable, and refuses unsafe, huge or empty sources without echoing them', () => {
    const dir = tempDir();
    const file = join(dir, 'pin');
    writeFileSync(file, '4711\r\n', { mode: 0o600 });
    expect(readPkcs11Pin({ ...ok, pinEnv: undefined, pinFile: file })).toBe('4711');
    chmodSync(file, 0o640);
    expect(() => readPkcs11Pin({ ...ok, pinEnv: undefined, pinFile: file })).toThrow(
      /accessible by group or others/,
    );
    writeFileSync(file, `${'9'.repeat(300)}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    expect(() => readPkcs11Pin({ ...ok, pinEnv: undefined, pinFile: file })).toThrow(/larger than 258 bytes/);
    writeFileSync(file, '12\n34\n');
    expect(() => readPkcs11Pin({ ...ok, pinEnv: undefined, pinFile: file })).toThrow(/one line/);
    mkdirSync(join(dir, 'd'));
    expect(() => readPkcs11Pin({ ...ok, pinEnv: undefined, pinFile: join(dir, 'd') })).toThrow(
      /not a regular file/,
    );
    process.env.SEALOG_PIN_TEST = '';
    expect(() => readPkcs11Pin({ ...ok, pinEnv: 'SEALOG_PIN_TEST' })).toThrow(
      /SEALOG_PIN_TEST is empty or not set/,
    );
    process.env.SEALOG_PIN_TEST = '8642';
    expect(readPkcs11Pin({ ...ok, pinEnv: 'SEALOG_PIN_TEST' })).toBe('8642');
    delete process.env.SEALOG_PIN_TEST;
  });
});

describe('readPkcs11OptionsFile', () => {
  it('resolves relative paths from the file, and bounds and checks the file', () => {
    const dir = tempDir();
    const path = join(dir, 'p11.json');
    writeFileSync(path, JSON.stringify({ module: 'lib/x.so', token: 't', label: 'l', pinFile: 'pin' }));
    expect(readPkcs11OptionsFile(path)).toMatchObject({
      module: join(dir, 'lib/x.so'),
      pinFile: join(dir, 'pin'),
    });
    writeFileSync(path, ' '.repeat(70_000));
    expect(() => readPkcs11OptionsFile(path)).toThrow(/larger than 64 KiB/);
    writeFileSync(path, '{"module": "secret-ish');
    expect(() => readPkcs11OptionsFile(path)).toThrow(/is not valid JSON/);
    expect(() => readPkcs11OptionsFile(path)).not.toThrow(/secret-ish/);
    expect(() => readPkcs11OptionsFile(join(dir, 'none.json'))).toThrow(
      /cannot open PKCS#11 options file .*ENOENT/,
    );
  });
});
