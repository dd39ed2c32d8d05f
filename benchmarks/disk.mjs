// Scenario 6: bytes on disk per record in the ledger (database + WAL after
// close, indexes included) vs the plain JSON line pino would write. Target ≤ 1.6×.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openSink } from '@sealog/core';
import { AUDIT_MSG, auditRecord, machine, makeKeys, scale, sealogOptions, table, workDir } from './lib.mjs';

const N = scale(200_000, 5_000);
const dir = workDir();
const keys = makeKeys(dir);
const path = join(dir, 'audit.db');
const sink = await openSink(sealogOptions(path, keys));
let jsonBytes = 0;
for (let i = 0; i < N; i++) {
  const rec = {
    level: 30,
    time: 1_700_000_000_000 + i,
    pid: 4242,
    hostname: 'app-1',
    ...auditRecord(i),
    msg: AUDIT_MSG,
  };
  jsonBytes += Buffer.byteLength(JSON.stringify(rec)) + 1;
  sink.write(rec);
}
await sink.close();
const size = (f) => (existsSync(f) ? statSync(f).size : 0);
const ledgerBytes = size(path) + size(`${path}-wal`) + size(`${path}-shm`);
console.log(`machine: ${machine()}`);
table(`Disk: ${N} records (target ≤ 1.6× the JSON line)`, [
  { name: 'pino JSON line (raw record)', 'bytes/record': jsonBytes / N },
  {
    name: 'sealog ledger (db + wal + shm, after close)',
    'bytes/record': ledgerBytes / N,
    ratio: ledgerBytes / jsonBytes,
  },
]);
