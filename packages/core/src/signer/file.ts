import type { Cosigner, Ed25519Signer } from '../note/keys.js';
import type { CheckpointKey, Signer } from './types.js';

function wrap(key: Ed25519Signer | Cosigner, sign: (m: Uint8Array) => Uint8Array): Signer {
  return {
    name: key.name,
    type: key.type,
    keyId: key.keyId,
    publicKey: key.publicKey,
    verifierKey: key.verifierKey,
    sign: async (message) => sign(message),
  };
}

/**
 * A file key as a {@link CheckpointKey}: the loaded seed signs the log lines
 * and its derived `<name>/time` cosigner the time lines. Signing is a few
 * tens of microseconds on the calling thread.
 */
export function fileCheckpointKey(signer: Ed25519Signer, display = signer.name): CheckpointKey {
  const time = signer.timeCosigner();
  return {
    backend: 'file',
    name: signer.name,
    display,
    log: wrap(signer, (m) => signer.sign(m)),
    time: wrap(time, (m) => time.signMessage(m)),
    close: async () => {},
  };
}

/** Accepts a loaded file key where a CheckpointKey is expected (tests and library callers). */
export function asCheckpointKey(key: CheckpointKey | Ed25519Signer): CheckpointKey {
  return 'log' in key ? key : fileCheckpointKey(key);
}
