// The PKCS#11 module, its token and the login, shared per process. A module
// is initialised once per process (a second C_Initialize fails, and one
// C_Finalize would end every other user's sessions), and the login belongs to
// the token, not to a session (PKCS#11 v3.0 §5.6): so modules and logins are
// reference-counted here and released by the last key that used them.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { endianness } from 'node:os';
import { resolve } from 'node:path';
import type * as P11 from 'pkcs11js';
import { SealogError } from '../errors.js';
import type { Pkcs11KeyOptions } from './pkcs11-options.js';

/** PKCS#11 v3.0 constants used here (pkcs11js 2.x predates the EdDSA ones). */
export const CK = {
  CKF_OS_LOCKING_OK: 0x2,
  CKF_RW_SESSION: 0x2,
  CKF_SERIAL_SESSION: 0x4,
  CKF_USER_PIN_LOCKED: 0x40000,
  CKF_TOKEN_INITIALIZED: 0x400,
  CKU_USER: 1,
  CKO_PUBLIC_KEY: 2,
  CKO_PRIVATE_KEY: 3,
  CKA_CLASS: 0x0,
  CKA_TOKEN: 0x1,
  CKA_PRIVATE: 0x2,
  CKA_LABEL: 0x3,
  CKA_VALUE: 0x11,
  CKA_KEY_TYPE: 0x100,
  CKA_ID: 0x102,
  CKA_SENSITIVE: 0x103,
  CKA_SIGN: 0x108,
  CKA_VERIFY: 0x10a,
  CKA_EXTRACTABLE: 0x162,
  CKA_NEVER_EXTRACTABLE: 0x164,
  CKA_EC_PARAMS: 0x180,
  CKA_EC_POINT: 0x181,
  CKK_EC_EDWARDS: 0x40,
  CKM_EC_EDWARDS_KEY_PAIR_GEN: 0x1055,
  CKM_EDDSA: 0x1057,
} as const;

export type Handle = Buffer;

/** One loaded module; `pending` counts calls still running on libuv threads. */
export interface Pkcs11Module {
  readonly p11: P11.PKCS11;
  readonly path: string;
  refs: number;
  pending: number;
  /** False when another user in this process had initialised the module: it finalises it, not us. */
  readonly ownsInit: boolean;
  /** Keys of this process logged in per token (slot ID), to log out with the last, and their PIN's MAC. */
  readonly logins: Map<string, { count: number; pin: Buffer }>;
}

const modules = new Map<string, Pkcs11Module>();
/**
 * Keys a MAC of each PIN a token was logged in with: the login belongs to the
 * token, so a second key would get in with any PIN at all (CKR_USER_ALREADY_LOGGED_IN);
 * its PIN is compared with the first's instead, without keeping the PIN.
 */
const PIN_MAC_KEY = randomBytes(32);

/** The `CKR_…` name of a pkcs11js error, if it carries one. */
export function ckrName(err: unknown): string | undefined {
  const m = err instanceof Error ? /CKR_[A-Z0-9_]+/.exec(err.message) : null;
  return m?.[0];
}

function binding(): typeof P11 {
  try {
    // Loaded on first use: pkcs11js is an optional, natively built dependency
    // that file-key users never need (packages/core/package.json).
    return createRequire(import.meta.url)('pkcs11js') as typeof P11;
  } catch (err) {
    throw new SealogError(
      'E_CONFIG',
      'PKCS#11 keys need the optional dependency pkcs11js, which is not installed or failed to build (it needs a C++ compiler and make); install it beside @sealog/core: npm install pkcs11js',
      { cause: err },
    );
  }
}

/**
 * Loads and initialises the module at `path` (or takes another reference to
 * it). Refuses a module that is missing or writable by group or others: it is
 * code that runs in this process.
 * @throws SealogError E_CONFIG (missing, unsafe, not a PKCS#11 module), E_IO (initialisation failed).
 */
