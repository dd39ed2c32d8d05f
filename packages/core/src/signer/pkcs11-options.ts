import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { SealogError } from '../errors.js';
import { keyNameProblem } from '../note/encoding.js';
import { TIME_COSIGNER_SUFFIX } from '../note/keys.js';
import { unknownKeyMessage } from '../suggest.js';

/**
 * Where a checkpoint key lives on a PKCS#11 token (docs/keys.md "PKCS#11
 * tokens"). Plain JSON, so it crosses the pino worker boundary as it is.
 */
export interface Pkcs11KeyOptions {
  /** Path of the vendor's PKCS#11 module (a .so), loaded into this process. */
  module: string;
  /** Token label (CKA token info label); exactly one of token and slot. */
  token?: string;
  /** Slot ID; exactly one of token and slot. */
  slot?: number;
  /** CKA_LABEL of the log key pair; the time key pair is labelled `<label>/time`. */
  label: string;
  /** C2SP key name = checkpoint origin (default: label). */
  name?: string;
  /** File holding the user PIN (mode 0600); exactly one of pinFile and pinEnv. */
  pinFile?: string;
  /** Environment variable holding the user PIN; exactly one of pinFile and pinEnv. */
  pinEnv?: string;
  /** Longest wait for one signature, in ms (default {@link DEFAULT_PKCS11_TIMEOUT_MS}). */
  timeoutMs?: number;
}

/** How long one sign may take before it is given up: network HSMs answer in well under a second. */
export const DEFAULT_PKCS11_TIMEOUT_MS = 10_000;
const MAX_TIMEOUT_MS = 600_000;
const KNOWN = ['module', 'token', 'slot', 'label', 'name', 'pinFile', 'pinEnv', 'timeoutMs'] as const;
const MAX_PATH = 4096;
/** PKCS#11 token labels are 32 bytes (CK_TOKEN_INFO.label). */
const MAX_TOKEN_LABEL_BYTES = 32;
const MAX_LABEL = 256;
const MAX_PIN_BYTES = 256;
const MAX_OPTIONS_FILE_BYTES = 64 * 1024;
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

function configError(message: string): SealogError {
  return new SealogError('E_CONFIG', message);
}

function pathOption(o: Record<string, unknown>, key: string, field: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '' || v.length > MAX_PATH || v.includes('\0'))
    throw configError(`${field}.${key} must be a non-empty path`);
  return v;
}

function textOption(
  o: Record<string, unknown>,
  key: string,
  field: string,
  maxBytes: number,
): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '' || Buffer.byteLength(v, 'utf8') > maxBytes || CONTROL_RE.test(v))
    throw configError(
      `${field}.${key} must be a non-empty string of at most ${maxBytes} bytes without control characters`,
    );
  return v;
}

/**
 * Checks PKCS#11 key options (hostile JSON: a config file or transport
 * options) and returns a clean copy. Each message names the field
 * (`${field}.module`, …); a mistyped key gets a "did you mean".
 * @throws SealogError E_CONFIG.
 */
export function validatePkcs11Options(value: unknown, field: string): Pkcs11KeyOptions {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw configError(
      `${field} must be an object like {"module": "...", "token": "...", "label": "...", "pinFile": "..."}`,
    );
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!(KNOWN as readonly string[]).includes(k))
      throw configError(unknownKeyMessage(`${field}.${k}`, k, KNOWN));
  }
  const module = pathOption(o, 'module', field);
  if (module === undefined)
    throw configError(`${field}.module is required: the path of the token's PKCS#11 module (.so)`);
  const token = textOption(o, 'token', field, MAX_TOKEN_LABEL_BYTES);
  const slot = o.slot;
  if (slot !== undefined && (typeof slot !== 'number' || !Number.isSafeInteger(slot) || slot < 0))
    throw configError(`${field}.slot must be a whole number ≥ 0 (a slot ID)`);
  if ((token === undefined) === (slot === undefined))
    throw configError(`${field}: give exactly one of token (the token label) and slot (a slot ID)`);
  const label = textOption(o, 'label', field, MAX_LABEL);
  if (label === undefined) throw configError(`${field}.label is required: the CKA_LABEL of the log key pair`);
  const name = textOption(o, 'name', field, MAX_LABEL) ?? label;
  const problem = keyNameProblem(name) ?? keyNameProblem(`${name}${TIME_COSIGNER_SUFFIX}`);
  if (problem)
    throw configError(
      `${field}.${o.name === undefined ? 'label' : 'name'} ${problem}: the key name must be a C2SP key name (the checkpoint origin)${o.name === undefined ? '; set name' : ''}`,
    );
  const pinFile = pathOption(o, 'pinFile', field);
  const pinEnv = o.pinEnv;
  if (pinEnv !== undefined && (typeof pinEnv !== 'string' || !ENV_NAME_RE.test(pinEnv)))
    throw configError(`${field}.pinEnv must be an environment variable name (letters, digits, _)`);
  if ((pinFile === undefined) === (pinEnv === undefined))
    throw configError(
      `${field}: give exactly one of pinFile and pinEnv (the user PIN is never taken from options or the command line)`,
    );
  const timeoutMs = o.timeoutMs;
  if (
    timeoutMs !== undefined &&
    (typeof timeoutMs !== 'number' ||
      !Number.isSafeInteger(timeoutMs) ||
      timeoutMs < 1 ||
      timeoutMs > MAX_TIMEOUT_MS)
  )
    throw configError(
      `${field}.timeoutMs must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}`,
    );
  const out: Pkcs11KeyOptions = { module, label, name };
  if (token !== undefined) out.token = token;
  if (slot !== undefined) out.slot = slot as number;
  if (pinFile !== undefined) out.pinFile = pinFile;
  if (pinEnv !== undefined) out.pinEnv = pinEnv as string;
  if (timeoutMs !== undefined) out.timeoutMs = timeoutMs as number;
  return out;
}

