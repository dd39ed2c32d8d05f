import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../../../test/helpers/tmp.js';
import { loadSignerKeyFile, writeKeyFile } from '../../note/keyfile.js';
import { generateKey, parseSignerKey, parseVerifierKey, SIG_TYPE_COSIGNATURE } from '../../note/keys.js';
import { generateWitnessKey, loadWitnessKeyFile, parseWitnessKey, writeWitnessKeyFile } from '../key.js';

describe('witness key file', () => {
  it('round-trips: PRIVATE+KEY+<name>+<id>+base64(0x04 ‖ seed), mode 0600, and a 0x04 verifier key', () => {
    const dir = tempDir();
    const key = generateWitnessKey('witness.example/w1');
    const file = join(dir, 'w.key');
    writeWitnessKeyFile(file, key.privateKey);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^PRIVATE\+KEY\+witness\.example\/w1\+[0-9a-f]{8}\+B[A-P][A-Za-z0-9+/]{42}\n$/);
    const material = Buffer.from(text.trim().split('+').slice(4).join('+'), 'base64');
    expect(material[0]).toBe(SIG_TYPE_COSIGNATURE);
    const cosigner = loadWitnessKeyFile(file);
    expect(cosigner.verifierKey).toBe(key.verifierKey);
    const vk = parseVerifierKey(key.verifierKey);
    expect(vk.type).toBe(SIG_TYPE_COSIGNATURE);
    expect(text.split('+')[3]).toBe(Buffer.from(vk.keyId).toString('hex'));
    expect(() => writeWitnessKeyFile(file, key.privateKey)).toThrow(/already exists/);
  });

  it('one key, one signature type: a log key is refused as a witness key, and a witness key as a log key', () => {
    const dir = tempDir();
    const log = generateKey('audit.example/log');
    expect(() => parseWitnessKey(log.privateKey)).toThrow(/log signing key \(type 0x01/);
    const logFile = join(dir, 'log.key');
    writeKeyFile(logFile, log.privateKey);
    expect(() => loadWitnessKeyFile(logFile)).toThrow(/E?log signing key/);
    const witness = generateWitnessKey('witness.example/w1');
    expect(() => parseSignerKey(witness.privateKey)).toThrow(/not an Ed25519 \(type 0x01\) key/);
    const wFile = join(dir, 'w.key');
    writeWitnessKeyFile(wFile, witness.privateKey);
    expect(() => loadSignerKeyFile(wFile)).toThrow(/type 0x01/);
  });

  it('refuses a key file readable by others, a missing file, an edited ID and a guessable seed', () => {
    const dir = tempDir();
    const key = generateWitnessKey('w');
    const file = join(dir, 'w.key');
    writeWitnessKeyFile(file, key.privateKey);
    chmodSync(file, 0o644);
    expect(() => loadWitnessKeyFile(file)).toThrow(/accessible by group or others/);
    expect(() => loadWitnessKeyFile(join(dir, 'none.key'))).toThrow(/does not exist/);
    const parts = key.privateKey.split('+');
    parts[3] = parts[3] === '00000000' ? '00000001' : '00000000';
    expect(() => parseWitnessKey(parts.join('+'))).toThrow(/ID does not match/);
    const weak = `PRIVATE+KEY+w+00000000+${Buffer.concat([Buffer.of(4), Buffer.alloc(32, 7)]).toString('base64')}`;
    expect(() => parseWitnessKey(weak)).toThrow(/not random/);
    const junk = join(dir, 'junk.key');
    writeFileSync(junk, 'x'.repeat(5000), { mode: 0o600 });
    expect(() => loadWitnessKeyFile(junk)).toThrow(/too large/);
    expect(() => generateWitnessKey('has space')).toThrow(/whitespace/);
  });

  it('never puts key material in an error message', () => {
    const key = generateWitnessKey('w');
    const secret = key.privateKey.split('+').slice(4).join('+');
    for (const bad of [
      `${key.privateKey}x`,
      key.privateKey.replace('PRIVATE', 'PUBLIC'),
      `${key.privateKey.slice(0, -2)}`,
    ]) {
      try {
        parseWitnessKey(bad);
      } catch (err) {
        expect((err as Error).message).not.toContain(secret.slice(0, 20));
      }
    }
  });
});
