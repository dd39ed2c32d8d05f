// Public surface of the differential-privacy module (docs/differential-privacy.md).

export { type NoisedReport, noisedAggregate } from './aggregate.js';
export type { GaussianField, LaplaceField, NoiseBudget, NoiseConfig, NoiseField } from './config.js';
export { DEFAULT_MAX_UNITS, validateNoiseConfig } from './config.js';
export {
  createNoiseTransform,
  type NoiseContext,
  type NoisedMarker,
  type NoiseTransform,
  type SuppressedMarker,
  type SuppressReason,
} from './noise.js';
export {
  type AggregateError,
  type FieldPlan,
  type NoisePlan,
  onGrid,
  PLAN_RECORDS,
  planLine,
  planNoise,
  round3,
} from './plan.js';
export { type DpReport, type DpReportGroup, type DpReportOptions, dpReport } from './report.js';
