// INTEGRATION POINT with the differential-privacy module (packages/core/src/dp,
// owned by the dp engineer). This file is the only place the privacy pipeline
// touches dp, so wiring it is a two-line change here.
// TODO(dp): replace the bodies below with
//   export { validateNoiseConfig as validateNoise, createNoiseTransform as createNoise } from '../dp/index.js';
// once dp/index.ts exports them. Until then a `noise` section is rejected at
// startup: accepting it and not noising would log metric fields raw.

import { SealogError } from '../errors.js';
import type { RecordTransform } from '../sink.js';

/** Validates the raw `noise` section. @throws SealogError E_CONFIG. */
export function validateNoise(_raw: unknown, field: string): unknown {
  throw new SealogError(
    'E_CONFIG',
    `${field}: differential-privacy noise is not available in this build yet`,
  );
}

/** Builds the noise step (runs last, after pseudonymization). */
export function createNoise(_config: unknown, _ctx: unknown): RecordTransform {
  throw new SealogError('E_CONFIG', 'differential-privacy noise is not available in this build yet');
}
