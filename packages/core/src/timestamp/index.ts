export { type RequestTimestampOptions, requestTimestamp, type TimestampResult } from './client.js';
export { MAX_TIMESTAMP_TOKEN_BYTES } from './der.js';
export { createTimestampRequest, type TimestampRequest, timestampImprint } from './request.js';
export {
  DEFAULT_TIMESTAMP_TIMEOUT_MS,
  type TimestampMode,
  TimestampRequester,
  type TimestampRequesterOptions,
} from './requester.js';
export { type GrantedResponse, parseTimestampResponse } from './response.js';
export { parseTimestampToken, type TimestampInfo } from './token.js';
export { type VerifiedTimestamp, type VerifyTimestampOptions, verifyTimestampToken } from './verify.js';