/** Reads at most `max` + 1 bytes of a regular file that only its owner can read. */
function readPrivateFile(path: string, what: string, max: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY);
  } catch (err) {
    throw new SealogError('E_CONFIG', `cannot open ${what} ${path} (${(err as NodeJS.ErrnoException).code})`);
  }
  try {
    const st = fstatSync(fd); // on the open fd: no swap between check and read
    if (!st.isFile()) throw new SealogError('E_CONFIG', `${what} ${path} is not a regular file`);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0)
      throw new SealogError(
        'E_CONFIG',
        `${what} ${path} is accessible by group or others (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ${path}`,
      );
    const buf = Buffer.alloc(max + 1);
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n > max) {
        buf.fill(0);
        throw new SealogError('E_CONFIG', `${what} ${path} is larger than ${max} bytes`);
      }
    }
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/**
 * The user PIN from the options' pinFile or pinEnv: one line (a final newline
 * is dropped), at most 256 bytes, no control characters. The PIN file must be
 * a regular file only its owner can read. Errors name the file or variable,
 * never the PIN.
 * @throws SealogError E_CONFIG.
 */
export function readPkcs11Pin(options: Pkcs11KeyOptions): string {
  let pin: string;
  let source: string;
  if (options.pinFile !== undefined) {
    source = `PIN file ${options.pinFile}`;
    const buf = readPrivateFile(options.pinFile, 'PIN file', MAX_PIN_BYTES + 2);
    pin = buf.toString('utf8').replace(/\r?\n$/, '');
    buf.fill(0);
  } else {
    source = `environment variable ${options.pinEnv}`;
    pin = process.env[options.pinEnv ?? ''] ?? '';
  }
  if (pin === '') throw configError(`the ${source} is empty or not set; it must hold the token's user PIN`);
  if (Buffer.byteLength(pin, 'utf8') > MAX_PIN_BYTES || CONTROL_RE.test(pin))
    throw configError(`the ${source} must hold one line of at most ${MAX_PIN_BYTES} bytes (the user PIN)`);
  return pin;
}

/**
 * Reads a PKCS#11 options file (JSON, at most 64 KiB) and validates it.
 * Relative `module` and `pinFile` paths are taken from the file's directory.
 * @throws SealogError E_CONFIG naming the file.
 */
export function readPkcs11OptionsFile(path: string): Pkcs11KeyOptions {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY);
  } catch (err) {
    throw configError(`cannot open PKCS#11 options file ${path} (${(err as NodeJS.ErrnoException).code})`);
  }
  let text: string;
  try {
    if (!fstatSync(fd).isFile()) throw configError(`PKCS#11 options file ${path} is not a regular file`);
    const buf = Buffer.alloc(MAX_OPTIONS_FILE_BYTES + 1);
    let n = 0;
    for (let r = 1; r > 0 && n <= MAX_OPTIONS_FILE_BYTES; n += r)
      r = readSync(fd, buf, n, buf.length - n, null);
    if (n > MAX_OPTIONS_FILE_BYTES) throw configError(`PKCS#11 options file ${path} is larger than 64 KiB`);
    text = buf.toString('utf8', 0, n);
  } finally {
    closeSync(fd);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    // V8's message quotes the text around the error; the file is not echoed (a PIN pasted in by mistake).
    const at = /position (\d+)/.exec((err as Error).message)?.[1];
    throw configError(`PKCS#11 options file ${path} is not valid JSON${at ? ` (at character ${at})` : ''}`);
  }
  const options = validatePkcs11Options(json, path);
  const base = dirname(resolve(path));
  options.module = isAbsolute(options.module) ? options.module : resolve(base, options.module);
  if (options.pinFile !== undefined && !isAbsolute(options.pinFile))
    options.pinFile = resolve(base, options.pinFile);
  return options;
}
