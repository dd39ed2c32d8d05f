// Scenario 5: the cost of each stage of the write path, µs per record, so the
// next optimisation is obvious. JSON.stringify is printed as the yardstick.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  CompactRange,
  chainHash,
  createPrivacyPipeline,
  encodeRecord,
  leafHash,
  loadSignerKeyFile,
  SqliteStore,
  sealHead,
  signCheckpoint,
  validatePrivacyConfig,
  ZERO_HASH,
} from '@sealog/core';
import { loggedRecords, machine, makeKeys, privacyConfig, scale, table, usPer, workDir } from './lib.mjs';

const N = scale(200_000, 5_000);
const dir = workDir();
const keys = makeKeys(dir);
const records = loggedRecords(N);

const rows = [];
const stage = (name, us) => rows.push({ stage: name, 'µs/record': us, 'records/s': 1e6 / us });

stage(
  'JSON.stringify (yardstick)',
  usPer(N, (n) => {
    for (let i = 0; i < n; i++) JSON.stringify(records[i]);
  }),
);
stage(
  'canonical encoding (RFC 8785)',
  usPer(N, (n) => {
    for (let i = 0; i < n; i++) encodeRecord(records[i]);
  }),
);

const full = privacyConfig(keys.psnKey);
const only = (k) =>
  createPrivacyPipeline(
    validatePrivacyConfig({ ...(k === 'noise' ? { pseudonymize: full.pseudonymize } : {}), [k]: full[k] }),
  );
for (const k of ['redact', 'pseudonymize', 'generalize', 'scrub', 'noise']) {
  let pipe;
  try {
    pipe = only(k);
  } catch (err) {
    rows.push({ stage: `privacy: ${k}`, 'µs/record': `n/a (${err.code ?? err.message})` });
    continue;
  }
  stage(
    `privacy: ${k}${k === 'noise' ? ' (+ pseudonymize unit)' : ''}`,
    usPer(N, (n) => {
      for (let i = 0; i < n; i++) pipe.apply(records[i]);
    }),
  );
}
try {
  const pipe = createPrivacyPipeline(validatePrivacyConfig(full));
  stage(
    'privacy: full realistic config',
    usPer(N, (n) => {
      for (let i = 0; i < n; i++) pipe.apply(records[i]);
    }),
  );
} catch (err) {
  rows.push({ stage: 'privacy: full realistic config', 'µs/record': `n/a (${err.code ?? err.message})` });
}

const entries = records.map((r) => Buffer.from(encodeRecord(r).json));
const leaves = new Array(N);
stage(
  'leaf hash SHA-256(0x00‖entry)',
  usPer(N, (n) => {
    for (let i = 0; i < n; i++) leaves[i] = leafHash(entries[i]);
  }),
);
stage(
  'chain hash',
  usPer(N, (n) => {
    let c = ZERO_HASH;
    for (let i = 0; i < n; i++) c = chainHash(c, leaves[i]);
  }),
);
stage(
  'Merkle append (compact range)',
  usPer(N, (n) => {
    const r = new CompactRange();
    for (let i = 0; i < n; i++) r.append(leaves[i]);
  }),
);

for (const durability of ['process', 'power']) {
  const store = new SqliteStore(join(dir, `stages-${durability}.db`), { durability });
  const batch = 1000;
  stage(
    `SQLite commit (batch ${batch}, durability ${durability}; includes hashing)`,
    usPer(N, (n) => {
      for (let i = 0; i < n; i += batch)
        store.append(entries.slice(i, Math.min(n, i + batch)).map((entry, j) => ({ entry, ts: i + j })));
    }),
  );
  store.close();
}

const signer = loadSignerKeyFile(keys.keyFile);
const head = { origin: signer.name, size: N, root: leaves[0] };
const S = scale(2000, 100);
const us = usPer(S, (n) => {
  for (let i = 0; i < n; i++) signCheckpoint(head, signer, 1_700_000_000 + i);
});
rows.push({
  stage: 'checkpoint signing (note + cosignature)',
  'µs/record': us / 1000,
  'records/s': 1e9 / us,
  note: `${us.toFixed(0)} µs per checkpoint, amortised over 1000 records`,
});

// A whole seal as the writer runs it (sign, store the checkpoint, append it to the
// anchor file), durability 'process': wall time per seal, and the part of it the
// writer's thread is busy (event-loop utilisation), which is what the hot path feels.
{
  const store = new SqliteStore(join(dir, 'stages-seal.db'), { durability: 'process' });
  store.append(entries.slice(0, 1000).map((entry, ts) => ({ entry, ts })));
  const anchorFile = join(dir, 'stages-seal.anchor');
  const seals = scale(200, 20);
  const elu0 = performance.eventLoopUtilization();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < seals; i++) await sealHead(store, signer, { anchorFile });
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000 / seals;
  const elu = performance.eventLoopUtilization(elu0);
  const threadUs = (elu.active * 1000) / seals;
  store.close();
  rows.push({
    stage: 'one seal: sign + store + anchor (fsyncs), writer thread busy',
    'µs/record': threadUs / 1000,
    'records/s': 1e9 / threadUs,
    note: `${threadUs.toFixed(0)} µs of the writer's thread per seal (${wallUs.toFixed(0)} µs wall), amortised over 1000 records`,
  });
}

console.log(`machine: ${machine()}`);
table(`Cost of each stage, ${N} records of ~${entries[0].length} bytes`, rows);
