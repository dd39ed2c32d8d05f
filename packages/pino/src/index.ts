import { createTransport, type SealogPinoStream } from './transport.js';

export { SEALOG_ERROR_EVENT, type SealogErrorEvent } from './diagnostics.js';
export { createTransport, type PinoTransportHooks, type SealogPinoStream } from './transport.js';

/**
 * The pino transport: `pino.transport({ target: '@sealog/pino', options })`.
 * `options` are @sealog/core sink options (plain JSON). Rejects with
 * SealogError (E_CONFIG, E_IO, E_NOT_LEDGER, E_STATE) at startup.
 */
export default function sealogTransport(options: unknown): Promise<SealogPinoStream> {
  return createTransport(options);
}
