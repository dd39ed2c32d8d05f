export {
  type CheckpointResult,
  type Finding,
  type FindingKind,
  MAX_FINDINGS,
  REPORT_VERSION,
  type VerifyOptions,
  type VerifyReport,
} from './types.js';
export { verifyLedger } from './verify.js';