export function acquireModule(path: string): Pkcs11Module {
  const abs = resolve(path);
  const known = modules.get(abs);
  if (known) {
    known.refs++;
    return known;
  }
  let mode: number;
  try {
    const st = statSync(abs);
    if (!st.isFile()) throw new SealogError('E_CONFIG', `PKCS#11 module ${abs} is not a regular file`);
    mode = st.mode;
  } catch (err) {
    if (err instanceof SealogError) throw err;
    throw new SealogError(
      'E_CONFIG',
      `PKCS#11 module ${abs} does not exist or cannot be read (${(err as NodeJS.ErrnoException).code}); set module to the token vendor's .so`,
    );
  }
  if (process.platform !== 'win32' && (mode & 0o022) !== 0)
    throw new SealogError(
      'E_CONFIG',
      `PKCS#11 module ${abs} is writable by group or others (mode ${(mode & 0o777).toString(8)}); it runs inside this process, so refuse it`,
    );
  const lib = binding();
  const p11 = new lib.PKCS11();
  try {
    p11.load(abs);
  } catch (err) {
    throw new SealogError('E_CONFIG', `cannot load PKCS#11 module ${abs}: ${(err as Error).message}`);
  }
  let ownsInit = true;
  try {
    p11.C_Initialize({ flags: CK.CKF_OS_LOCKING_OK });
  } catch (err) {
    ownsInit = false;
    // Someone else in this process initialised it (another library): use it, never finalise it.
    if (ckrName(err) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') {
      p11.close();
      throw new SealogError(
        'E_IO',
        `PKCS#11 module ${abs} failed to initialise (${ckrName(err) ?? (err as Error).message})`,
      );
    }
  }
  const entry: Pkcs11Module = { p11, path: abs, refs: 1, pending: 0, ownsInit, logins: new Map() };
  modules.set(abs, entry);
  return entry;
}

/**
 * Drops one reference; the last finalises and unloads the module, unless a
 * call is still running on a libuv thread (a hung token): unloading code a
 * thread is executing would crash the process, so then it is done when the
 * last such call returns (see {@link settled}).
 */
export function releaseModule(m: Pkcs11Module): void {
  m.refs--;
  if (m.refs > 0 || m.pending > 0) return;
  if (modules.get(m.path) === m) modules.delete(m.path);
  if (!m.ownsInit) return;
  try {
    m.p11.C_Finalize();
  } catch {
    // Already finalised by someone else: nothing to release.
  }
  try {
    m.p11.close();
  } catch {
    // The library stays mapped; harmless.
  }
}

/** A call that outlived its caller has returned: finish a release it held up. */
export function settled(m: Pkcs11Module): void {
  m.pending--;
  if (m.refs === 0 && m.pending === 0) {
    m.refs = 1;
    releaseModule(m);
  }
}

export function closeQuietly(m: Pkcs11Module, session: Handle): void {
  try {
    m.p11.C_CloseSession(session);
  } catch {
    // Already gone with the token or the login.
  }
}

/** The slot ID of a pkcs11js handle (a native-endian CK_ULONG). */
export function slotId(h: Handle): bigint {
  if (h.length === 8) return endianness() === 'LE' ? h.readBigUInt64LE(0) : h.readBigUInt64BE(0);
  return BigInt(endianness() === 'LE' ? h.readUInt32LE(0) : h.readUInt32BE(0));
}

/** `module <path>, token "<label>"`: what messages name. Never a secret. */
export function describeToken(options: Pkcs11KeyOptions): string {
  const where =
    options.token !== undefined ? `token ${JSON.stringify(options.token)}` : `slot ${options.slot}`;
  return `${where} (module ${resolve(options.module)})`;
}

/**
 * The slot holding the configured token: by label (trailing blanks of the
 * 32-byte field ignored; two tokens with one label are refused) or slot ID.
 * @throws SealogError E_KEY naming the tokens that are there.
 */
