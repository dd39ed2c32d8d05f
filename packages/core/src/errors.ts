/**
 * The closed set of error codes sealog raises. Callers branch on `code`, never
 * on message text.
 * - E_CONFIG: an option is missing or invalid (fix the configuration).
 * - E_KEY: a key file or verifier key is missing, malformed or unsafe.
 * - E_IO: the file system or database failed (path, permissions, disk full, busy).
 * - E_NOT_LEDGER: the file exists but is not a sealog ledger, or is a newer format.
 * - E_STATE: the stored ledger state disagrees with its rows (possible tampering or corruption).
 * - E_TAMPER: verification found a modified, missing or inserted record or checkpoint.
 * - E_FORMAT: a note, checkpoint, proof or bundle could not be parsed.
 * - E_CLOSED: the ledger was used after close().
 * - E_PRIVACY: a privacy transform could not be applied; the field was suppressed.
 */
export type SealogErrorCode =
  | 'E_CONFIG'
  | 'E_KEY'
  | 'E_IO'
  | 'E_NOT_LEDGER'
  | 'E_STATE'
  | 'E_TAMPER'
  | 'E_FORMAT'
  | 'E_CLOSED'
  | 'E_PRIVACY';

/** The one error class of @sealog/core. `message` says what to do about it. */
export class SealogError extends Error {
  readonly code: SealogErrorCode;

  constructor(code: SealogErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SealogError';
    this.code = code;
  }
}

/** True for a SealogError (also across realms / duplicated package copies). */
export function isSealogError(err: unknown): err is SealogError {
  return err instanceof SealogError || (err instanceof Error && err.name === 'SealogError' && 'code' in err);
}
