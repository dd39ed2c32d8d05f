import { closeSync, constants, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { SealogError } from '../errors.js';
import { ED25519_KEY_SIZE, randomSeed } from '../note/ed25519.js';
import { decodeBase64, encodeBase64, keyNameProblem, toHex } from '../note/encoding.js';
import { Cosigner, SIG_TYPE_COSIGNATURE, SIG_TYPE_ED25519 } from '../note/keys.js';

// A witness key file is the x/mod signer-key form with the signature type
// made explicit: PRIVATE+KEY+<name>+<hex key ID>+base64(0x04 ‖ 32-byte seed).
// 0x04 (signed-note §"Signature types": timestamped Ed25519 cosignature) is
// both the first byte of the material and the type byte of the key ID, so
// `sealog keygen`'s loader (which accepts only 0x01) refuses a witness key as
// a log key, and this loader refuses a log key: one key, one signature type
// (signed-note §"Verifier keys": the same public key SHOULD NOT be reused for
// different signature types).

const PREFIX = 'PRIVATE+KEY+';
const MAX_KEY_FILE_BYTES = 4096;
const HEX_ID_RE = /^[0-9a-f]{8}$/;
/** Fewest distinct byte values a seed may have: 32 random bytes have ~30 (see keys.ts). */
const MIN_SEED_DISTINCT_BYTES = 16;

function keyError(what: string): SealogError {
  return new SealogError('E_KEY', what); // never echoes key material
}

/** A fresh witness key: the private key string (secret) and its 0x04 verifier key. */
export interface GeneratedWitnessKey {
  privateKey: string;
  verifierKey: string;
}

function privateKeyString(name: string, keyId: Uint8Array, seed: Uint8Array): string {
  const material = new Uint8Array(1 + ED25519_KEY_SIZE);
  material[0] = SIG_TYPE_COSIGNATURE;
  material.set(seed, 1);
  const s = `${PREFIX}${name}+${toHex(keyId)}+${encodeBase64(material)}`;
  material.fill(0);
  return s;
}

/**
 * Generates a witness (cosigner) key named `name` — tlog-cosignature §Format:
 * the name SHOULD be a schema-less URL identifying the witness, e.g.
 * `witness.example.com/w1`.
 * @throws SealogError E_KEY for an invalid signed-note key name.
 */
export function generateWitnessKey(name: string): GeneratedWitnessKey {
  const problem = typeof name === 'string' ? keyNameProblem(name) : 'is not a string';
  if (problem) throw keyError(`witness name ${JSON.stringify(name)} ${problem}`);
  const seed = randomSeed();
  const cosigner = new Cosigner(name, seed);
  const privateKey = privateKeyString(name, cosigner.keyId, seed);
  seed.fill(0);
  return { privateKey, verifierKey: cosigner.verifierKey };
}

/**
 * Parses a witness private key string (see the file comment).
 * @throws SealogError E_KEY saying what is wrong; a log key (type 0x01) is
 *   named as such. The message never contains key material.
 */
export function parseWitnessKey(privateKey: string): Cosigner {
  if (typeof privateKey !== 'string' || privateKey.length > MAX_KEY_FILE_BYTES)
    throw keyError('witness key is not a string of sane length');
  const s = privateKey.trim();
  if (!s.startsWith(PREFIX))
    throw keyError('witness key must start with "PRIVATE+KEY+" (a file written by `sealog witness keygen`)');
  const rest = s.slice(PREFIX.length);
  // Split at the first two "+": names cannot contain "+", base64 can.
  const a = rest.indexOf('+');
  const b = a < 0 ? -1 : rest.indexOf('+', a + 1);
  if (b < 0) throw keyError('witness key must look like PRIVATE+KEY+<name>+<8 hex digits>+<base64>');
  const name = rest.slice(0, a);
  const hexId = rest.slice(a + 1, b);
  const problem = keyNameProblem(name);
  if (problem) throw keyError(`witness key name ${problem}`);
  if (!HEX_ID_RE.test(hexId)) throw keyError('witness key ID must be 8 lowercase hex digits');
  const material = decodeBase64(rest.slice(b + 1), 1 + ED25519_KEY_SIZE);
  if (!material || material.length !== 1 + ED25519_KEY_SIZE)
    throw keyError('witness key material is not standard base64 of 33 bytes');
  if (material[0] === SIG_TYPE_ED25519) {
    material.fill(0);
    throw keyError(
      'this is a log signing key (type 0x01, from `sealog keygen`); a witness needs its own key: `sealog witness keygen`',
    );
  }
  if (material[0] !== SIG_TYPE_COSIGNATURE) {
    material.fill(0);
    throw keyError('witness key is not a cosignature (type 0x04) key');
  }
  if (new Set(material.subarray(1)).size < MIN_SEED_DISTINCT_BYTES) {
    material.fill(0);
    throw keyError('witness key seed is not random; generate one with `sealog witness keygen`');
  }
  const cosigner = new Cosigner(name, material.subarray(1));
  material.fill(0);
  if (toHex(cosigner.keyId) !== hexId)
    throw keyError('witness key ID does not match its name and key (corrupted or edited key file)');
  return cosigner;
}

/**
 * Writes a witness private key to a new file, mode 0600, fsynced; never
 * overwrites (O_EXCL): a witness whose key changes loses every relying party.
 * @throws SealogError E_KEY (file exists, or not a witness key), E_IO.
 */
export function writeWitnessKeyFile(path: string, privateKey: string): void {
  parseWitnessKey(privateKey);
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new SealogError('E_KEY', `${path} already exists; refusing to overwrite a key file`, {
        cause: err,
      });
    throw new SealogError('E_IO', `cannot create key file ${path}`, { cause: err });
  }
  try {
    writeSync(fd, `${privateKey}\n`);
    fsyncSync(fd);
  } catch (err) {
    throw new SealogError('E_IO', `cannot write key file ${path}`, { cause: err });
  } finally {
    closeSync(fd);
  }
}

/**
 * Loads a witness key file: a regular file, not accessible by group or others
 * (POSIX; refused, like ssh), at most 4 KiB, holding a type 0x04 witness key.
 * @throws SealogError E_KEY (missing, unsafe mode, malformed, a log key), E_IO.
 *   Messages name the path, never the key.
 */
export function loadWitnessKeyFile(path: string): Cosigner {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new SealogError(
        'E_KEY',
        `witness key file ${path} does not exist; create it with \`sealog witness keygen\``,
        {
          cause: err,
        },
      );
    throw new SealogError('E_IO', `cannot open witness key file ${path}`, { cause: err });
  }
  const buf = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
  let n = 0;
  try {
    const st = fstatSync(fd); // on the open fd: no swap between check and read
    if (!st.isFile()) throw new SealogError('E_KEY', `witness key file ${path} is not a regular file`);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0)
      throw new SealogError(
        'E_KEY',
        `witness key file ${path} is accessible by group or others (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ${path}`,
      );
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n > MAX_KEY_FILE_BYTES)
        throw new SealogError('E_KEY', `witness key file ${path} is too large to be a key`);
    }
  } catch (err) {
    buf.fill(0);
    if (err instanceof SealogError) throw err;
    throw new SealogError('E_IO', `cannot read witness key file ${path}`, { cause: err });
  } finally {
    closeSync(fd);
  }
  const text = buf.toString('utf8', 0, n);
  buf.fill(0);
  try {
    return parseWitnessKey(text);
  } catch (err) {
    throw new SealogError('E_KEY', `witness key file ${path}: ${(err as Error).message}`);
  }
}
