import { SealogError } from '../errors.js';
import { ED25519_SIGNATURE_SIZE, ed25519Verify } from '../note/ed25519.js';
import { bytesEqual } from '../note/encoding.js';
import {
  makeVerifierKey,
  SIG_TYPE_COSIGNATURE,
  SIG_TYPE_ED25519,
  TIME_COSIGNER_SUFFIX,
} from '../note/keys.js';
import { checkPair, lookupPair, type TokenPair } from './pkcs11-keys.js';
import {
  acquireModule,
  CK,
  ckrName,
  closeQuietly,
  describeToken,
  findSlot,
  type Handle,
  login,
  logout,
  type Pkcs11Module,
  releaseModule,
  settled,
} from './pkcs11-module.js';
import {
  DEFAULT_PKCS11_TIMEOUT_MS,
  type Pkcs11KeyOptions,
  readPkcs11Pin,
  validatePkcs11Options,
} from './pkcs11-options.js';
import type { CheckpointKey, Signer } from './types.js';

/** Idle sessions kept for the next signs; more concurrent signs open more and close them after. */
const MAX_IDLE_SESSIONS = 4;
/**
 * Signed once per key when a key is opened, so a pair that does not match or a
 * token without CKM_EDDSA fails at startup, not at the first checkpoint. It has
 * no final newline, so it is neither a note (signed-note: text ends in a newline)
 * nor a cosignature/v1 message: the signature cannot be passed off as either.
 */
const PROBE = new TextEncoder().encode('sealog pkcs11 key check: this is not a note');
/** Errors after which the session, login or object handles may be gone: reconnect before the next sign. */
const RECONNECT = new Set([
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_SESSION_CLOSED',
  'CKR_USER_NOT_LOGGED_IN',
  'CKR_OBJECT_HANDLE_INVALID',
  'CKR_KEY_HANDLE_INVALID',
  'CKR_DEVICE_REMOVED',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_DEVICE_ERROR',
]);

/** One open token: its login (on `anchor`, a session never used to sign), key handles and sessions. */
class TokenKey {
  readonly where: string;
  readonly timeoutMs: number;
  slot: Handle | undefined;
  anchor: Handle | undefined;
  pairs: TokenPair[] = [];
  idle: Handle[] = [];
  stuckSince: number | undefined;
  /** Bumped by each connect: a session from before a reconnect is not reused. */
  generation = 0;
  loggedIn = false;
  broken = false;
  closed = false;

  constructor(
    readonly m: Pkcs11Module,
    readonly options: Pkcs11KeyOptions,
  ) {
    this.where = describeToken(options);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_PKCS11_TIMEOUT_MS;
  }

  /** Finds the token, logs in (reading the PIN now, not keeping it) and finds both pairs. */
  connect(): void {
    const { m, options } = this;
    this.generation++;
    this.slot = findSlot(m, options);
    const anchor = this.open();
    this.anchor = anchor;
    login(m, anchor, this.slot, readPkcs11Pin(options), this.where);
    this.loggedIn = true;
    const pairs = [options.label, `${options.label}${TIME_COSIGNER_SUFFIX}`].map((label) =>
      checkPair(m, anchor, lookupPair(m, anchor, label, this.where), this.where),
    );
    // After a reconnect the token must still hold the keys verifiers were given.
    if (
      this.pairs.length > 0 &&
      !pairs.every((p, i) => bytesEqual(p.publicKey, this.pairs[i]?.publicKey ?? new Uint8Array()))
    )
      throw new SealogError(
        'E_KEY',
        `the keys labelled ${JSON.stringify(options.label)} on ${this.where} changed while in use`,
      );
    this.pairs = pairs;
    this.broken = false;
  }

  disconnect(): void {
    for (const s of this.idle.splice(0)) closeQuietly(this.m, s);
    if (this.anchor && this.slot && this.loggedIn) logout(this.m, this.anchor, this.slot);
    if (this.anchor) closeQuietly(this.m, this.anchor);
    this.loggedIn = false;
    this.anchor = undefined;
  }

  open(): Handle {
    try {
      return this.m.p11.C_OpenSession(this.slot as Handle, CK.CKF_SERIAL_SESSION);
    } catch (err) {
      if (RECONNECT.has(ckrName(err) ?? '')) this.broken = true;
      throw new SealogError('E_IO', `cannot open a session on ${this.where} (${ckrName(err) ?? 'error'})`);
    }
  }

