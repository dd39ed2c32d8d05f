import { describe, expect, it } from 'vitest';
import { signCheckpoint, signCheckpointWith } from '../checkpoint/signed.js';
import { generateKey, parseSignerKey } from '../note/keys.js';
import { fileCheckpointKey } from './file.js';

describe('file CheckpointKey', () => {
  const signer = parseSignerKey(generateKey('example.com/log').privateKey);
  const cp = { origin: 'example.com/log', size: 7, root: new Uint8Array(32).fill(3) };

  it('signs the same bytes through the interface as signCheckpoint does', async () => {
    const key = fileCheckpointKey(signer);
    expect(await signCheckpointWith(cp, key, 1_700_000_000)).toBe(signCheckpoint(cp, signer, 1_700_000_000));
    expect(key.log.verifierKey).toBe(signer.verifierKey);
    expect(key.time.verifierKey).toBe(signer.timeCosigner().verifierKey);
  });

  it('refuses an origin other than the key name, like signCheckpoint', async () => {
    await expect(
      signCheckpointWith({ ...cp, origin: 'example.com/other' }, fileCheckpointKey(signer), 1),
    ).rejects.toThrow(/differs from the key name/);
  });

  it('a time key that returns a signature of the wrong length fails the seal instead of writing a bad line', async () => {
    const key = fileCheckpointKey(signer);
    const broken = { ...key, time: { ...key.time, sign: async () => new Uint8Array(63) } };
    await expect(signCheckpointWith(cp, broken, 1)).rejects.toThrow(/63-byte signature/);
  });
});