export function findSlot(m: Pkcs11Module, options: Pkcs11KeyOptions): Handle {
  let slots: Handle[];
  try {
    slots = m.p11.C_GetSlotList(true);
  } catch (err) {
    throw new SealogError(
      'E_IO',
      `cannot list the slots of PKCS#11 module ${m.path} (${ckrName(err) ?? 'error'})`,
    );
  }
  const tokens = slots.slice(0, 1024).map((slot) => {
    try {
      const info = m.p11.C_GetTokenInfo(slot);
      return { slot, label: info.label.replace(/[ \0]+$/, ''), flags: info.flags };
    } catch {
      return { slot, label: undefined, flags: 0 };
    }
  });
  const matches =
    options.token !== undefined
      ? tokens.filter((t) => t.label === options.token)
      : tokens.filter((t) => slotId(t.slot) === BigInt(options.slot ?? -1));
  const present = tokens
    .filter((t) => t.flags & CK.CKF_TOKEN_INITIALIZED)
    .map((t) => `${JSON.stringify(t.label)} (slot ${slotId(t.slot)})`);
  const where = describeToken(options);
  if (matches.length === 0)
    throw new SealogError(
      'E_KEY',
      `no ${where}; initialised tokens there: ${present.length > 0 ? present.join(', ') : 'none'}`,
    );
  if (matches.length > 1)
    throw new SealogError(
      'E_KEY',
      `${matches.length} tokens share the label of ${where}; configure slot instead`,
    );
  const [t] = matches as [(typeof matches)[0]];
  if (!(t.flags & CK.CKF_TOKEN_INITIALIZED)) throw new SealogError('E_KEY', `${where} is not initialised`);
  if (t.flags & CK.CKF_USER_PIN_LOCKED)
    throw new SealogError('E_KEY', `the user PIN of ${where} is locked; unlock it with the token's SO tools`);
  return t.slot;
}

/**
 * Logs the user in on `session` (the login then holds for every session of
 * the token). Wrong PIN, locked PIN and others are told apart; no message
 * carries the PIN, and no native error is attached as a cause.
 * @throws SealogError E_KEY, E_IO.
 */
export function login(m: Pkcs11Module, session: Handle, slot: Handle, pin: string, where: string): void {
  const key = slotId(slot).toString();
  const mac = createHmac('sha256', PIN_MAC_KEY).update(pin, 'utf8').digest();
  const held = m.logins.get(key);
  if (held && !timingSafeEqual(held.pin, mac))
    throw new SealogError(
      'E_KEY',
      `the user PIN differs from the one this process logged in to ${where} with; check the PIN file or variable`,
    );
  try {
    m.p11.C_Login(session, CK.CKU_USER, pin);
  } catch (err) {
    const ckr = ckrName(err);
    if (ckr !== 'CKR_USER_ALREADY_LOGGED_IN') {
      if (ckr === 'CKR_PIN_INCORRECT' || ckr === 'CKR_PIN_LEN_RANGE')
        throw new SealogError(
          'E_KEY',
          `the user PIN was rejected by ${where} (${ckr}); check the PIN file or variable`,
        );
      if (ckr === 'CKR_PIN_LOCKED')
        throw new SealogError(
          'E_KEY',
          `the user PIN of ${where} is locked (${ckr}); unlock it with the token's SO tools`,
        );
      throw new SealogError('E_IO', `cannot log in to ${where} (${ckr ?? 'error'})`);
    }
  }
  m.logins.set(key, { count: (held?.count ?? 0) + 1, pin: mac });
}

/** The last key of this process on the token logs out (on its own session). */
export function logout(m: Pkcs11Module, session: Handle, slot: Handle): void {
  const key = slotId(slot).toString();
  const held = m.logins.get(key);
  if (held && held.count > 1) {
    held.count--;
    return;
  }
  m.logins.delete(key);
  try {
    m.p11.C_Logout(session);
  } catch {
    // Already logged out (token removed, or another application logged out).
  }
}
