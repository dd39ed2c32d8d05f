import { describe, expect, it } from 'vitest';
import { generateKey } from './note/keys.js';
import { validateSinkOptions } from './options.js';

describe('validateSinkOptions: checkpoint.keyFile', () => {
  it('refuses a private key pasted where its path belongs, without printing it', () => {
    const key = generateKey('example.com/audit').privateKey;
    let message = '';
    try {
      validateSinkOptions({ path: 'a.db', checkpoint: { keyFile: key } });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/checkpoint\.keyFile.*looks like a key/);
    expect(message).not.toContain(key.slice(-20));
  });

  it('accepts ordinary paths, including mixed-case random parts (mkdtemp names)', () => {
    for (const keyFile of [
      '/tmp/sealog-pg-tamper-aB3xYz/audit.key',
      '/srv/App2-Data-Store-9X/keys/audit.key',
    ]) {
      expect(() => validateSinkOptions({ path: 'a.db', checkpoint: { keyFile } })).not.toThrow();
    }
  });
});