  /**
   * Signs with CKM_EDDSA (pure Ed25519, no parameters) on a libuv thread,
   * giving up after timeoutMs; the signature is checked against the public
   * key before it is returned, so a faulty token cannot produce a bad note.
   */
  async sign(pair: TokenPair, message: Uint8Array): Promise<Uint8Array> {
    const lbl = JSON.stringify(pair.label);
    if (this.closed) throw new SealogError('E_CLOSED', `the PKCS#11 key ${lbl} on ${this.where} was closed`);
    if (this.stuckSince !== undefined)
      // One hung call holds one of libuv's 4 threads (file I/O shares them): never start a second.
      throw new SealogError(
        'E_IO',
        `${this.where} has not answered a signature requested ${Date.now() - this.stuckSince} ms ago; no new signature until it does`,
      );
    if (this.broken) {
      this.disconnect();
      this.connect();
    }
    const { m } = this;
    const current = this.pairs.find((p) => p.label === pair.label) ?? pair;
    const session = this.idle.pop() ?? this.open();
    try {
      m.p11.C_SignInit(session, { mechanism: CK.CKM_EDDSA }, current.priv);
    } catch (err) {
      closeQuietly(m, session);
      throw this.failed(err, lbl);
    }
    const call = m.p11.C_SignAsync(session, Buffer.from(message), Buffer.alloc(ED25519_SIGNATURE_SIZE));
    m.pending++;
    const generation = this.generation;
    let timedOut = false;
    // Runs before anything awaiting `finished`, and before settled() may finalise the module.
    const finished = call.then(
      (sig) => ({ sig }),
      (err: unknown) => ({ err }),
    );
    const disposed = finished.then((r) => {
      // A session that timed out may still hold the abandoned operation: never reuse it.
      const reuse = !timedOut && !this.closed && !('err' in r) && generation === this.generation;
      if (reuse && this.idle.length < MAX_IDLE_SESSIONS) this.idle.push(session);
      else closeQuietly(m, session);
      if (timedOut) this.stuckSince = undefined;
      settled(m);
      return r;
    });
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<undefined>((done) => {
      timer = setTimeout(done, this.timeoutMs, undefined);
    });
    const result = await Promise.race([disposed, expired]);
    clearTimeout(timer);
    if (result === undefined) {
      timedOut = true;
      this.stuckSince = Date.now() - this.timeoutMs;
      throw new SealogError(
        'E_IO',
        `the token did not answer within ${this.timeoutMs} ms (signing with key ${lbl} on ${this.where}); the signature was abandoned`,
      );
    }
    if ('err' in result) throw this.failed(result.err, lbl);
    const sig = new Uint8Array(result.sig);
    if (sig.length !== ED25519_SIGNATURE_SIZE || !ed25519Verify(current.publicKey, message, sig))
      throw new SealogError(
        'E_KEY',
        `${this.where} returned a signature that does not verify under the public key ${lbl}; it was not used`,
      );
    return sig;
  }

  failed(err: unknown, lbl: string): SealogError {
    const ckr = ckrName(err);
    if (RECONNECT.has(ckr ?? '')) this.broken = true;
    return new SealogError(
      'E_IO',
      `signing with key ${lbl} on ${this.where} failed (${ckr ?? (err as Error).message})`,
    );
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.disconnect();
    releaseModule(this.m);
  }
}

function signer(
  state: TokenKey,
  pair: TokenPair,
  name: string,
  type: typeof SIG_TYPE_ED25519 | typeof SIG_TYPE_COSIGNATURE,
): Signer {
  const vk = makeVerifierKey(name, type, pair.publicKey);
  return {
    name,
    type,
    keyId: vk.keyId,
    publicKey: vk.publicKey,
    verifierKey: vk.vkey,
    sign: (message) => state.sign(pair, message),
  };
}

/**
 * Opens the two key pairs of a checkpoint key on a PKCS#11 token: loads the
 * module, finds the token, logs in as user with the PIN from pinFile/pinEnv,
 * finds exactly one Ed25519 pair labelled `label` (the log key, type 0x01,
 * named `name`) and one labelled `<label>/time` (the time key, type 0x04,
 * named `<name>/time`), and signs a probe with each. Signing uses CKM_EDDSA
 * off the event loop, each sign bounded by timeoutMs.
 * @throws SealogError E_CONFIG (options, module, PIN source), E_KEY (token,
 *   PIN rejected or locked, missing or unsafe key), E_IO (token failures).
 *   Messages name the module, token and label, never the PIN.
 */
export async function openPkcs11Key(options: Pkcs11KeyOptions): Promise<CheckpointKey> {
  const opts = validatePkcs11Options(options, 'pkcs11');
  const m = acquireModule(opts.module);
  const state = new TokenKey(m, opts);
  try {
    state.connect();
    const [logPair, timePair] = state.pairs as [TokenPair, TokenPair];
    const name = opts.name ?? opts.label;
    const key: CheckpointKey = {
      backend: 'pkcs11',
      name,
      display: `${JSON.stringify(opts.label)} on ${state.where}`,
      log: signer(state, logPair, name, SIG_TYPE_ED25519),
      time: signer(state, timePair, `${name}${TIME_COSIGNER_SUFFIX}`, SIG_TYPE_COSIGNATURE),
      close: async () => state.close(),
    };
    await key.log.sign(PROBE);
    await key.time.sign(PROBE);
    return key;
  } catch (err) {
    state.close(); // a probe still running on the token is released when it returns
    throw err;
  }
}
