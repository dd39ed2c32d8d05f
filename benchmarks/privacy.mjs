// Issue 5 benchmark: per-record cost of a realistic privacy config (3
// redactions, 2 pseudonyms, 1 IP, 1 noised metric, msg scrubbing) on a
// ~300-byte record, beside pino's own `redact` in the same run.
import { Writable } from 'node:stream';
import { createPrivacyPipeline, validatePrivacyConfig } from '@sealog/core';
import pino from 'pino';
import {
  AUDIT_MSG,
  loggedRecords,
  machine,
  makeKeys,
  privacyConfig,
  scale,
  table,
  usPer,
  workDir,
} from './lib.mjs';

const N = scale(200_000, 5_000);
const keys = makeKeys(workDir());
const records = loggedRecords(N);
const sinkStream = new Writable({ write: (_c, _e, cb) => cb() });
const silent = (opts) => pino({ ...opts, base: null, timestamp: false }, sinkStream);
const plain = silent({});
const redacting = silent({ redact: ['user.password', 'req.headers.authorization', 'req.headers.cookie'] });

const rows = [];
const base = usPer(N, (n) => {
  for (let i = 0; i < n; i++) plain.info(records[i], AUDIT_MSG);
});
rows.push({ name: 'pino logger.info, no redact', 'µs/record': base });
const red = usPer(N, (n) => {
  for (let i = 0; i < n; i++) redacting.info(records[i], AUDIT_MSG);
});
rows.push({ name: 'pino logger.info, redact 3 paths', 'µs/record': red, 'redact cost µs': red - base });
for (const [name, cfg] of [
  ['sealog pipeline without noise', privacyConfig(keys.psnKey, { noise: false })],
  ['sealog pipeline, realistic (with noise)', privacyConfig(keys.psnKey)],
]) {
  try {
    const pipe = createPrivacyPipeline(validatePrivacyConfig(cfg));
    const us = usPer(N, (n) => {
      for (let i = 0; i < n; i++) pipe.apply(records[i]);
    });
    rows.push({ name, 'µs/record': us, 'vs pino redact cost': us / (red - base) });
  } catch (err) {
    rows.push({ name, 'µs/record': `n/a (${err.code ?? err.message})` });
  }
}
console.log(`machine: ${machine()}`);
table(`Privacy pipeline vs pino redact, ${N} records`, rows);
