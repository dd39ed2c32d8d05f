export {
  DEFAULT_CENSOR,
  DEFAULT_V4_PREFIX,
  DEFAULT_V6_PREFIX,
  type GeneralizeRule,
  type PrivacyConfig,
  type PseudonymizeConfig,
  type RedactConfig,
  type ScrubConfig,
  validatePrivacyConfig,
} from './config.js';
export { type IpPrefixes, parseIPv4, parseIPv6, truncateIp } from './ip.js';
export {
  type KeyLoadContext,
  type KeySource,
  loadKeyring,
  loadPseudonymKey,
  MIN_KEY_BYTES,
  PseudonymKey,
  PseudonymKeyring,
} from './keys.js';
export { createPrivacyPipeline, type PrivacyContext, type PrivacyPipeline } from './pipeline.js';
export { DEFAULT_DIGEST_BYTES, pseudonymOf } from './pseudonymize.js';
export { SCRUB_KINDS, type ScrubKind } from './scan.js';
export { type ScrubOptions, type ScrubReplace, scrubText } from './scrub.js';
export {
  checkShredReason,
  keyShreddedEntry,
  MAX_SHRED_REASON,
  type ShredResult,
  shredKeyFile,
} from './shred.js';
